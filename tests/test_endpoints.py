"""The requests the proxy answers itself (endpoints.py), driven by mitmproxy.test.taddons/tflow:
the report page's host, cross-site refusal and rendering cache, and how the CSP report sink
keeps its requests from being streamed upstream (requestheaders) and caps their bodies.

Async tests: see test_addon.py's docstring.
"""

from __future__ import annotations

import json
import logging
from typing import Optional

import pytest
from mitmproxy import http
from mitmproxy.proxy.layers.http import HttpRequestHeadersHook, HttpRequestHook
from mitmproxy.test import taddons, tflow
from mitmproxy.test.tutils import treq, tresp
from mitmproxy.utils import human

from headeraudit.mitm import HeaderAudit, endpoints
from headeraudit.mitm.endpoints import ANSWERED, CSP_REPORT_MAX_BYTES, REPORT_PAGE_HEADERS, declared_body_size
from headeraudit.mitm.settings import CSP_REPORT_PATH

CSP_REPORT = json.dumps({"csp-report": {
    "document-uri": "https://www.example.com/", "violated-directive": "script-src-elem", "effective-directive": "script-src-elem",
    "blocked-uri": "inline", "script-sample": "alert(1)", "disposition": "report"}}).encode()
PREVIEW = {"headeraudit_mode": "fix", "headeraudit_csp_preview": "report-only"}


def audited_flow(host="www.example.com"):
    resp = tresp(headers=http.Headers([(b"content-type", b"text/html")]), content=b"<p>x</p>")
    req = treq(scheme=b"https", host=host, port=443, headers=http.Headers([(b"host", host.encode())]))
    return tflow.tflow(req=req, resp=resp, live=True)


def page_flow(path="/report.json", *, host="headeraudit.proxy", method="GET", headers=(), http_version=b"HTTP/1.1"):
    req = treq(scheme=b"http", host=host, port=80, path=path.encode(), method=method.encode(), http_version=http_version,
               headers=http.Headers([(b"host", host.encode()), *headers]), content=b"")
    return tflow.tflow(req=req, resp=False, live=True)


def csp_flow(body=CSP_REPORT, *, path=CSP_REPORT_PATH, method="POST", length=True, headers=()):
    """A CSP report as its headers arrive: Content-Length declared (`length`: True for the
    body's, an int to declare another), or chunked (`length=False`)."""
    framing = [(b"transfer-encoding", b"chunked")] if length is False else \
        [(b"content-length", str(len(body) if length is True else length).encode())]
    req = treq(method=method.encode(), scheme=b"https", host="www.example.com", port=443, path=path.encode(),
               headers=http.Headers([(b"host", b"www.example.com"), (b"content-type", b"application/csp-report"), *framing, *headers]),
               content=body)
    return tflow.tflow(req=req, resp=False, live=True)


def hook(tctx, addon, flow, event=HttpRequestHook):
    """Dispatch a hook as mitmproxy does (by name, through the addon manager)."""
    tctx.master.addons.invoke_addon_sync(addon, event(flow))


def with_stream_option(tctx):
    """stream_large_bodies belongs to mitmproxy's proxyserver addon, absent from a bare taddons context."""
    tctx.master.options.add_option("stream_large_bodies", Optional[str], None, "as mitmproxy's")


def get(tctx, addon, path="/report.json", **kw):
    flow = page_flow(path, **kw)
    hook(tctx, addon, flow)
    return flow.response


# ---------------------------------------------------------------- the report page: host, cross-site loads


@pytest.mark.parametrize("host", ["headeraudit.proxy", "HeaderAudit.PROXY", "headeraudit.proxy.", "HEADERAUDIT.proxy."])
async def test_report_page_host_is_matched_case_insensitively_with_or_without_a_trailing_dot(host):
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        response = get(tctx, addon, host=host)
        assert response is not None and response.status_code == 200
        assert json.loads(response.content)["summary"]["flows_audited"] == 0


