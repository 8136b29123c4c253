"""Malformed upstream responses never break the flow.

The client must get the upstream's response byte-for-byte (status, every header line in
order, body) whatever the addon makes of it, and mitmdump must keep serving. Raw sockets
on both sides: http.client would itself refuse >100 headers or 64 KiB lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from e2e_harness import (
    MitmDumpFactory,
    Upstream,
    check_report_consistent,
    load_report,
    logged_findings,
    parse_raw_response,
    raw_request,
    read_flows,
)

pytestmark = pytest.mark.e2e

HTML = ("Content-Type", "text/html")

MALFORMED = {
    "non-utf8-header-bytes": [
        HTML,
        ("Server", b"Apache/2.4.1 \xff\xfe (caf\xe9)"),
        ("Content-Security-Policy", b"default-src 'self' \xc3\x28; script-src \xff"),
        ("Set-Cookie", b"sessionid=\xff\xfe\x80; Path=/"),
        ("X-Frame-Options", b"DENY\x80"),
        ("Strict-Transport-Security", b"max-age=\xef\xbf\xbd"),
    ],
    "empty-header-values": [
        HTML,
        ("Content-Security-Policy", ""),
        ("X-Frame-Options", ""),
        ("X-Content-Type-Options", ""),
        ("Strict-Transport-Security", ""),
        ("Access-Control-Allow-Origin", ""),
        ("Referrer-Policy", ""),
        ("Server", ""),
        ("Set-Cookie", ""),
    ],
    "300-repeated-headers": [
        HTML,
        *[("Set-Cookie", f"sessionid{i}=v{i}; Path=/") for i in range(100)],
        *[("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'") for _ in range(100)],
        *[("X-Frame-Options", "DENY" if i % 2 else "SAMEORIGIN") for i in range(100)],
    ],
    "100kb-header-value": [
        HTML,
        ("Content-Security-Policy",
         "default-src 'self'; script-src " + " ".join(f"https://cdn{i}.example.com" for i in range(4500))),
        ("X-Long", "a" * 100_000),
        ("Set-Cookie", "sessionid=" + "b" * 100_000 + "; Path=/"),
    ],
    "set-cookie-without-equals": [
        HTML,
        ("Set-Cookie", "sessionid"),
        ("Set-Cookie", "=orphan-value; Path=/"),
        ("Set-Cookie", ";;;"),
        ("Set-Cookie", "sessionid; HttpOnly; Secure"),
        ("Set-Cookie", "token=; Max-Age=abc; Expires=not a date; SameSite"),
    ],
    "odd-but-legal-values": [
        ("Content-Type", "TEXT/HTML;;charset="),
        ("Strict-Transport-Security", "max-age=\"99999999999999999999999\"; max-age=5; includeSubDomains=1"),
        ("Content-Security-Policy", ";;; script-src ;; ;"),
        ("Access-Control-Allow-Origin", "*, https://a.example"),
        ("Access-Control-Allow-Credentials", "TRUE"),
        ("Server", "\t Apache/2 \t"),
    ],
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_response_reaches_the_client_unchanged(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path,
    report_schema: dict[str, Any], case: str
) -> None:
    body = b"<!doctype html><html><body>" + case.encode() + b"</body></html>"
    upstream.route("/m", headers=MALFORMED[case], body=body)
    upstream.route("/ok", headers=[("Content-Type", "text/plain")], body=b"still serving")
    flows_path, report_path = tmp_path / "out.mitm", tmp_path / "report.json"
    proxy = mitmdump.start("--mode", f"reverse:{upstream.origin}", "-s", addon_script, "-w", flows_path,
                           "--set", f"headeraudit_report={report_path}")

    direct = parse_raw_response(raw_request(upstream.port, "/m"))
    via = parse_raw_response(raw_request(proxy.port, "/m"))
    assert via[0] == direct[0] == 200
    assert via[2] == direct[2] == body
    assert via[1] == direct[1], "headers changed on the way through mitmdump"
    # and again (a second identical response takes the dedup path)
    assert parse_raw_response(raw_request(proxy.port, "/m")) == via

    ok = parse_raw_response(raw_request(proxy.port, "/ok"))
    assert ok[0] == 200 and ok[2] == b"still serving"
    assert proxy.alive
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"
    assert "Traceback" not in proxy.output and "Addon error" not in proxy.output, \
        f"mitmdump logged a traceback:\n{proxy.output[-6000:]}"
    assert "internal error" not in proxy.output, f"the addon failed on this input:\n{proxy.output[-3000:]}"
    flows = read_flows(flows_path)
    assert [f.request.path for f in flows] == ["/m", "/m", "/ok"]
    assert all(f.response is not None and f.error is None for f in flows)
    if case != "odd-but-legal-values":
        assert flows[0].metadata.get("headeraudit"), f"no findings at all for {case}: {proxy.output[-2000:]}"
    report = load_report(report_path, report_schema)
    check_report_consistent(report)
    assert report["summary"]["flows_audited"] == 3
    # log lines are single lines with a bounded length even for 100 KB values
    for finding in logged_findings(proxy.output):
        assert len(finding.message) < 20_000, f"{finding.rule}: {len(finding.message)} characters logged"
