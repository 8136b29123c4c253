"""The addon in a real mitmdump: regular proxy (http and https upstreams) and reverse mode.

What a user sees: one log line per distinct finding, annotated flows in `-w` files, and a
JSON report with counts.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import (
    BUNDLED_RULES,
    Client,
    MitmDumpFactory,
    Upstream,
    bundled_severities,
    check_annotations,
    check_report_consistent,
    check_untouched,
    curl,
    load_report,
    logged_findings,
    read_flows,
    rules_of,
)

pytestmark = pytest.mark.e2e

SEVERITY = bundled_severities()

# An HTML page that breaks several default rules over plain http.
LEAKY_HTML = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Server", "Apache/2.4.1 (Unix)"),
    ("X-Powered-By", "PHP/8.1.2"),
]
# An HTML page over https that should satisfy every default rule.
GOOD_HTML = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"),
    ("Content-Security-Policy", "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; "
                                "frame-ancestors 'none'; form-action 'self'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
    ("Set-Cookie", "sessionid=0f3c9a; Path=/; Secure; HttpOnly; SameSite=Lax"),
    ("Server", "nginx"),
]
PAGE = b"<!doctype html><html><head><title>t</title></head><body>hello</body></html>"


def logged_rules(output: str, host: str) -> Counter[str]:
    return Counter(f.rule for f in logged_findings(output) if f.host == host)


def test_http_findings_logged_once_and_counted_in_report(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path, report_schema: dict[str, Any]
) -> None:
    upstream.route("/page", headers=LEAKY_HTML, body=PAGE)
    report_path = tmp_path / "report.json"
    proxy = mitmdump.start("-s", addon_script, "--set", f"headeraudit_report={report_path}")
    client = proxy.client()
    for _ in range(3):
        response = client.get(upstream.url("/page"))
        assert response.status == 200 and response.body == PAGE
    proxy.wait_for(rf"headeraudit \[\w+\] {re.escape(upstream.site)} tech-disclosure:")
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"

    logged = logged_findings(proxy.output)
    per_rule = logged_rules(proxy.output, upstream.site)
    expected = {"csp-missing", "xcto-missing", "frame-protection-missing", "server-version-disclosure",
                "tech-disclosure"}
    assert expected <= set(per_rule), f"mitmdump output:\n{proxy.output}"
    assert "hsts-missing" not in per_rule, "hsts-missing is for https responses only"
    # Three identical responses, one line per (host, rule, evidence).
    keys = Counter((f.host, f.rule, f.message) for f in logged)
    assert all(n == 1 for n in keys.values()), keys
    for f in logged:
        assert f.severity == SEVERITY[f.rule].upper(), f
    server_line = next(f for f in logged if f.rule == "server-version-disclosure")
    assert "Apache/2.4.1" in server_line.message, server_line

    report = load_report(report_path, report_schema)
    check_report_consistent(report)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("report.json", "confdir")]
    assert not leftovers, f"temporary files left beside the report: {leftovers}"
    assert report["schema"] == "headeraudit-report/1" and report["tool"] == "headeraudit"
    assert report["mode"] == "audit"
    assert Path(report["ruleset"]["path"]).resolve() == BUNDLED_RULES.resolve()
    assert report["ruleset"]["sha256"] == hashlib.sha256(BUNDLED_RULES.read_bytes()).hexdigest()
    assert report["ruleset"]["rules"] == len(SEVERITY)
    assert report["summary"]["flows_audited"] == 3
    by_rule = {f["rule"]: f for f in report["findings"]}
    assert expected <= set(by_rule)
    assert len(report["findings"]) == len(logged), "every distinct finding is logged exactly once"
    for rule in expected:
        finding = by_rule[rule]
        assert finding["host"] == upstream.site
        assert finding["count"] == 3, finding
        assert finding["severity"] == SEVERITY[rule]
        assert finding["examples"] == [upstream.url("/page")], finding
    assert by_rule["server-version-disclosure"]["evidence"] == "Apache/2.4.1 (Unix)"
    assert report["hosts"] == [{"host": upstream.site, "flows": 3, "by_severity": report["hosts"][0]["by_severity"]}]


def test_https_upstream_findings_and_flow_file(
    https_upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path,
    report_schema: dict[str, Any],
) -> None:
    https_upstream.route("/login", headers=[("Content-Type", "text/html"),
                                            ("Set-Cookie", "sessionid=abc123; Path=/")], body=PAGE)
    https_upstream.route("/good", headers=GOOD_HTML, body=PAGE)
    flows_path, report_path = tmp_path / "out.mitm", tmp_path / "report.json"
    proxy = mitmdump.start("-s", addon_script, "--set", "ssl_insecure=true", "-w", flows_path,
                           "--set", f"headeraudit_report={report_path}")
    response = proxy.client().get(https_upstream.url("/login"))
    assert response.status == 200 and response.header("Set-Cookie") == "sessionid=abc123; Path=/"
    # curl as a second, independent client through the proxy, trusting only mitmproxy's CA.
    result = curl("--proxy", f"http://127.0.0.1:{proxy.port}", "--cacert", str(proxy.cacert),
                  https_upstream.url("/good"))
    assert result.returncode == 0 and result.stdout == PAGE, result.stderr
    proxy.wait_for("cookie-no-secure")
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"

    per_rule = logged_rules(proxy.output, https_upstream.site)
    assert {"hsts-missing", "cookie-no-httponly", "cookie-no-secure", "csp-missing", "xcto-missing",
            "frame-protection-missing"} <= set(per_rule), f"mitmdump output:\n{proxy.output}"
    assert all(n == 1 for n in per_rule.values()), per_rule

    flows = {f.request.path: f for f in read_flows(flows_path)}
    assert set(flows) == {"/login", "/good"}
    meta = check_annotations(flows["/login"])
    assert {"hsts-missing", "cookie-no-httponly", "cookie-no-secure"} <= rules_of(flows["/login"])
    cookie = next(f for f in meta["findings"] if f["rule"] == "cookie-no-httponly")
    assert cookie["header"].lower() == "set-cookie" and "sessionid" in cookie["evidence"], cookie
    assert "abc123" not in cookie["evidence"], "evidence must not carry the cookie value"
    check_untouched(flows["/good"])  # a well-configured page gets no findings and no annotations

    report = load_report(report_path, report_schema)
    check_report_consistent(report)
    assert report["summary"]["flows_audited"] == 2
    assert all(f["examples"] == [https_upstream.url("/login")] for f in report["findings"]), report["findings"]


def test_reverse_mode_annotates_flows(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path
) -> None:
    upstream.route("/", headers=LEAKY_HTML, body=PAGE)
    upstream.route("/api", headers=[("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"),
                                    ("Access-Control-Allow-Origin", "*")], body=b"{}")
    upstream.route("/clean.txt", headers=[("Content-Type", "text/plain"), ("X-Content-Type-Options", "nosniff")],
                   body=b"ok")
    flows_path = tmp_path / "out.mitm"
    proxy = mitmdump.start("--mode", f"reverse:{upstream.origin}", "-s", addon_script, "-w", flows_path)
    direct = Client()  # reverse mode: the client talks to mitmdump as if it were the server
    base = f"http://127.0.0.1:{proxy.port}"
    for path in ("/", "/api", "/clean.txt", "/"):
        response = direct.get(base + path)
        assert response.status == 200
    assert direct.get(base + "/").body == PAGE
    proxy.wait_for("cors-wildcard")
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"

    assert [r.path for r in upstream.requests] == ["/", "/api", "/clean.txt", "/", "/"]
    per_rule = logged_rules(proxy.output, upstream.site)
    assert {"csp-missing", "frame-protection-missing", "server-version-disclosure", "tech-disclosure",
            "cors-wildcard"} <= set(per_rule), f"mitmdump output:\n{proxy.output}"
    assert all(n == 1 for n in per_rule.values()), per_rule

    flows = read_flows(flows_path)
    assert [f.request.path for f in flows] == ["/", "/api", "/clean.txt", "/", "/"]
    for flow in flows:
        if flow.request.path == "/clean.txt":
            check_untouched(flow)
        else:
            check_annotations(flow)
    assert rules_of(flows[1]) == {"cors-wildcard"}
    assert flows[1].marked == {"info": ":large_blue_circle:", "low": ":yellow_circle:",
                               "medium": ":orange_circle:", "high": ":red_circle:",
                               "critical": ":fire:"}[SEVERITY["cors-wildcard"]]
    assert rules_of(flows[0]) == rules_of(flows[3]), "identical responses, identical findings"


@pytest.mark.parametrize(
    ("origins", "expect_finding"),
    [
        (["https://app.example.com", "https://evil.example.net"], True),
        (["https://app.example.com", "https://app.example.com"], False),
        (["https://app.example.com"], False),
    ],
    ids=["two-origins-echoed", "one-origin-twice", "one-origin-once"],
)
def test_cors_origin_reflection_needs_two_different_origins(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path,
    report_schema: dict[str, Any], origins: list[str], expect_finding: bool,
) -> None:
    def echo(request: Any) -> Any:
        from e2e_harness import Route

        return Route(200, [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"),
                           ("Access-Control-Allow-Origin", request.header("Origin") or "null"),
                           ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")], b'{"user":"ada"}')

    upstream.route("/api/me", handler=echo)
    report_path = tmp_path / "report.json"
    proxy = mitmdump.start("-s", addon_script, "--set", f"headeraudit_report={report_path}")
    client = proxy.client()
    for origin in origins:
        response = client.get(upstream.url("/api/me"), headers={"Origin": origin})
        assert response.header("Access-Control-Allow-Origin") == origin
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"

    count = logged_rules(proxy.output, upstream.site)["cors-origin-reflected-credentials"]
    assert count == (1 if expect_finding else 0), f"mitmdump output:\n{proxy.output}"
    report = load_report(report_path, report_schema)
    check_report_consistent(report)
    reported = [f for f in report["findings"] if f["rule"] == "cors-origin-reflected-credentials"]
    assert len(reported) == (1 if expect_finding else 0), report["findings"]
    if expect_finding:
        assert reported[0]["severity"] == SEVERITY["cors-origin-reflected-credentials"]
        assert reported[0]["host"] == upstream.site


def test_filter_limits_audit_to_matching_flows(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path,
    report_schema: dict[str, Any],
) -> None:
    upstream.route("/audited", headers=[("Content-Type", "text/plain"), ("Server", "Apache/2.4.1")], body=b"a")
    upstream.route("/ignored", headers=[("Content-Type", "text/plain"), ("Server", "nginx/1.2.3")], body=b"b")
    flows_path, report_path = tmp_path / "out.mitm", tmp_path / "report.json"
    proxy = mitmdump.start("-s", addon_script, "--set", "headeraudit_filter=~u /audited",
                           "--set", f"headeraudit_report={report_path}", "-w", flows_path)
    client = proxy.client()
    assert client.get(upstream.url("/ignored")).body == b"b"
    assert client.get(upstream.url("/audited")).body == b"a"
    assert client.get(upstream.url("/ignored")).body == b"b"
    proxy.wait_for("server-version-disclosure")
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"

    server_lines = [f for f in logged_findings(proxy.output) if f.rule == "server-version-disclosure"]
    assert len(server_lines) == 1 and "Apache/2.4.1" in server_lines[0].message, f"mitmdump output:\n{proxy.output}"
    assert "nginx/1.2.3" not in proxy.output, "a flow outside the filter was audited"
    flows = read_flows(flows_path)
    assert [f.request.path for f in flows] == ["/ignored", "/audited", "/ignored"]
    check_untouched(flows[0])
    check_untouched(flows[2])
    assert "server-version-disclosure" in rules_of(flows[1])
    report = load_report(report_path, report_schema)
    assert report["summary"]["flows_audited"] == 1
    assert {f["evidence"] for f in report["findings"] if f["rule"] == "server-version-disclosure"} == {"Apache/2.4.1"}


@pytest.mark.parametrize("minimum", ["medium", "high"])
def test_min_severity_drops_lower_findings(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path,
    report_schema: dict[str, Any], minimum: str,
) -> None:
    # medium: csp-missing, frame-protection-missing; high: csp-unsafe-inline; low: xcto, server, tech
    upstream.route("/weak", headers=[*LEAKY_HTML, ("Content-Security-Policy",
                                                   "default-src 'self'; script-src 'self' 'unsafe-inline'")], body=PAGE)
    upstream.route("/none", headers=LEAKY_HTML, body=PAGE)
    flows_path, report_path = tmp_path / "out.mitm", tmp_path / "report.json"
    proxy = mitmdump.start("-s", addon_script, "--set", f"headeraudit_min_severity={minimum}",
                           "--set", f"headeraudit_report={report_path}", "-w", flows_path)
    client = proxy.client()
    client.get(upstream.url("/weak"))
    client.get(upstream.url("/none"))
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"

    order = ["info", "low", "medium", "high", "critical"]
    floor = order.index(minimum)
    logged = logged_findings(proxy.output)
    assert logged, f"mitmdump output:\n{proxy.output}"
    assert all(order.index(f.severity.lower()) >= floor for f in logged), logged
    assert "csp-unsafe-inline" in {f.rule for f in logged}
    assert ("csp-missing" in {f.rule for f in logged}) == (minimum == "medium")
    report = load_report(report_path, report_schema)
    check_report_consistent(report)
    assert all(order.index(f["severity"]) >= floor for f in report["findings"]), report["findings"]
    for flow in read_flows(flows_path):
        meta = flow.metadata.get("headeraudit")
        if meta:
            check_annotations(flow)
            assert all(order.index(f["severity"]) >= floor for f in meta["findings"]), meta
        else:
            check_untouched(flow)


@pytest.mark.parametrize(
    ("option", "mentions"),
    [
        ("headeraudit_mode=enforce", "headeraudit_mode"),
        ("headeraudit_min_severity=severe", "headeraudit_min_severity"),
        ("headeraudit_filter=~q ~nosuchfilter (", "headeraudit_filter"),
        ("headeraudit_rules=/nonexistent/headeraudit-rules.yaml", "/nonexistent/headeraudit-rules.yaml"),
    ],
    ids=["mode", "min-severity", "filter", "rules-path"],
)
def test_bad_option_value_exits_1_with_a_clear_message(
    mitmdump: MitmDumpFactory, addon_script: Path, option: str, mentions: str
) -> None:
    proc = mitmdump.run("-s", addon_script, "--set", option, timeout=30)
    assert proc.returncode is not None, f"mitmdump kept running with --set {option}:\n{proc.output}"
    assert proc.returncode == 1, f"mitmdump output:\n{proc.output}"
    assert mentions in proc.output, f"mitmdump output:\n{proc.output}"
    assert "listening at" not in proc.output or re.search(r"exiting", proc.output), f"mitmdump output:\n{proc.output}"
