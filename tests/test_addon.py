"""The mitmproxy adapter, driven by mitmproxy.test.taddons/tflow.

Tests are async: a sync test using taddons.context leaks its event loop on mitmproxy 11 and
trips over the closed loop of an earlier context on 12.
"""

from __future__ import annotations

import json
import logging
import os
import textwrap

import jsonschema
import pytest
from importlib import resources
from mitmproxy import exceptions, http
from mitmproxy.proxy.layers.http import HttpRequestHook
from mitmproxy.addons import view
from mitmproxy.io import tnetstring
from mitmproxy.test import taddons, tflow
from mitmproxy.test.tutils import treq, tresp

from headeraudit.mitm import HeaderAudit

REPORT_SCHEMA = json.loads(resources.files("headeraudit").joinpath("report.schema.json").read_text())


def html_flow(headers=(), *, scheme="https", host="www.example.com", path="/", status=200, live=True, request_headers=()):
    resp = tresp(status_code=status, headers=http.Headers([(b"content-type", b"text/html"), *headers]), content=b"<p>x</p>")
    req = treq(scheme=scheme.encode(), host=host, port=443 if scheme == "https" else 80, path=path.encode(),
               headers=http.Headers([(b"host", host.encode()), *request_headers]))
    flow = tflow.tflow(req=req, resp=resp, live=live)
    return flow


def rule_ids(flow):
    return {f["rule"] for f in flow.metadata.get("headeraudit", {}).get("findings", [])}


async def test_flow_is_annotated_with_metadata_comment_and_marker():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        flow = html_flow()
        addon.responseheaders(flow)
        assert {"hsts-missing", "csp-missing", "xcto-missing"} <= rule_ids(flow)
        assert flow.metadata["headeraudit"]["max_severity"] == "medium"
        assert flow.marked == ":orange_circle:"
        assert flow.comment.startswith("headeraudit: ") and "medium" in flow.comment and "hsts-missing" in flow.comment


async def test_flow_comment_keeps_the_users_own_comment_and_replaces_ours():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        flow = html_flow()
        flow.comment = "looked at this by hand"
        addon.responseheaders(flow)
        addon.responseheaders(flow)
        lines = flow.comment.splitlines()
        findings = flow.metadata["headeraudit"]["findings"]
        assert lines[0] == "looked at this by hand" and len(lines) == 2 + len(findings), lines
        assert lines.count("looked at this by hand") == 1


async def test_flow_comment_shows_each_findings_evidence_for_mitmweb():
    """mitmweb shows a flow's comment but not its metadata: the evidence goes in the comment,
    worst first, escaped for a terminal (the console) and capped."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        flow = html_flow([(b"content-security-policy", b"script-src 'unsafe-inline' \x1b[31m"),
                          (b"server", b"Apache/2.4.1 " + b"x" * 500)])
        addon.responseheaders(flow)
    summary, *lines = flow.comment.splitlines()
    assert summary.startswith("headeraudit: 1 high, ")
    assert lines[0] == "headeraudit [HIGH] csp-unsafe-inline: Content-Security-Policy: script-src: 'unsafe-inline'", lines
    severities = [line.split("]", 1)[0].removeprefix("headeraudit [") for line in lines]
    order = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]
    assert severities == sorted(severities, key=order.index)
    server = next(line for line in lines if "server-version-disclosure" in line)
    assert server.endswith("…") and len(server) < 300
    assert "\x1b" not in flow.comment


async def test_flow_comment_counts_the_findings_past_its_cap():
    from headeraudit.audit import COMMENT_FINDINGS, summarise
    from headeraudit.model import Finding
    findings = [Finding(f"rule-{i}", "low", "X-H", "m", "v") for i in range(COMMENT_FINDINGS + 3)]
    lines = summarise(findings).splitlines()
    assert len(lines) == 1 + COMMENT_FINDINGS + 1 and lines[-1].startswith("headeraudit […] and 3 more")


async def test_clean_flow_is_left_alone():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        flow = tflow.tflow(resp=tresp(headers=http.Headers([(b"content-type", b"image/png"), (b"x-content-type-options", b"nosniff")])))
        flow.request.scheme = "http"
        addon.responseheaders(flow)
        assert "headeraudit" not in flow.metadata and not flow.marked and not flow.comment


async def test_each_finding_is_logged_once_per_host(caplog):
    caplog.set_level(logging.INFO)
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        for path in ("/a", "/b", "/c.png"):
            addon.responseheaders(html_flow(path=path))
        lines = [line for r in caplog.records for line in r.getMessage().split("\n") if "hsts-missing" in line]
        assert len(lines) == 1
        assert lines[0].startswith("headeraudit [MEDIUM] www.example.com hsts-missing:")
        addon.responseheaders(html_flow(host="other.example.com"))
        assert len([line for r in caplog.records for line in r.getMessage().split("\n") if "hsts-missing" in line]) == 2
        # A flow's new findings are one record per level (mitmproxy hands every record to every addon).
        first_flow = [r for r in caplog.records if r.getMessage().startswith("headeraudit [")][:2]
        assert {r.levelno for r in first_flow} == {logging.WARNING, logging.INFO}
        assert all(line.startswith("headeraudit [") for r in first_flow for line in r.getMessage().split("\n"))
        entry = next(e for e in addon.store.entries.values() if e.finding.rule == "hsts-missing" and e.host == "www.example.com")
        assert entry.count == 3 and len(entry.examples) == 3


async def test_saved_flows_are_audited_too():
    """Flows read with -r are not live; audit mode still judges them."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        flow = html_flow(live=False)
        addon.responseheaders(flow)
        assert "hsts-missing" in rule_ids(flow)