@pytest.mark.parametrize("host", ["headeraudit.proxy..", "xheaderaudit.proxy", "headeraudit.proxy.example.com", "headeraudit"])
async def test_other_hosts_go_upstream(host):
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        flow = page_flow(host=host)
        hook(tctx, addon, flow)
        assert flow.response is None and ANSWERED not in flow.metadata


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site", "bogus", ""])
@pytest.mark.parametrize("path, method", [("/report.sarif", "GET"), ("/", "GET"), ("/report.json", "HEAD"), ("/nope", "GET"), ("/", "POST")])
async def test_report_page_refuses_loads_from_other_sites(site, path, method):
    """<img src=http://headeraudit.proxy/report.sarif> on any page makes the browser send
    Sec-Fetch-Site: cross-site; refused before anything is built."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        built = []
        addon.endpoints.build_report = lambda: built.append(1) or {}
        response = get(tctx, addon, path, method=method, headers=[(b"sec-fetch-site", site.encode())])
        assert response.status_code == 403 and b"not served to other sites" in response.content
        assert {k: response.headers[k] for k in REPORT_PAGE_HEADERS} == REPORT_PAGE_HEADERS
        assert not built


@pytest.mark.parametrize("headers", [[(b"sec-fetch-site", b"none")], [(b"sec-fetch-site", b"same-origin")],
                                     [(b"sec-fetch-site", b" None ")], []])
async def test_report_page_serves_a_typed_url_its_own_page_and_non_browsers(headers):
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        assert get(tctx, addon, "/report.sarif", headers=headers).status_code == 200
        assert get(tctx, addon, "/", headers=headers).status_code == 200


# ---------------------------------------------------------------- the report page: rendering cache


async def test_renderings_are_reused_within_the_refresh_interval_per_format():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        now = [1000.0]
        addon.endpoints.clock = lambda: now[0]
        builds = []
        build = addon.endpoints.build_report
        addon.endpoints.build_report = lambda: builds.append(1) or build()
        addon.responseheaders(audited_flow())

        first = get(tctx, addon).content
        addon.responseheaders(audited_flow("other.example.com"))  # audited in between: not shown yet
        for _ in range(20):  # a burst
            assert get(tctx, addon).content == first
        assert get(tctx, addon, method="HEAD").content == b""
        assert json.loads(first)["summary"]["flows_audited"] == 1 and len(builds) == 1

        sarif = get(tctx, addon, "/report.sarif").content  # each format has its own rendering
        page = get(tctx, addon, "/").content
        assert get(tctx, addon, "/index.html").content == page and get(tctx, addon, "/report.html").content != page
        assert len(builds) == 4

        now[0] += endpoints.REPORT_PAGE_REFRESH - 0.01
        assert get(tctx, addon).content == first and get(tctx, addon, "/report.sarif").content == sarif
        now[0] += 0.01  # as old as the interval: rendered again, with the new flow
        assert json.loads(get(tctx, addon).content)["summary"]["flows_audited"] == 2
        assert len(builds) == 5


async def test_refresh_interval_is_a_module_attribute(monkeypatch):
    monkeypatch.setattr(endpoints, "REPORT_PAGE_REFRESH", 0)
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        assert json.loads(get(tctx, addon).content)["summary"]["flows_audited"] == 0
        addon.responseheaders(audited_flow())
        assert json.loads(get(tctx, addon).content)["summary"]["flows_audited"] == 1


async def test_a_failed_rendering_is_not_cached():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        build = addon.endpoints.build_report
        addon.endpoints.build_report = lambda: 1 / 0
        assert get(tctx, addon).status_code == 500
        addon.endpoints.build_report = build
        assert get(tctx, addon).status_code == 200


# ---------------------------------------------------------------- the CSP report sink: body cap


async def test_csp_report_bodies_over_the_cap_are_refused_with_413_and_not_counted():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, **PREVIEW)
        padded = CSP_REPORT[:-1] + b" " * (CSP_REPORT_MAX_BYTES + 1 - len(CSP_REPORT)) + b"}"
        assert len(padded) == CSP_REPORT_MAX_BYTES + 1 and json.loads(padded)
        flow = csp_flow(padded)
        hook(tctx, addon, flow)
        assert flow.response.status_code == 413 and flow.metadata[ANSWERED]
        assert str(CSP_REPORT_MAX_BYTES).encode() in flow.response.content
        assert not addon.store.csp_reports
        flow = csp_flow(CSP_REPORT)
        hook(tctx, addon, flow)
        assert flow.response.status_code == 204 and len(addon.store.csp_reports) == 1


# ---------------------------------------------------------------- requestheaders: streaming


async def test_requestheaders_turns_off_streaming_another_addon_turned_on():
    """An addon running before ours (a user's -s script, or any addon in the `headeraudit`
    command) may stream every request body: the sink's must stay buffered to be answered."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, **PREVIEW)
        flow = csp_flow()
        flow.request.stream = True
        hook(tctx, addon, flow, HttpRequestHeadersHook)
        assert flow.request.stream is False and flow.live
        hook(tctx, addon, flow)
        assert flow.response.status_code == 204 and len(addon.store.csp_reports) == 1
        page = page_flow()
        page.request.stream = True
        hook(tctx, addon, page, HttpRequestHeadersHook)
        assert page.request.stream is False


