"""CSP learning in the mitmproxy adapter (mitm/learning.py and the addon's hooks and commands),
driven by mitmproxy.test.taddons/tflow. Async for the reason test_addon.py gives."""

from __future__ import annotations

import gzip
import json
import logging

import brotli  # type: ignore[import-untyped]
import pytest
import zstandard
from mitmproxy import exceptions, http
from mitmproxy.test import taddons, tflow
from mitmproxy.test.tutils import treq, tresp

from headeraudit.mitm import HeaderAudit
from headeraudit.mitm.learning import LEARNING_REPORT_PATH, document_text
from headeraudit.mitm.settings import CSP_REPORT_PATH

PAGE = b"<!doctype html><script>start()</script><img src=/i.png>"


def exchange(url_host="site.example", path="/", *, content_type=b"text/html", body=PAGE, request_headers=(), live=True,
             method=b"GET", scheme="https", response_headers=()):
    resp = tresp(status_code=200, headers=http.Headers([(b"content-type", content_type), *response_headers]), content=body)
    req = treq(scheme=scheme.encode(), host=url_host, port=443 if scheme == "https" else 80, path=path.encode(), method=method,
               headers=http.Headers([(b"host", url_host.encode()), *request_headers]))
    return tflow.tflow(req=req, resp=resp, live=live)


def through(addon: HeaderAudit, flow) -> None:
    """The hooks mitmproxy calls for a response, in order."""
    addon.responseheaders(flow)
    if addon.response is not None:  # off unless learning
        addon.response(flow)


def report_only(flow) -> list[str]:
    return flow.response.headers.get_all("content-security-policy-report-only")


async def test_a_learned_document_gets_the_deny_all_report_only_policy_and_nothing_else_does():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_csp_learn=["site.example"])
        page = exchange(response_headers=[(b"content-security-policy-report-only", b"default-src 'self'")])
        through(addon, page)
        policies = report_only(page)
        assert policies[0] == "default-src 'self'", "the site's own report-only policy stays"
        assert policies[1].startswith("default-src 'none'; script-src 'report-sample'; style-src 'report-sample'")
        assert f"report-uri {LEARNING_REPORT_PATH}" in policies[1] and "report-to headeraudit-learning" in policies[1]
        assert page.response.headers["reporting-endpoints"] == f'headeraudit-learning="{LEARNING_REPORT_PATH}"'
        for other in (exchange("other.example"), exchange(path="/app.js", content_type=b"text/javascript"),
                      exchange(live=False)):
            through(addon, other)
            assert report_only(other) == [], other
        plain = exchange(scheme="http")
        through(addon, plain)
        assert "report-to" not in report_only(plain)[0] and "reporting-endpoints" not in plain.response.headers


async def test_learning_reads_documents_and_attributes_requests():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_csp_learn=["site.example"])
        through(addon, exchange())
        through(addon, exchange("cdn.example", "/lib.js", content_type=b"text/javascript", body=b"",
                                request_headers=[(b"sec-fetch-dest", b"script"), (b"referer", b"https://site.example/")]))
        (proposal,) = addon.csp_proposals()
        assert "script-src https://cdn.example 'sha256-" in proposal.policy
        assert "img-src 'self'" in proposal.policy
        assert proposal.documents == 1 and proposal.bodies == 1 and proposal.requests == 1


async def test_bodies_are_not_read_when_not_learning():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        assert addon.response is None  # the hook is off: mitmproxy skips it
        flow = exchange()
        addon.responseheaders(flow)
        assert report_only(flow) == [] and addon.learner.hosts == {}


@pytest.mark.parametrize("coding, encode", [
    ("gzip", gzip.compress), ("br", brotli.compress), ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
    ("identity", lambda b: b),
])
def test_document_text_is_decoded_as_mitmproxy_decodes_it_and_bounded(coding, encode):
    body = "<p>caf\u00e9</p>".encode("latin-1")
    flow = exchange(body=b"", content_type=b"text/html; charset=latin-1",
                    response_headers=[(b"content-encoding", coding.encode())])
    flow.response.raw_content = encode(body)
    assert document_text(flow.response) == "<p>caf\u00e9</p>"
    flow.response.raw_content = encode(b"x" * 100_000)
    assert document_text(flow.response, limit=1000) == "x" * 1000  # a bomb is inflated only so far
    flow.response.raw_content = b"not compressed at all" if coding != "identity" else None
    assert document_text(flow.response) is None


