"""Output that scales: headeraudit_log=summary for CI runs, and a progress line on a terminal
while saved traffic is read (nothing when the output is not a terminal)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_harness import EXAMPLES, MitmDumpFactory, logged_findings, subprocess_env
from mitmproxy import io
from mitmproxy.test import tflow
from mitmproxy.test.tutils import treq, tresp
from mitmproxy import http

pytestmark = pytest.mark.e2e

SAMPLE = EXAMPLES / "sample.har"
HEADERAUDIT = Path(sys.executable).parent / "headeraudit"


def test_summary_mode_logs_the_summary_and_each_finding_only_at_debug_level(
    mitmdump: MitmDumpFactory, addon_script: Path
) -> None:
    each = mitmdump.run("-nr", SAMPLE, "-s", addon_script, listen=False, timeout=60)
    assert each.returncode == 0 and len(logged_findings(each.output)) == 45, each.output
    compact = mitmdump.run("-nr", SAMPLE, "-s", addon_script, "--set", "headeraudit_log=summary",
                           "--flow-detail", "0", listen=False, timeout=60)
    assert compact.returncode == 0, compact.output
    assert logged_findings(compact.output) == [], compact.output
    assert "45 findings on 5 hosts" in compact.output and "hosts (worst first):" in compact.output
    assert len(compact.output.splitlines()) <= 25, compact.output
    verbose = mitmdump.run("-nr", SAMPLE, "-s", addon_script, "--set", "headeraudit_log=summary",
                           "--set", "termlog_verbosity=debug", listen=False, timeout=60)
    assert {f.rule for f in logged_findings(verbose.output)} == {f.rule for f in logged_findings(each.output)}


def test_the_headeraudit_command_in_summary_mode_prints_the_summary_and_the_gate_line(tmp_path: Path) -> None:
    run = subprocess.run([str(HEADERAUDIT), "--set", f"confdir={tmp_path}", "-nr", str(SAMPLE), "--flow-detail", "0",
                          "--set", "headeraudit_log=summary", "--set", "headeraudit_fail_on=high"],
                         capture_output=True, text=True, env=subprocess_env(), timeout=90, stdin=subprocess.DEVNULL)
    assert run.returncode == 3, run.stdout + run.stderr
    out = run.stdout + run.stderr
    assert logged_findings(out) == [] and "gate: 5 distinct findings at or above high" in out, out
    assert len(out.splitlines()) <= 25, out


def many_flows(path: Path, count: int) -> None:
    """`count` responses of 300 hosts, each with a cookie of its own name (a new verdict each):
    enough for mitmdump to read for a few seconds."""
    with path.open("wb") as fh:
        writer = io.FlowWriter(fh)
        for i in range(count):
            host = f"h{i % 300}.example"
            req = treq(host=host, port=443, scheme=b"https", path=f"/{i}".encode(),
                       headers=http.Headers([(b"host", host.encode())]))
            resp = tresp(headers=http.Headers([(b"content-type", b"text/html"), (b"server", b"nginx/1.2.3"),
                                               (b"set-cookie", f"s{i}=1".encode())]), content=b"<p>x</p>")
            writer.add(tflow.tflow(req=req, resp=resp))


def run_on_a_terminal(args: list[str], timeout: float = 120) -> tuple[int, bytes, float]:
    """Run with stdout and stderr on a pseudo-terminal; returns (status, output, seconds)."""
    leader, follower = pty.openpty()
    started = time.monotonic()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=subprocess_env())
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not chunk:
            break
        output += chunk
    status = proc.wait(timeout)
    os.close(leader)
    return status, output, time.monotonic() - started


def test_a_long_saved_traffic_run_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    flows = tmp_path / "many.mitm"
    many_flows(flows, 3000)
    args = [str(HEADERAUDIT), "--set", f"confdir={tmp_path}", "-q", "-nr", str(flows)]
    status, output, seconds = run_on_a_terminal(args)
    assert status == 0, output.decode(errors="replace")
    updates = output.count(b"\r\x1b[Kheaderaudit: ") - 1  # the last: the line cleared before the summary
    assert seconds > 2 and updates >= 1, (seconds, output[-2000:])
    assert updates <= seconds + 1, "at most one progress line a second"
    assert output.count(b" flows read, ") == updates, output[-2000:]
    summary = output.split(b"\r\x1b[K")[-1]  # cleared before the summary
    assert summary.lstrip(b"\r").startswith(b"headeraudit: 3000 flows, "), summary[:200]
    piped = subprocess.run(args, capture_output=True, env=subprocess_env(), timeout=120, stdin=subprocess.DEVNULL)
    assert piped.returncode == 0 and b"flows read" not in piped.stdout + piped.stderr
    assert b"\x1b[K" not in piped.stdout + piped.stderr