@pytest.mark.parametrize("flow_of", [
    lambda: csp_flow(method="GET"),
    lambda: csp_flow(path="/elsewhere"),
    lambda: csp_flow(path=CSP_REPORT_PATH + "/x"),
    lambda: page_flow(host="www.example.com"),
])
async def test_requestheaders_leaves_other_requests_alone(flow_of):
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        with_stream_option(tctx)
        tctx.configure(addon, stream_large_bodies="1", **PREVIEW)
        flow = flow_of()
        flow.request.stream = True
        hook(tctx, addon, flow, HttpRequestHeadersHook)
        assert flow.request.stream is True and flow.live and ANSWERED not in flow.metadata


async def test_requestheaders_leaves_the_sink_path_alone_without_csp_preview():
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        flow = csp_flow()
        flow.request.stream = True
        hook(tctx, addon, flow, HttpRequestHeadersHook)
        assert flow.request.stream is True and flow.live
        tctx.configure(addon, headeraudit_report_page=False)
        assert addon.endpoints is None
        hook(tctx, addon, flow, HttpRequestHeadersHook)  # no endpoints at all: nothing to do
        assert flow.request.stream is True and flow.live


@pytest.mark.parametrize("limit, length, refused", [
    (None, True, False),
    (None, False, False),  # chunked, and nothing is streamed: buffered, answered
    ("1", True, True),  # mitmproxy would stream it upstream once 1 byte is buffered
    ("0", True, True),
    ("1", 0, False),  # no body: nothing to stream
    ("1m", True, False),
    ("1m", False, True),  # chunked: it could grow past the limit, then be streamed
    ("1m", 2 * 1024 * 1024, True),
])
async def test_a_csp_report_mitmproxy_would_stream_upstream_is_refused_not_forwarded(caplog, limit, length, refused):
    """mitmproxy's HTTP layer streams a body over stream_large_bodies as soon as it has
    buffered that much, overriding an addon's stream=False: such a report cannot be answered,
    so it is killed in requestheaders (never sent upstream), not counted."""
    caplog.set_level(logging.DEBUG)
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        with_stream_option(tctx)
        tctx.configure(addon, stream_large_bodies=limit, **PREVIEW)
        flow = csp_flow(length=length)
        declared = declared_body_size(flow.request)
        flow.request.stream = bool(limit and declared and declared > human.parse_size(limit))  # mitmproxy's early check
        hook(tctx, addon, flow, HttpRequestHeadersHook)
        if refused:
            assert not flow.live and flow.error is not None and flow.error.msg == flow.error.KILLED_MESSAGE
            assert flow.metadata[ANSWERED] and flow.response is None
            (warning,) = [r for r in caplog.records if "refused POST" in r.getMessage()]
            assert warning.levelno == logging.WARNING and "stream_large_bodies" in warning.getMessage()
        else:
            assert flow.live and flow.request.stream is False and ANSWERED not in flow.metadata
            hook(tctx, addon, flow)
            assert flow.response.status_code == 204
        assert len(addon.store.csp_reports) == (0 if refused else 1)