async def test_filter_option_selects_flows():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        tctx.configure(addon, headeraudit_filter="~d audited.example.com")
        skipped, audited = html_flow(), html_flow(host="audited.example.com")
        addon.responseheaders(skipped)
        addon.responseheaders(audited)
        assert not rule_ids(skipped) and rule_ids(audited)


async def test_min_severity_drops_lower_findings():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        tctx.configure(addon, headeraudit_min_severity="MEDIUM")
        flow = html_flow()
        addon.responseheaders(flow)
        assert "hsts-missing" in rule_ids(flow) and "xcto-missing" not in rule_ids(flow)


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("headeraudit_mode", "loud", "must be one of audit, fix"),
        ("headeraudit_csp_preview", "enforce-later", r"one of \(empty\), report-only"),
        ("headeraudit_min_severity", "urgent", "unknown severity"),
        ("headeraudit_filter", "~zz", "headeraudit_filter"),
        ("headeraudit_report", ["report.pdf"], r"unsupported report format .\.pdf.*supported: \.json, \.html, \.sarif, \.xml, \.md"),
        ("headeraudit_report", ["/nonexistent-dir/report.json"], "not a writable directory"),
        ("headeraudit_rules", "/nonexistent/rules.yaml", "cannot read rules file"),
    ],
)
async def test_bad_option_values_are_refused_in_configure(option, value, message):
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        with pytest.raises(exceptions.OptionsError, match=message):
            tctx.configure(addon, **{option: value})


async def test_enumerated_options_declare_their_choices_for_options_and_the_uis():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        declared = {name: tctx.options._options[name].choices for name in (
            "headeraudit_mode", "headeraudit_csp_preview", "headeraudit_min_severity", "headeraudit_fail_on",
            "headeraudit_min_grade")}
    assert declared["headeraudit_mode"] == ("audit", "fix")
    assert declared["headeraudit_csp_preview"] == ("", "report-only")
    assert declared["headeraudit_min_severity"] == ("info", "low", "medium", "high", "critical")
    assert declared["headeraudit_fail_on"][0] == "" and declared["headeraudit_min_grade"][:3] == ("", "A+", "A")


async def test_rules_option_error_names_file_line_and_rule(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: broken\n    header: X\n    severity: low\n    message: m\n    check: {matches: '('}\n")
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        with pytest.raises(exceptions.OptionsError) as info:
            tctx.configure(addon, headeraudit_rules=str(path))
        assert f"{path}:6" in str(info.value) and "'broken'" in str(info.value)


def _rules_file(tmp_path, header="X-Required-One"):
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(f"""\
        rules:
          - id: custom-required
            header: {header}
            severity: high
            message: must be there
            check: {{present: true}}
        """))
    return path


async def test_reload_keeps_previous_rules_when_the_file_breaks(tmp_path, caplog):
    path = _rules_file(tmp_path)
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        tctx.configure(addon, headeraudit_rules=str(path))
        path.write_text("rules: [\n")
        with pytest.raises(exceptions.CommandError, match="rules not reloaded"):
            addon.reload_command()
        assert any("previous rules stay active" in r.getMessage() for r in caplog.records)
        flow = html_flow()
        addon.responseheaders(flow)
        assert rule_ids(flow) == {"custom-required"}
        _rules_file(tmp_path, header="X-Required-Two")
        addon.reload_command()
        flow = html_flow()
        addon.responseheaders(flow)
        assert flow.metadata["headeraudit"]["findings"][0]["header"] == "X-Required-Two"


