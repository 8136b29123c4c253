"""`headeraudit scan URL…` against local servers: redirects followed and each hop audited,
the same findings as a proxy run, reports and the gate, and a URL that cannot be fetched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import MitmDumpFactory, Upstream, finding_keys, load_report, read_flows, subprocess_env

pytestmark = pytest.mark.e2e

HEADERAUDIT = Path(sys.executable).parent / "headeraudit"
PAGE = [("Content-Type", "text/html"), ("Server", "nginx/1.25.3"), ("Set-Cookie", "sid=1; Path=/"),
        ("Content-Security-Policy", "script-src 'self' 'unsafe-inline'")]


def scan(tmp_path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HEADERAUDIT), "scan", "--set", f"confdir={tmp_path / 'confdir'}", *map(str, args)],
                          cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=90,
                          stdin=subprocess.DEVNULL)


def test_scan_follows_redirects_audits_each_hop_and_writes_reports(
    upstream: Upstream, https_upstream: Upstream, tmp_path: Path, report_schema: dict[str, Any]
) -> None:
    upstream.route("/", 301, [("Location", https_upstream.url("/home"))])
    https_upstream.route("/home", 302, [("Location", "/page"), ("Strict-Transport-Security", "max-age=60")])
    https_upstream.route("/page", headers=PAGE, body=b"<p>x</p>")
    report, flows = tmp_path / "r.json", tmp_path / "hops.mitm"
    run = scan(tmp_path, upstream.url("/"), "--set", "ssl_insecure=true", "--set", f"headeraudit_report={report}",
               "-w", flows)
    assert run.returncode == 0, run.stdout + run.stderr
    assert [r.path for r in upstream.requests] == ["/"] and [r.path for r in https_upstream.requests] == ["/home", "/page"]
    hops = [(f.request.pretty_url, f.response.status_code) for f in read_flows(flows)]
    assert hops == [(upstream.url("/"), 301), (https_upstream.url("/home"), 302), (https_upstream.url("/page"), 200)]
    out = run.stdout + run.stderr
    assert f"headeraudit scan: {upstream.url('/')} -> 301 {https_upstream.url('/home')}" in out, out
    data = load_report(report, report_schema)
    assert data["summary"]["flows_audited"] == 3
    rules = {(f["host"], f["rule"]) for f in data["findings"]}
    assert {(https_upstream.site, "csp-unsafe-inline"), (https_upstream.site, "cookie-no-secure"),
            (https_upstream.site, "server-version-disclosure")} <= rules, rules
    assert "headeraudit: 3 flows" in run.stdout  # the summary, as at the end of any run


def test_scan_judges_as_the_proxy_does(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path, report_schema: dict[str, Any]
) -> None:
    upstream.route("/page", headers=PAGE, body=b"<p>x</p>")
    scanned = tmp_path / "scan.json"
    assert scan(tmp_path, upstream.url("/page"), "--set", f"headeraudit_report={scanned}").returncode == 0
    proxied = tmp_path / "proxy.json"
    proxy = mitmdump.start("-s", addon_script, "--set", f"headeraudit_report={proxied}")
    assert proxy.client().get(upstream.url("/page")).status == 200
    assert proxy.stop() == 0, proxy.output
    assert finding_keys(load_report(scanned, report_schema)) == finding_keys(load_report(proxied, report_schema))


def test_scan_gate_and_fetch_failures_set_the_exit_status(upstream: Upstream, tmp_path: Path) -> None:
    upstream.route("/page", headers=PAGE, body=b"<p>x</p>")
    upstream.route("/loop", 302, [("Location", "/loop")])
    assert scan(tmp_path, upstream.url("/page"), "--set", "headeraudit_fail_on=high").returncode == 3
    with_a_dead_one = scan(tmp_path, upstream.url("/page"), "http://127.0.0.1:9/")
    assert with_a_dead_one.returncode == 5, with_a_dead_one.stdout + with_a_dead_one.stderr
    assert "headeraudit scan: http://127.0.0.1:9/ could not be fetched" in with_a_dead_one.stdout + with_a_dead_one.stderr
    loop = scan(tmp_path, upstream.url("/loop"))
    assert loop.returncode == 5 and "more than 10 redirects" in loop.stdout + loop.stderr
    assert sum(r.path == "/loop" for r in upstream.requests) == 11  # the first request and ten redirects


@pytest.mark.parametrize("args", [[], ["ftp://127.0.0.1/"]])
def test_scan_without_a_usable_url_is_a_start_up_error(tmp_path: Path, args: list[str]) -> None:
    run = scan(tmp_path, *args)
    assert run.returncode == 1 and "headeraudit scan:" in run.stderr and len(run.stderr.splitlines()) == 1, run.stderr