async def test_the_refusal_is_logged_as_a_warning_once_per_configuration(caplog):
    caplog.set_level(logging.DEBUG)
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        with_stream_option(tctx)
        tctx.configure(addon, stream_large_bodies="1", **PREVIEW)
        for _ in range(3):
            hook(tctx, addon, csp_flow(), HttpRequestHeadersHook)
        levels = [r.levelno for r in caplog.records if "refused POST" in r.getMessage()]
        assert levels == [logging.WARNING, logging.DEBUG, logging.DEBUG]


async def test_an_oversized_report_is_not_unstreamed_but_buffered_only_as_any_body():
    """Turning streaming off must not make the proxy buffer a huge body it would otherwise
    stream: declared over the cap, streaming stays as it was; if it was on, the request is
    refused (its body would go upstream); if off, mitmproxy buffers it as any body, and 413."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, **PREVIEW)
        flow = csp_flow(length=CSP_REPORT_MAX_BYTES + 1)
        flow.request.stream = True
        hook(tctx, addon, flow, HttpRequestHeadersHook)
        assert not flow.live and flow.metadata[ANSWERED]
        flow = csp_flow(b"x" * (CSP_REPORT_MAX_BYTES + 1))
        hook(tctx, addon, flow, HttpRequestHeadersHook)
        assert flow.live and flow.request.stream is False
        hook(tctx, addon, flow)
        assert flow.response.status_code == 413 and not addon.store.csp_reports


async def test_requestheaders_is_a_hook_only_while_csp_reports_are_collected():
    """mitmproxy looks every hook up on every event and skips one that is None: the hook costs
    ~14 k instructions per request (0.2% of mitmdump's), and only the CSP report sink needs it
    (the report page is GET and HEAD, without a body to stream)."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon)
        assert addon.requestheaders is None and addon.endpoints is not None
        tctx.configure(addon, headeraudit_mode="fix", headeraudit_csp_preview="report-only")
        assert callable(addon.requestheaders)
        tctx.configure(addon, headeraudit_csp_preview="")
        assert addon.requestheaders is None


async def test_request_leaves_a_streamed_request_alone():
    """Streamed anyway (an addon after ours turned it on): it is on its way upstream, with no
    body to read; answering it would not stop that."""
    addon = HeaderAudit()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, **PREVIEW)
        for flow in (csp_flow(), page_flow()):
            flow.request.stream = True
            hook(tctx, addon, flow)
            assert flow.response is None
        assert not addon.store.csp_reports


@pytest.mark.parametrize("method, version, headers, size", [
    ("POST", b"HTTP/1.1", [(b"content-length", b"12")], 12),
    ("POST", b"HTTP/1.1", [(b"transfer-encoding", b"chunked")], None),
    ("POST", b"HTTP/1.1", [], 0),  # HTTP/1: neither header, no body
    ("POST", b"HTTP/2.0", [], None),  # HTTP/2: the stream may still carry one
    ("POST", b"HTTP/2.0", [(b"content-length", b"7")], 7),
    ("GET", b"HTTP/2.0", [], 0),
    ("POST", b"HTTP/1.1", [(b"content-length", b"nope")], None),
])
def test_declared_body_size(method, version, headers, size):
    request = treq(method=method.encode(), http_version=version, headers=http.Headers(headers), content=b"")
    assert declared_body_size(request) == size