async def test_watcher_picks_up_edits(tmp_path):
    import asyncio

    path = _rules_file(tmp_path)
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        tctx.configure(addon, headeraudit_rules=str(path))
        addon.running()
        try:
            _rules_file(tmp_path, header="X-Edited")
            os.utime(path, ns=(1, 1))  # a distinct mtime even on coarse clocks
            for _ in range(40):
                await asyncio.sleep(0.1)
                if addon.ruleset.rules[0].headers == ("X-Edited",):
                    break
            assert addon.ruleset.rules[0].headers == ("X-Edited",)
        finally:
            addon.done()


async def test_internal_error_is_contained_and_logged_once(caplog):
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        def boom(response):
            raise RuntimeError("engine exploded")

        addon.auditor.assess = boom
        flows = [html_flow(), html_flow()]
        for flow in flows:
            before = flow.response.headers.fields
            addon.responseheaders(flow)
            assert flow.response.headers.fields == before and "headeraudit" not in flow.metadata
        assert len([r for r in caplog.records if "engine exploded" in r.getMessage()]) == 1


async def test_report_command_and_done_write_json(tmp_path):
    addon = HeaderAudit()
    target = tmp_path / "out.json"
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        tctx.configure(addon, headeraudit_report=[str(target)])
        addon.responseheaders(html_flow())
        addon.responseheaders(html_flow(path="/two"))
        assert "report written" in addon.report_command(str(tmp_path / "now.json"))
        now = json.loads((tmp_path / "now.json").read_text())
        jsonschema.validate(now, REPORT_SCHEMA, format_checker=jsonschema.FormatChecker())
        assert now["schema"] == "headeraudit-report/1" and now["summary"]["flows_audited"] == 2
        hsts = next(f for f in now["findings"] if f["rule"] == "hsts-missing")
        assert hsts["count"] == 2 and hsts["host"] == "www.example.com" and len(hsts["examples"]) == 2
        addon.done()
        assert json.loads(target.read_text())["summary"]["flows_audited"] == 2


async def test_report_write_failure_is_a_command_error_and_keeps_what_was_there(tmp_path, caplog):
    """A path in a missing folder is refused up front; a write that fails names the path and
    leaves what was at it (tests/e2e/test_e2e_faults.py: a full disk and a read-only mount,
    the previous report byte for byte)."""
    addon = HeaderAudit()
    target = tmp_path / "r.json"
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        with pytest.raises(exceptions.CommandError, match="not a writable directory"):
            addon.report_command(str(tmp_path / "missing-dir" / "r.json"))
        target.write_text("previous")
        os.chmod(tmp_path, 0o500)
        try:
            as_root = os.access(tmp_path, os.W_OK)
            if as_root:  # root ignores permissions: a folder at the path makes the write itself fail
                os.chmod(tmp_path, 0o700)
                target.unlink()
                target.mkdir()
            with pytest.raises(exceptions.CommandError, match=f"could not be written.*{target}"):
                addon.report_command(str(target))
            assert any("could not write report" in r.getMessage() for r in caplog.records)
            assert target.is_dir() if as_root else target.read_text() == "previous"
            assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left
        finally:
            os.chmod(tmp_path, 0o700)


async def test_clear_and_findings_commands():
    addon = HeaderAudit()
    with taddons.context(view.View(), addon) as tctx:
        tctx.configure(addon)
        addon.responseheaders(html_flow())
        text = tctx.command(addon.findings_command)
        assert "[MEDIUM] www.example.com hsts-missing" in text
        tctx.command(addon.clear_command)
        assert "no findings" in tctx.command(addon.findings_command)
        assert tctx.master.commands.execute("headeraudit.findings") == tctx.command(addon.findings_command)


async def test_hostile_header_bytes_do_not_break_the_flow(tmp_path):
    """Undecodable bytes and terminal escapes end up escaped in evidence, log, report and flow file."""
    from mitmproxy import io

    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        flow = html_flow([(b"content-security-policy", b"\xff\xfe script-src \x00"), (b"set-cookie", b"\xc3\x28=\xa0"),
                          (b"server", b"Apache/2.4.1 \xff\x1b[31mred")])
        addon.responseheaders(flow)
        assert "csp-invalid" in rule_ids(flow)
        server = next(f for f in flow.metadata["headeraudit"]["findings"] if f["rule"] == "server-version-disclosure")
        assert server["evidence"] == "Apache/2.4.1 \\udcff\\x1b[31mred"
        addon.report_command(str(tmp_path / "r.json"))
        assert "\\udcff" in (tmp_path / "r.json").read_text(encoding="utf-8")
        with open(tmp_path / "f.mitm", "wb") as fh:
            io.FlowWriter(fh).add(flow)
        with open(tmp_path / "f.mitm", "rb") as fh:
            (loaded,) = list(io.FlowReader(fh).stream())
        assert loaded.comment == flow.comment


