"""Rules files that must not take a real mitmdump down (issue 20): what a rules file `extends` is
read only if it is a regular file within the documented cap (docs/rules.md), so /dev/zero or a
FIFO is refused at once instead of being read without end (or blocking the open) on the event
loop; and a failed reload is not retried until a file of it changes."""

from __future__ import annotations

import os
import re
import resource
import time
from pathlib import Path

import pytest
from e2e_harness import (
    MitmDump,
    MitmDumpFactory,
    Upstream,
    check_annotations,
    read_flows,
    rules_of,
    write_rules,
)

pytestmark = pytest.mark.e2e

VALID = """\
version: 1
rules:
  - id: xcto-required
    header: X-Content-Type-Options
    severity: low
    message: nosniff is missing
    check: {present: true}
"""
VALID_MORE = VALID + """\
  - id: debug-token-leak
    header: X-Debug-Token
    severity: high
    message: debug token sent to clients
    check: {absent: true}
"""
MAX_RSS = 512 * 1024 * 1024  # mitmdump with the addon stays near 100 MB; reading /dev/zero grew to 23 GB
PROMPT = 2.0  # seconds a request through the proxy may take; the bug blocked the loop ~4 s in every 5, or forever


def special_file(tmp_path: Path, kind: str) -> Path:
    if kind == "dev-zero":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero")
        return Path("/dev/zero")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # nothing ever writes to it: a blocking open() would wait forever
    return fifo


def children_max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux


def peak_rss(proc: MitmDump) -> int | None:
    try:
        status = Path(f"/proc/{proc.proc.pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) * 1024 if match else None


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_startup_with_rules_extending_a_special_file_exits_at_once_naming_it(
    mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path, kind: str
) -> None:
    target = special_file(tmp_path, kind)
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"version: 1\nextends: {target}\n", encoding="utf-8")
    rss_before = children_max_rss()
    started = time.monotonic()
    proc = mitmdump.run("-s", addon_script, "--set", f"headeraudit_rules={rules}", timeout=30)
    took = time.monotonic() - started
    assert proc.returncode is not None, f"mitmdump hung on a rules file extending {target}:\n{proc.output}"
    assert proc.returncode == 1, f"mitmdump output:\n{proc.output}"
    assert took < 15, f"mitmdump took {took:.1f}s to refuse the rules file:\n{proc.output}"
    naming = [line for line in proc.output.splitlines() if str(target) in line]
    assert len(naming) == 1, f"want one error line naming {target}:\n{proc.output}"
    assert "not a regular file" in naming[0], naming[0]
    # The process was reaped: its peak RSS is in RUSAGE_CHILDREN's maximum (the largest child so far).
    assert children_max_rss() <= max(rss_before, MAX_RSS), f"mitmdump grew to {children_max_rss() >> 20} MB"


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_live_edit_extending_a_special_file_logs_once_keeps_rules_and_never_blocks(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path, kind: str
) -> None:
    """Valid rules -> the file is edited to extend /dev/zero or a FIFO: one error line naming it,
    the previous rules keep auditing, no further error (nor re-read) on the next watcher ticks,
    and the proxy answers promptly throughout -> the failed chain is fixed (the rules file for
    /dev/zero; for the FIFO, the extended file itself, which the active ruleset never read) and
    the watcher takes the new rules up."""
    upstream.route("/", headers=[("Content-Type", "text/plain"), ("X-Debug-Token", "a1b2c3")], body=b"ok")
    target = special_file(tmp_path, kind)
    rules = tmp_path / "rules.yaml"
    write_rules(rules, VALID)
    flows_path = tmp_path / "out.mitm"
    proxy = mitmdump.start("-s", addon_script, "--set", f"headeraudit_rules={rules}", "-w", flows_path)
    client = proxy.client()
    url = upstream.url("/")
    assert client.get(url).body == b"ok"  # flow 0: the first rules
    proxy.wait_for("xcto-required")

    mark = proxy.line_count
    write_rules(rules, f"version: 1\nextends: {target.name if kind == 'fifo' else target}\n")
    line = proxy.wait_for(".*" + re.escape(str(target)) + ".*not a regular file.*", timeout=8, since=mark).group(0)
    assert "rules not reloaded (changed), previous rules stay active" in line, line
    errored = time.monotonic()

    # >= 3 watcher ticks (WATCH_INTERVAL is 1 s) with requests all along: each answered promptly.
    slowest = 0.0
    while time.monotonic() - errored < 3.5:
        sent = time.monotonic()
        assert client.get(url, timeout=10).body == b"ok"  # flows 1..n: the previous rules
        slowest = max(slowest, time.monotonic() - sent)
        time.sleep(0.2)
    assert slowest < PROMPT, f"a request took {slowest:.1f}s while the rules file extended {target}"
    assert proxy.alive
    since = proxy.output.splitlines()[mark:]
    assert len([x for x in since if str(target) in x]) == 1, \
        "the broken state must be reported once, not on every watcher tick:\n" + "".join(f"{x}\n" for x in since)
    assert not [x for x in since if "rules watcher failed" in x], since
    rss = peak_rss(proxy)
    assert rss is None or rss < MAX_RSS, f"mitmdump grew to {rss >> 20} MB"

    mark = proxy.line_count
    if kind == "fifo":
        target.unlink()
        target.write_text(VALID_MORE, encoding="utf-8")  # only the extended file changes
    else:
        write_rules(rules, VALID_MORE)
    proxy.wait_for(r"rules reloaded \(changed\): 2 rules from " + re.escape(str(rules)), timeout=8, since=mark)
    assert client.get(url).body == b"ok"  # the last flow: the new rules
    proxy.wait_for("debug-token-leak", since=mark)
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"
    assert "Traceback" not in proxy.output, f"mitmdump logged a traceback:\n{proxy.output}"

    flows = read_flows(flows_path)
    assert len(flows) >= 4, len(flows)
    for flow in flows:
        check_annotations(flow)
    assert all(rules_of(flow) == {"xcto-required"} for flow in flows[:-1]), \
        "while the edit was broken the previous rules must have stayed active"
    assert rules_of(flows[-1]) == {"xcto-required", "debug-token-leak"}