async def test_reports_on_the_learning_path_teach_the_learner_and_are_not_counted():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_csp_learn=["site.example"])
        assert addon.endpoints is not None and addon.endpoints.csp_reports  # answered while learning
        body = json.dumps({"csp-report": {"document-uri": "https://site.example/", "effective-directive": "connect-src",
                                          "blocked-uri": "https://api.example/v1", "disposition": "report"}}).encode()
        for path in (LEARNING_REPORT_PATH, CSP_REPORT_PATH):
            flow = tflow.tflow(req=treq(method=b"POST", host="site.example", path=path.encode(), content=body,
                                        headers=http.Headers([(b"host", b"site.example"), (b"content-type", b"application/csp-report")])))
            addon.request(flow)
            assert flow.response is not None and flow.response.status_code == 204
        assert len(addon.store.csp_reports) == 1, "only the plain path's report is counted"
        (proposal,) = addon.csp_proposals()
        assert "connect-src https://api.example" in proposal.policy and proposal.reports == 2


async def test_start_stop_reset_and_proposal_commands(caplog):
    caplog.set_level(logging.INFO)
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        with pytest.raises(exceptions.CommandError, match="give the hosts"):
            addon.csp_learn_start_command()
        with pytest.raises(exceptions.CommandError, match="no CSP learned"):
            addon.csp_proposal_command()
        assert addon.csp_learn_start_command("Site.Example") == "learning the CSP of site.example"
        assert tctx.options.headeraudit_csp_learn == ["site.example"] and addon.response is not None
        through(addon, exchange())
        text = addon.csp_proposal_command("site.example")
        assert "Content-Security-Policy: default-src 'none'; script-src 'sha256-" in text
        assert "override:" in text and '"site.example":' in text
        assert addon.csp_learn_stop_command().startswith("learning stopped; proposals kept for 1")
        assert tctx.options.headeraudit_csp_learn == [] and addon.response is None
        assert addon.csp_learn_start_command() == "learning the CSP of site.example"  # the last hosts again
        with pytest.raises(exceptions.CommandError, match="not a host glob"):
            addon.csp_learn_start_command("https://site.example/")
        assert addon.csp_learn_reset_command() == "forgot what was learned of 1 host(s)"
        assert addon.learner.hosts == {}


@pytest.mark.parametrize("value", ["https://site.example", "site.example:443", "site.example/path", ".example"])
async def test_a_bad_learning_glob_is_refused_in_configure(value):
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        with pytest.raises(exceptions.OptionsError, match="headeraudit_csp_learn: .*not a host glob"):
            tctx.configure(addon, headeraudit_csp_learn=[value])
        assert addon.settings.csp_learn == ()


async def test_the_report_holds_the_proposals_and_a_yaml_report_is_the_rules_file(tmp_path):
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_csp_learn=["site.example"])
        through(addon, exchange())
        report = addon.build_report()
        (entry,) = report["csp_proposals"]["hosts"]
        assert entry["host"] == "site.example" and entry["strict"]["policy"]
        path = tmp_path / "csp.yaml"
        assert addon.write_reports([str(path)]) == [str(path)]
        assert path.read_text() == report["csp_proposals"]["rules_snippet"]
        tctx.configure(addon, headeraudit_rules=str(path), headeraudit_mode="fix", headeraudit_csp_learn=[])
        assert addon.endpoints is not None and addon.endpoints.csp_reports, "the proposal reports to the proxy"
        flow = exchange()
        addon.responseheaders(flow)
        assert flow.response.headers["content-security-policy"] == f"{entry['strict']['policy']}; report-uri {CSP_REPORT_PATH}"


async def test_the_started_line_says_what_is_learned():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_csp_learn=["shop.example", "*.shop.example"])
        assert "learning the CSP of shop.example, *.shop.example" in addon.started_line()


async def test_an_error_while_learning_is_contained(caplog, monkeypatch):
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, headeraudit_csp_learn=["site.example"])

        def broken(*args):
            raise RuntimeError("boom")

        monkeypatch.setattr(addon.learner, "observe", broken)
        flow = exchange()
        through(addon, flow)
        assert flow.response.status_code == 200 and "internal error" in caplog.text and "boom" in caplog.text


async def test_learning_again_with_the_rules_file_of_a_proposal_refines_it(tmp_path):
    """The loop: a run previewing (or enforcing) a learned proposal while learning starts from it."""
    first = HeaderAudit()
    path = tmp_path / "csp.yaml"
    with taddons.context(first) as tctx:
        tctx.configure(first, headeraudit_csp_learn=["site.example"])
        through(first, exchange())
        first.write_reports([str(path)])
        (learned,) = first.csp_proposals()
    again = HeaderAudit()
    with taddons.context(again) as tctx:
        tctx.configure(again, headeraudit_rules=str(path), headeraudit_mode="fix", headeraudit_csp_preview="report-only",
                       headeraudit_csp_learn=["site.example"])
        (seeded,) = again.csp_proposals()
        assert (seeded.policy, seeded.strict) == (learned.policy, learned.strict)
        through(again, exchange("api.example", "/v1", content_type=b"application/json", body=b"{}",
                                request_headers=[(b"sec-fetch-dest", b"empty"), (b"referer", b"https://site.example/")]))
        (refined,) = again.csp_proposals()
        assert "connect-src https://api.example" in refined.policy