async def test_reverse_mode_judges_the_client_side_scheme():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        from mitmproxy.proxy.mode_specs import ProxyMode

        flow = html_flow(scheme="https")  # upstream is https ...
        flow.client_conn.proxy_mode = ProxyMode.parse("reverse:https://127.0.0.1:1")
        flow.client_conn.timestamp_tls_setup = None  # ... but the browser spoke plain http to the proxy
        addon.responseheaders(flow)
        assert "hsts-missing" not in rule_ids(flow)
        # Which mode classes are reverse ones is remembered per class: a regular-mode flow after
        # it still takes the request's scheme, and the reverse one still the client side's.
        regular = html_flow(scheme="https")
        regular.client_conn.proxy_mode = ProxyMode.parse("regular")
        addon.responseheaders(regular)
        assert "hsts-missing" in rule_ids(regular)
        again = html_flow(scheme="https")
        again.client_conn.proxy_mode = ProxyMode.parse("reverse:https://127.0.0.1:2")
        again.client_conn.timestamp_tls_setup = None
        addon.responseheaders(again)
        assert "hsts-missing" not in rule_ids(again)


async def test_script_file_loads_the_addon(tmp_path):
    addon_path = os.path.join(os.path.dirname(__file__), "..", "addon", "headeraudit_addon.py")
    with taddons.context() as tctx:
        module = tctx.script(addon_path)
        assert isinstance(module.addons[0], HeaderAudit)


# ---------------------------------------------------------------- fix mode


def fixed_headers(flow):
    return {k.lower(): v for k, v in flow.response.headers.items(multi=True)}


async def test_fix_mode_rewrites_live_responses_and_records_what_changed(tmp_path):
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_mode="fix", headeraudit_report=[str(tmp_path / "r.json")])
        flow = html_flow([(b"x-powered-by", b"PHP/8.1"), (b"set-cookie", b"sessionid=s3cr3t; Path=/")])
        original = flow.response.headers.fields
        addon.responseheaders(flow)
        headers = fixed_headers(flow)
        assert headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
        assert "x-powered-by" not in headers and headers["x-frame-options"] == "DENY"
        assert headers["set-cookie"] == "sessionid=s3cr3t; Path=/; Secure; HttpOnly; SameSite=Lax"
        fix = flow.metadata["headeraudit_fix"]
        assert fix["applied"] is True and fix["findings_after"] == []
        assert fix["original_headers"] == original  # the lines as received, raw
        assert flow.comment.splitlines()[-1].startswith("headeraudit fixed: ") and "-X-Powered-By" in flow.comment
        assert "+Strict-Transport-Security" in flow.comment
        addon.done()
        report = json.loads((tmp_path / "r.json").read_text())
        jsonschema.validate(report, REPORT_SCHEMA)
        assert {"host": "www.example.com", "edit": "-X-Powered-By", "rule": "tech-disclosure", "applied": True, "flows": 1} in report["fixes"]


async def test_fix_mode_never_changes_saved_flows_but_reports_what_it_would_do():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_mode="fix")
        flow = html_flow(live=False)
        before = flow.response.headers.fields
        addon.responseheaders(flow)
        assert flow.response.headers.fields == before
        assert flow.metadata["headeraudit_fix"]["applied"] is False
        assert "headeraudit would fix: " in flow.comment


async def test_audit_mode_never_changes_responses():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        flow = html_flow([(b"x-powered-by", b"PHP/8.1")])
        before = flow.response.headers.fields
        addon.responseheaders(flow)
        assert flow.response.headers.fields == before and "headeraudit_fix" not in flow.metadata


async def test_flows_outside_the_filter_are_never_modified():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_mode="fix", headeraudit_filter="~d only.example.com")
        flow = html_flow()
        before = flow.response.headers.fields
        addon.responseheaders(flow)
        assert flow.response.headers.fields == before


async def test_fix_opt_in_applies_cross_origin_isolation_fixes():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_mode="fix")
        flow = html_flow([(b"cross-origin-opener-policy", b"bogus")])
        addon.responseheaders(flow)
        assert fixed_headers(flow)["cross-origin-opener-policy"] == "bogus"
        tctx.configure(addon, headeraudit_fix_opt_in=True)
        flow = html_flow([(b"cross-origin-opener-policy", b"bogus")])
        addon.responseheaders(flow)
        assert fixed_headers(flow)["cross-origin-opener-policy"] == "same-origin"


