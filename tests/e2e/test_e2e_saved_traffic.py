"""Saved traffic: `mitmdump -nr examples/sample.har|sample.mitm` audits like the live run.

The live run replays the HAR's requests through a regular-proxy mitmdump whose upstream is
a local server answering with the HAR's responses; examples/fakehosts_addon.py keeps the
made-up host names (www.example.com, ...) while connecting to 127.0.0.1 only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from e2e_harness import (
    EXAMPLES,
    MitmDumpFactory,
    Upstream,
    check_annotations,
    check_report_consistent,
    check_untouched,
    finding_keys,
    load_report,
    logged_findings,
    read_flows,
    read_har,
    replay_har,
    serve_har,
)

pytestmark = pytest.mark.e2e

SAMPLE_HAR = EXAMPLES / "sample.har"
SAMPLE_MITM = EXAMPLES / "sample.mitm"
FAKEHOSTS = EXAMPLES / "fakehosts_addon.py"
HOSTS = {"www.example.com", "api.example.com", "legacy.example.org", "shop.example.net", "cdn.example.net"}


def offline_report(mitmdump: MitmDumpFactory, addon_script: Path, source: Path, out: Path,
                   schema: dict[str, Any], *extra: str) -> tuple[dict[str, Any], str]:
    proc = mitmdump.run("-nr", source, "-s", addon_script, "--set", f"headeraudit_report={out}", *extra,
                        listen=False, timeout=60)
    assert proc.returncode == 0, f"mitmdump -nr {source.name} failed:\n{proc.output}"
    report = load_report(out, schema)
    check_report_consistent(report)
    return report, f"mitmdump output:\n{proc.output}"


def test_sample_files_exist_and_are_small() -> None:
    for path in (SAMPLE_HAR, SAMPLE_MITM):
        assert path.exists(), f"{path} missing: run examples/make_examples.py"
        assert path.stat().st_size < 200 * 1024, f"{path} is {path.stat().st_size} bytes"
    entries = read_har(SAMPLE_HAR)
    assert 20 <= len(entries) <= 40
    assert {e.host for e in entries} == HOSTS


def test_har_and_mitm_give_the_same_findings_as_the_live_run(
    upstream: Upstream, https_upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path,
    tmp_path: Path, report_schema: dict[str, Any],
) -> None:
    entries = read_har(SAMPLE_HAR)
    serve_har(entries, upstream, https_upstream)
    live_path = tmp_path / "live.json"
    proxy = mitmdump.start(
        "-s", FAKEHOSTS, "-s", addon_script,
        "--set", f"fakehosts_http_port={upstream.port}", "--set", f"fakehosts_https_port={https_upstream.port}",
        "--set", "connection_strategy=lazy", "--set", "ssl_insecure=true",
        "--set", f"headeraudit_report={live_path}")
    responses = replay_har(entries, proxy.client())
    assert [r.status for r in responses] == [e.status for e in entries], f"mitmdump output:\n{proxy.output}"
    assert [r.body for r in responses] == [e.response_body for e in entries]
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"
    live = load_report(live_path, report_schema)
    check_report_consistent(live)

    har, har_output = offline_report(mitmdump, addon_script, SAMPLE_HAR, tmp_path / "har.json", report_schema)
    mitm, _ = offline_report(mitmdump, addon_script, SAMPLE_MITM, tmp_path / "mitm.json", report_schema)

    assert live["summary"]["flows_audited"] == har["summary"]["flows_audited"] == mitm["summary"]["flows_audited"] \
        == len(entries)
    assert {h["host"] for h in live["hosts"]} == HOSTS
    assert finding_keys(har) == finding_keys(live), "HAR replay differs from the live run"
    assert finding_keys(mitm) == finding_keys(live), ".mitm replay differs from the live run"
    assert har["summary"] == live["summary"] == mitm["summary"]
    assert har["hosts"] == live["hosts"] == mitm["hosts"]
    # grades too: the same responses, the same scores and per-test results
    assert har["grades"] == live["grades"] == mitm["grades"]
    assert {h["host"] for h in live["grades"]["hosts"]} == HOSTS
    # the logged lines are the same too (one per distinct finding)
    assert sorted(map(repr, logged_findings(har_output))) == sorted(map(repr, logged_findings(proxy.output)))


def test_sample_shows_the_intended_mix(
    mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path, report_schema: dict[str, Any]
) -> None:
    report, output = offline_report(mitmdump, addon_script, SAMPLE_HAR, tmp_path / "r.json", report_schema)
    found = {(f["host"], f["rule"]) for f in report["findings"]}
    expected = {
        ("www.example.com", "csp-unsafe-inline"),          # login page: script-src 'unsafe-inline'
        ("www.example.com", "cookie-no-httponly"),         # sessionid set by POST /login without HttpOnly
        ("api.example.com", "cors-origin-reflected-credentials"),  # /v1/me echoes two origins
        ("api.example.com", "cors-wildcard"),
        ("api.example.com", "hsts-missing"),               # /v0/users
        ("api.example.com", "tech-disclosure"),            # X-Powered-By: Express
        ("api.example.com", "xcto-missing"),
        ("legacy.example.org", "server-version-disclosure"),
        ("legacy.example.org", "tech-disclosure"),
        ("legacy.example.org", "csp-missing"),
        ("legacy.example.org", "cookie-no-httponly"),      # PHPSESSID over http
        ("legacy.example.org", "cookie-no-secure"),        # PHPSESSID over https without Secure
        ("legacy.example.org", "csp-broad-source"),        # script-src *
        ("legacy.example.org", "hsts-max-age-low"),        # max-age=300
        ("shop.example.net", "csp-unsafe-inline"),
        ("shop.example.net", "csp-unsafe-eval"),
        ("shop.example.net", "cookie-no-httponly"),        # session without HttpOnly
        ("shop.example.net", "server-version-disclosure"),
        ("shop.example.net", "cors-wildcard"),
    }
    assert expected <= found, sorted(expected - found)
    not_expected = {
        ("www.example.com", "hsts-missing"), ("www.example.com", "csp-missing"),
        ("www.example.com", "frame-protection-missing"), ("www.example.com", "server-version-disclosure"),
        ("cdn.example.net", "hsts-missing"), ("legacy.example.org", "hsts-missing"),  # legacy: hsts only on https
    }
    assert not (not_expected & found), sorted(not_expected & found)
    severities = {f["severity"] for f in report["findings"]}
    assert {"high", "medium", "low"} <= severities, severities
    assert "headeraudit [HIGH] api.example.com cors-origin-reflected-credentials:" in output


def test_saved_flows_are_annotated_in_the_output_file(
    mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path
) -> None:
    out = tmp_path / "annotated.mitm"
    proc = mitmdump.run("-nr", SAMPLE_MITM, "-s", addon_script, "-w", out, listen=False, timeout=60)
    assert proc.returncode == 0, f"mitmdump output:\n{proc.output}"
    flows = read_flows(out)
    assert len(flows) == len(read_har(SAMPLE_HAR))
    by_url = {}
    for flow in flows:
        if flow.metadata.get("headeraudit"):
            check_annotations(flow)
        else:
            check_untouched(flow)
        by_url.setdefault(flow.request.pretty_url, flow)
    check_untouched(by_url["https://www.example.com/static/site.css"])  # a well-configured resource
    assert by_url["https://api.example.com/v0/users"].marked  # missing HSTS, CORS *, X-Powered-By