async def test_csp_preview_sends_report_only_and_keeps_the_enforced_policy():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_mode="fix", headeraudit_csp_preview="report-only")
        flow = html_flow()
        addon.responseheaders(flow)
        headers = fixed_headers(flow)
        assert "content-security-policy" not in headers
        assert headers["content-security-policy-report-only"].endswith("; report-uri /.well-known/headeraudit/csp-report; report-to headeraudit")
        assert headers["reporting-endpoints"] == 'headeraudit="/.well-known/headeraudit/csp-report"'
        loose = html_flow([(b"content-security-policy", b"script-src 'self' 'unsafe-inline'")])
        addon.responseheaders(loose)
        assert fixed_headers(loose)["content-security-policy"] == "script-src 'self' 'unsafe-inline'"
        plain = html_flow(scheme="http")
        addon.responseheaders(plain)
        headers = fixed_headers(plain)  # Chromium: no Reporting-Endpoints over http, and report-to would mute report-uri
        assert headers["content-security-policy-report-only"].endswith("; report-uri /.well-known/headeraudit/csp-report")
        assert "reporting-endpoints" not in headers


CSP_REPORT = json.dumps({"csp-report": {
    "document-uri": "https://www.example.com/", "violated-directive": "script-src-elem", "effective-directive": "script-src-elem",
    "blocked-uri": "inline", "script-sample": "alert(1)", "disposition": "report"}}).encode()
REPORTING_API = json.dumps([{"type": "csp-violation", "url": "https://www.example.com/p", "body": {
    "documentURL": "https://www.example.com/p", "effectiveDirective": "img-src", "blockedURL": "http://evil.example/x.png",
    "disposition": "report", "sample": ""}}]).encode()


def send_request(tctx, addon, flow):
    """Dispatch the request hook as mitmproxy does."""
    tctx.master.addons.invoke_addon_sync(addon, HttpRequestHook(flow))


def report_flow(body, content_type):
    req = treq(method=b"POST", scheme=b"https", host="www.example.com", port=443, path=b"/.well-known/headeraudit/csp-report",
               headers=http.Headers([(b"host", b"www.example.com"), (b"content-type", content_type)]), content=body)
    return tflow.tflow(req=req, resp=False)


@pytest.mark.parametrize("body, content_type, directive", [
    (CSP_REPORT, b"application/csp-report", "script-src-elem"),
    (REPORTING_API, b"application/reports+json", "img-src"),
])
async def test_csp_reports_are_answered_by_the_addon_and_recorded(caplog, tmp_path, body, content_type, directive):
    caplog.set_level(logging.INFO)
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_mode="fix", headeraudit_csp_preview="report-only")
        flow = report_flow(body, content_type)
        send_request(tctx, addon, flow)
        assert flow.response is not None and flow.response.status_code == 204  # never sent upstream
        addon.responseheaders(flow)
        assert "headeraudit" not in flow.metadata and "headeraudit_fix" not in flow.metadata  # not audited itself
        send_request(tctx, addon, report_flow(body, content_type))
        (report,) = addon.store.csp_reports.values()
        assert report.directive == directive and report.count == 2
        assert len([r for r in caplog.records if "headeraudit CSP report" in r.getMessage()]) == 1
        addon.report_command(str(tmp_path / "r.json"))
        data = json.loads((tmp_path / "r.json").read_text())
        jsonschema.validate(data, REPORT_SCHEMA)
        assert data["csp_reports"][0]["directive"] == directive


async def test_report_endpoint_is_only_taken_over_in_csp_preview():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_mode="fix")
        flow = report_flow(CSP_REPORT, b"application/csp-report")
        send_request(tctx, addon, flow)
        assert flow.response is None


async def test_malformed_csp_reports_are_ignored():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_mode="fix", headeraudit_csp_preview="report-only")
        for body in (b"", b"{", b"[1,2]", b'{"csp-report": 5}', b"\xff" * 10, b"[" * 100_000):
            flow = report_flow(body, b"application/csp-report")
            send_request(tctx, addon, flow)
            assert flow.response.status_code == 204
        assert not addon.store.csp_reports


async def test_misspelt_option_is_warned_about(caplog):
    """mitmproxy ignores unknown --set names silently; ours are checked in running()."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        tctx.options.deferred["headeraudit_mod"] = "fix"
        addon.running()
        try:
            assert any("unknown option 'headeraudit_mod'" in r.getMessage() for r in caplog.records)
        finally:
            addon.done()


async def test_proxy_endpoints_exist_only_while_the_report_page_or_csp_preview_needs_them():
    """mitmproxy walks into an addon's `addons` attribute on every event: we never have one;
    the request hook hands over to the endpoints only while one of them is on."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_report_page=False)
        assert not hasattr(addon, "addons") and addon.endpoints is None
        tctx.configure(addon, headeraudit_mode="fix", headeraudit_csp_preview="report-only")
        assert addon.endpoints.csp_reports and not addon.endpoints.report_page
        tctx.configure(addon, headeraudit_mode="audit")
        assert addon.endpoints is None
        tctx.configure(addon, headeraudit_report_page=True)
        assert addon.endpoints.report_page and not addon.endpoints.csp_reports
        assert not hasattr(addon, "addons")


# ---------------------------------------------------------------- live report page, gate options

def report_page_flow(path="/", method="GET", host="headeraudit.proxy"):
    req = treq(scheme=b"http", host=host, port=80, path=path.encode(), method=method.encode(),
               headers=http.Headers([(b"host", host.encode())]))
    return tflow.tflow(req=req, resp=False, live=True)


async def test_report_page_is_answered_by_the_proxy_and_not_audited():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        audited = html_flow()
        addon.responseheaders(audited)
        endpoints = addon
        flow = report_page_flow("/report.json")
        endpoints.request(flow)
        assert flow.response.status_code == 200 and flow.response.headers["content-type"] == "application/json"
        assert "default-src 'none'" in flow.response.headers["content-security-policy"]
        report = json.loads(flow.response.content)
        assert report["summary"]["flows_audited"] == 1 and report["findings"]
        addon.responseheaders(flow)  # our own answer is never audited
        assert "headeraudit" not in flow.metadata and addon.store.flows_audited == 1
        page = report_page_flow("/")
        endpoints.request(page)
        assert page.response.headers["content-type"].startswith("text/html")
        assert b'http-equiv="refresh"' in page.response.content
        for path, method, status in (("/nope", "GET", 404), ("/", "POST", 405)):
            other = report_page_flow(path, method)
            endpoints.request(other)
            assert other.response.status_code == status
        elsewhere = report_page_flow("/", host="www.example.com")
        endpoints.request(elsewhere)
        assert elsewhere.response is None  # any other host goes upstream as usual


async def test_report_page_can_be_switched_off():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_report_page=False)
        flow = report_page_flow("/")
        tctx.master.addons.invoke_addon_sync(addon, HttpRequestHook(flow))  # dispatched as mitmproxy does
        assert flow.response is None  # forwarded upstream like any other request
        assert addon.request is None  # and no request hook is left to run


@pytest.mark.parametrize(("option", "value", "message"), [
    ("headeraudit_fail_on", "severe", "unknown severity"),
    ("headeraudit_min_grade", "E", "unknown grade"),
])
async def test_gate_options_are_validated_in_configure(option, value, message):
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        with pytest.raises(exceptions.OptionsError, match=message):
            tctx.configure(addon, **{option: value})


@pytest.mark.parametrize(("option", "value", "message"), [
    ("headeraudit_mode", "loud", "headeraudit_mode: must be one of audit, fix, not 'loud'"),
    ("headeraudit_rules", "/nonexistent/rules.yaml", "headeraudit_rules: /nonexistent/rules.yaml: cannot read rules file"),
])
async def test_a_start_up_error_is_one_error_line_and_leaves_the_addon_unconfigured(option, value, message, caplog):
    """Raised at start-up, mitmproxy would print the error as a traceback; an error logged at
    start-up stops mitmproxy just the same (its ErrorCheck), so one line says it. The
    traceback is logged at debug level, for --set termlog_verbosity=debug."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        with caplog.at_level(logging.DEBUG, logger="headeraudit"):
            tctx.options.update(**{option: value})  # as --set does: the addon configures
            addon.configure(set(tctx.options.keys()))
            addon.configure(set(tctx.options.keys()))  # again, as the headeraudit command does: said once
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, [r.getMessage() for r in errors]
        assert errors[0].getMessage().startswith(f"headeraudit: cannot start: {message}") and "\n" not in errors[0].getMessage()
        assert errors[0].exc_info is None
        assert [r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info]
        assert addon.settings is None and addon.memo is None
        flow = html_flow()
        addon.responseheaders(flow)  # unconfigured: nothing audited, nothing raised
        assert "headeraudit" not in flow.metadata


async def test_fix_mode_flow_with_non_utf8_header_bytes_can_still_be_saved():
    """RFC 9110 §5.5 lets field values carry obs-text (bytes above 0x7F), not necessarily UTF-8.
    mitmproxy's flow files (tnetstring) refuse the lone surrogates such bytes become as text:
    the original lines stay raw bytes, and a rewritten cookie's value is shown escaped."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_mode="fix")
        flow = html_flow([(b"x-powered-by", b"caf\xe9"), (b"set-cookie", b"s\xe9=1; Path=/"), (b"server", b"nginx/1.2 \xfe")])
        original = flow.response.headers.fields
        addon.responseheaders(flow)
        fix = flow.metadata["headeraudit_fix"]
        assert fix["original_headers"] == original
        cookie_edit = next(e for e in fix["edits"] if e["action"] == "cookie")
        # Escaped as evidence is; the cookie's value is never kept (canonical.py), only sent.
        assert cookie_edit["value"] == "s\\udce9=; Path=/; Secure; SameSite=Lax"
        sent = [v for n, v in flow.response.headers.fields if n.lower() == b"set-cookie"]
        assert sent == [b"s\xe9=1; Path=/; Secure; SameSite=Lax"]  # the server's bytes, re-sent as they came
        state = tnetstring.loads(tnetstring.dumps(flow.get_state()))
        assert state["metadata"]["headeraudit_fix"]["original_headers"] == [list(line) for line in original]
        assert "~Set-Cookie s\\udce9 " in flow.comment


async def test_fix_mode_rewrites_each_flow_from_a_shared_plan_keeping_its_own_lines():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_mode="fix")
        flows = [html_flow([(b"date", f"Mon, 23 Nov 2026 10:00:0{i} GMT".encode()), (b"x-powered-by", b"PHP/8")]) for i in range(3)]
        for flow in flows:
            addon.responseheaders(flow)
        for i, flow in enumerate(flows):
            assert flow.response.headers["date"] == f"Mon, 23 Nov 2026 10:00:0{i} GMT"
            assert "x-powered-by" not in flow.response.headers and "content-security-policy" in flow.response.headers
            record = flow.metadata["headeraudit_fix"]
            assert (b"date", f"Mon, 23 Nov 2026 10:00:0{i} GMT".encode()) in record["original_headers"]
            assert record["edits"] == flows[0].metadata["headeraudit_fix"]["edits"] and record["findings_after"] == []
        assert {e["edit"]: e["flows"] for e in addon.build_report()["fixes"]}["-X-Powered-By"] == 3


def test_the_script_module_answers_every_event_lookup_and_only_the_addon_handles_events():
    """mitmproxy looks up every event name on the script module for every event of every flow;
    a missing module attribute costs a formatted AttributeError each time (settle_hook_lookups)."""
    from mitmproxy import hooks
    from mitmproxy.addonmanager import AddonManager
    from mitmproxy.addons.script import load_script

    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "addon", "headeraudit_addon.py")
    ns = load_script(path)
    assert ns is not None
    names = [n for n in hooks.all_hooks if n != "add_log"]
    assert "responseheaders" in names and "update" in names
    assert [n for n in names if n not in vars(ns)] == []
    assert not hasattr(ns, "add_log"), "mitmproxy would warn that add_log is deprecated"
    (addon,) = ns.addons
    assert isinstance(addon, HeaderAudit)
    # Walking the module as mitmproxy does finds the addon's own hooks and nothing on the module.
    manager = AddonManager.__new__(AddonManager)
    flow = tflow.tflow(resp=True)
    found = [(type(a).__name__, f.__name__) for a, f in manager._iter_hooks(ns, HttpRequestHook(flow))]
    assert found == [("HeaderAudit", "request")]
    assert [f for _, f in manager._iter_hooks(ns, hooks.UpdateHook([flow]))] == []


async def test_the_memo_keeps_one_outcome_per_judged_lines_and_never_one_that_needs_the_request(tmp_path):
    """The memo's key is the lines an outcome depends on, in the form they are judged: lines no
    rule reads may differ, and so may a nonce's or a cookie's value; any other judged byte, the
    scheme or the status may not; a credentialed CORS answer is judged every time."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        calls = []
        assess = addon.auditor.assess
        addon.auditor.assess = lambda response: calls.append(response) or assess(response)

        def audit(*headers, **kw):
            flow = html_flow(headers, **kw)
            addon.responseheaders(flow)
            return flow

        first = audit((b"date", b"Mon, 23 Nov 2026 10:00:00 GMT"), (b"x-powered-by", b"PHP/8.1"))
        again = audit((b"date", b"Mon, 23 Nov 2026 10:00:01 GMT"), (b"etag", b'"2"'), (b"x-powered-by", b"PHP/8.1"))
        assert len(calls) == 1, "only Date and ETag differ, which no rule reads"
        assert again.metadata["headeraudit"] == first.metadata["headeraudit"]
        assert addon.store.entries and max(e.count for e in addon.store.entries.values()) == 2
        audit((b"X-Powered-By", b"PHP/8.1"))  # the same header spelt otherwise: names are case-insensitive
        assert len(calls) == 1

        audit((b"x-powered-by", b"PHP/8.2"))  # a judged value differs
        audit((b"x-powered-by", b"PHP/8.1"), scheme="http")  # the scheme is in the key
        audit((b"x-powered-by", b"PHP/8.1"), status=404)  # so is the status
        assert len(calls) == 4

        for nonce, session in ((b"AbCd1234EfGh", b"s1"), (b"ZzYy9876XxWw", b"s2")):  # fresh on every response
            audit((b"content-security-policy", b"script-src 'nonce-" + nonce + b"'; object-src 'none'"),
                  (b"set-cookie", b"sid=" + session + b"; Secure; HttpOnly"))
        assert len(calls) == 5
        for _ in range(2):  # a public or uncredentialed CORS answer does not depend on the request
            audit((b"access-control-allow-origin", b"*"))
        assert len(calls) == 6
        for _ in range(2):  # a credentialed CORS answer is compared with the request's Origin every time
            audit((b"access-control-allow-origin", b"https://a.example"), (b"access-control-allow-credentials", b"true"),
                  request_headers=[(b"origin", b"https://a.example")])
        assert len(calls) == 8

        # A reload brings a new auditor and memo: its outcomes, not the old memo's.
        rules = tmp_path / "rules.yaml"
        rules.write_text("extends: default\ndisable: [tech-disclosure]\n")
        tctx.configure(addon, headeraudit_rules=str(rules))
        assert "tech-disclosure" not in rule_ids(audit((b"x-powered-by", b"PHP/8.1")))


async def test_credentialed_cors_echoes_are_memoised_only_while_judging_would_not_change_the_hosts_memory():
    """Fetch CORS: an answer echoing the request's Origin with credentials is universal access
    once a host has echoed two different Origins (cors-origin-reflected-credentials). Repeats of a
    known Origin are memo hits; a new Origin is judged, and the earlier Origin's next answer is
    judged again with the host's new memory (not the Outcome kept before it)."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)

        def echo(origin, host="api.example"):
            flow = html_flow([(b"access-control-allow-origin", origin.encode()), (b"access-control-allow-credentials", b"true")],
                             host=host, request_headers=[(b"origin", origin.encode())])
            addon.responseheaders(flow)
            return "cors-origin-reflected-credentials" in rule_ids(flow)

        assert [echo("https://a.example") for _ in range(4)] == [False] * 4
        hits = addon.memo.hits
        assert hits == 2  # the first one judged, the second kept with the host's memory, then hits
        assert echo("https://b.example") is True  # a second Origin: judged, and now universal
        assert addon.memo.hits == hits
        assert echo("https://a.example") is True  # not the Outcome kept while the host had one Origin
        assert [echo("https://c.example") for _ in range(3)] == [True] * 3
        assert echo("https://a.example", host="other.example") is False  # each host its own memory
        # no echo (a fixed allow-listed Origin, another request Origin): one Outcome, memoised
        plain = [html_flow([(b"access-control-allow-origin", b"https://partner.example"),
                            (b"access-control-allow-credentials", b"true")],
                           request_headers=[(b"origin", f"https://o{i}.example".encode())]) for i in range(3)]
        before = addon.memo.hits
        for flow in plain:
            addon.responseheaders(flow)
        assert addon.memo.hits == before + 2


@pytest.mark.parametrize("host, port, scheme, expected", [
    ("example.com", 443, "https", "example.com"),  # the default port is not named
    ("example.com", 80, "http", "example.com"),  # so http:// and https:// answers of one name are one site
    ("127.0.0.1", 8080, "http", "127.0.0.1:8080"),
    ("127.0.0.1", 8443, "https", "127.0.0.1:8443"),
    ("example.com", 443, "http", "example.com:443"),  # 443 is https's default, not http's
    ("::1", 8080, "http", "[::1]:8080"),  # an IPv6 address keeps its brackets, as in a URL
])
def test_site_names_the_port_only_when_it_is_not_the_schemes_default(host, port, scheme, expected):
    from headeraudit.mitm.flows import site
    assert site(host, port, scheme) == expected


def site_flow(authority, scheme="http"):
    host, _, port = authority.rpartition(":") if authority.count(":") == 1 else (authority, "", "")
    flow = html_flow(scheme=scheme, host=host or authority)
    flow.request.headers["host"] = authority
    if port:
        flow.request.port = int(port)
    return flow


async def test_servers_on_two_ports_of_one_host_are_graded_apart_and_http_https_together():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        secure = site_flow("127.0.0.1:8443", "https")
        secure.response.headers["strict-transport-security"] = "max-age=31536000"
        for flow in (site_flow("127.0.0.1:8080"), secure, site_flow("example.com"), site_flow("example.com", "https")):
            addon.responseheaders(flow)
        report = addon.build_report()
    hosts = {h["host"]: h for h in report["grades"]["hosts"]}
    assert set(hosts) == {"127.0.0.1:8080", "127.0.0.1:8443", "example.com"}
    assert hosts["127.0.0.1:8443"]["score"] > hosts["127.0.0.1:8080"]["score"]  # HSTS on one port is not the other's
    assert {e["host"] for e in report["findings"]} == set(hosts)
    assert {h["host"]: h["flows"] for h in report["hosts"]} == {"127.0.0.1:8080": 1, "127.0.0.1:8443": 1, "example.com": 2}
