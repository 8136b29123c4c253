"""Requests the proxy answers itself and never forwards upstream: the live report page
(http:// and https://headeraudit.proxy/, like mitmproxy's mitm.it) and, in CSP preview, the
browsers' violation reports on a same-origin path. Given callables, not the addon: what it needs is
a report to render and a place to count reports in.

Request bodies: mitmproxy decides in its HTTP layer, not in an addon, whether a body is
streamed (`stream_large_bodies`): once from Content-Length before `requestheaders`, and again
on every chunk while it buffers, from the bytes buffered so far. The second decision overrides
an addon's `flow.request.stream = False` and starts sending the request upstream with no hook
in between, so a body over `stream_large_bodies` can never reach `request` to be answered.
There is no StreamBodies addon to run before or after (mitmproxy 7 moved it into the layer).
`requestheaders` therefore turns streaming off (against addons running before this one that
turn it on) for a body mitmproxy will keep buffered, and sends a CSP report it would stream to
the addon's loopback sink (sink.py), which answers and counts it; anything else it would
stream (the report page has no body; a report declared over the cap) is refused: killed,
never forwarded, nothing counted.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from mitmproxy import ctx, http, tls
from mitmproxy.net.http.http1.read import expected_http_body_size
from mitmproxy.utils import human

from ..csp_reports import parse_csp_reports
from ..report import RENDERERS
from ..report.html import PAGE_CSP, render_html
from ..store import CspReport
from ..text import terminal_safe
from . import flows
from .learning import is_learning_report
from .settings import CSP_REPORT_PATH, REPORT_PAGE_HOST
from .sink import ReportSink

logger = logging.getLogger("headeraudit")

ANSWERED = "headeraudit_answered"  # flow.metadata key: answered by the proxy, not audited
# The page's own refresh, and how long a rendering is reused: a burst of requests (or a page
# loading the report cross-site, refused anyway) builds each format at most once per interval.
REPORT_PAGE_REFRESH = 5
REPORT_PAGE_HOSTS = (REPORT_PAGE_HOST, REPORT_PAGE_HOST + ".")  # matched case-insensitively
# Sec-Fetch-Site values the report page answers: the page itself, and a URL typed or bookmarked.
# A browser loading it from another site (<img>, <script>, fetch) says cross-site/same-site.
ALLOWED_FETCH_SITES = ("same-origin", "none")
# A CSP report (or a Reporting API batch) is a few KiB: larger bodies are refused with 413.
CSP_REPORT_MAX_BYTES = 128 * 1024
# The report page shows attacker-controlled header values (escaped by the renderer); its own
# policy forbids every script and remote load, as a second line of defence.
REPORT_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": f"{PAGE_CSP}; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".json": "application/json", ".sarif": "application/sarif+json",
    ".xml": "application/xml", ".md": "text/markdown; charset=utf-8", ".yaml": "application/yaml; charset=utf-8",
}


class Endpoints:
    """Not an addon itself: the addon hands requests over while one of the endpoints is on."""

    def __init__(self, report_page: bool, csp_reports: bool, build_report: Callable[[], dict[str, Any]],
                 record_csp_report: Callable[[CspReport], bool], on_error: Callable[[http.HTTPFlow, Exception], None],
                 sink: ReportSink | None = None, learn_report: Callable[[CspReport], None] | None = None) -> None:
        """`sink`: where a CSP report goes whose body mitmproxy streams (sink.py); without one,
        such a report is refused. `learn_report`: given every report while learning (reports to
        the learning path, learning.py, only teach the learner; others are counted too)."""
        self.report_page, self.csp_reports = report_page, csp_reports
        self.build_report, self.record_csp_report, self.on_error = build_report, record_csp_report, on_error
        self.sink, self.learn_report = sink, learn_report
        self.clock: Callable[[], float] = time.monotonic
        self._rendered: dict[str, tuple[float, bytes]] = {}  # format -> (clock(), body), see REPORT_PAGE_REFRESH
        self._refusal_logged = False

    # The report page over https: no server of that name exists, so the tunnel is opened here
    # (mitmproxy's eager connection strategy would connect first and answer 502), and the
    # browser's TLS is not held back for a server handshake; mitmproxy signs the page's
    # certificate with its CA, as for any host, and `request` answers inside the tunnel.
    def http_connect(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        if self.report_page and flow.response is None and request.host.lower() in REPORT_PAGE_HOSTS:
            now = time.time()
            flow.response = http.Response(request.data.http_version, 200, b"Connection established",
                                          http.Headers(), b"", None, now, now)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        if self.report_page and (data.client_hello.sni or "").lower() in REPORT_PAGE_HOSTS:
            # mitmproxy's TlsConfig, which runs after script addons, sets establish_server_tls_first
            # from these two: a server without TLS is not handshaken with first. Nothing is ever
            # sent to this server (`request` answers every request to the page's host).
            data.context.server.tls = False
            data.establish_server_tls_first = False

    def answers_report_page(self, request: http.Request) -> bool:
        return self.report_page and request.host.lower() in REPORT_PAGE_HOSTS

    def answers_csp_report(self, request: http.Request) -> bool:
        return self.csp_reports and request.method == "POST" and request.path.split("?", 1)[0] == CSP_REPORT_PATH

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        """Keep the body of a request answered here in the proxy (see the module docstring)."""
        if flow.response is not None or not flow.live:
            return
        request = flow.request
        csp = self.answers_csp_report(request)
        if not csp and not self.answers_report_page(request):
            return
        size = declared_body_size(request)
        limit = stream_threshold()
        oversized = csp and size is not None and size > CSP_REPORT_MAX_BYTES
        if limit is not None and (size is None or size > limit):
            if csp and not oversized and self.sink is not None and self.sink.redirect(flow, flows.site_of(flow), is_learning_report(request)):
                flow.metadata[ANSWERED] = True  # answered by the sink; the body streams there
                return
            self._refuse(flow, f"its body ({'of unknown size' if size is None else human.pretty_size(size)}) may exceed "
                               f"stream_large_bodies ({human.pretty_size(limit)}), and mitmproxy streams such bodies "
                               f"upstream before any addon can answer them; to collect CSP reports, unset "
                               f"stream_large_bodies or raise it to {human.pretty_size(CSP_REPORT_MAX_BYTES)} or more")
        elif oversized and request.stream:  # streamed by another addon: unstreamed, it would be buffered whole
            self._refuse(flow, f"its body is over {human.pretty_size(CSP_REPORT_MAX_BYTES)} and was to be streamed")
        elif not oversized:  # an oversized one is buffered like any body (streaming is off) and answered 413
            request.stream = False

    def _refuse(self, flow: http.HTTPFlow, why: str) -> None:
        flow.metadata[ANSWERED] = True
        flow.kill()
        message = terminal_safe(f"headeraudit: refused {flow.request.method} {flow.request.pretty_url[:200]} "
                                f"without forwarding it: {why}")
        logger.log(logging.DEBUG if self._refusal_logged else logging.WARNING, message)
        self._refusal_logged = True

    def request(self, flow: http.HTTPFlow) -> None:
        # A streamed request is on its way upstream already (an addon after us turned streaming on).
        if flow.response is not None or not flow.live or flow.request.stream:
            return
        request = flow.request
        if self.answers_report_page(request):
            flow.metadata[ANSWERED] = True
            try:
                flow.response = self.report_page_response(request.method, request.path, request.headers.get("sec-fetch-site"))
            except Exception as exc:
                flow.response = http.Response.make(500, b"headeraudit: the report could not be built\n", {"Content-Type": "text/plain"})
                self.on_error(flow, exc)
        elif self.answers_csp_report(request):
            flow.metadata[ANSWERED] = True
            if len(request.raw_content or b"") > CSP_REPORT_MAX_BYTES:
                flow.response = http.Response.make(
                    413, f"headeraudit: CSP reports are limited to {CSP_REPORT_MAX_BYTES} bytes\n".encode(),
                    {"Content-Type": "text/plain", "Cache-Control": "no-store"})
                return
            flow.response = http.Response.make(204, b"", {"Cache-Control": "no-store"})
            try:
                self._count_csp_reports(flow)
            except Exception as exc:
                self.on_error(flow, exc)

    def _count_csp_reports(self, flow: http.HTTPFlow) -> None:
        self.count_csp_reports(flows.site_of(flow), flow.request.raw_content or b"", is_learning_report(flow.request))

    def count_csp_reports(self, host: str, body: bytes, learning: bool = False) -> None:
        """Count the reports of one request body sent on `host`'s reserved path; log new ones.
        `learning`: sent by the learning policy: given to the learner only."""
        for report in parse_csp_reports(body, host):
            if self.learn_report is not None:
                self.learn_report(report)
            if not learning and self.record_csp_report(report):
                sample = f" (sample: {report.sample})" if report.sample else ""
                logger.warning(terminal_safe(
                    f"headeraudit CSP report {host}: {report.directive} blocked {report.blocked_uri or '(none)'} "
                    f"on {report.document_uri} [{report.disposition}]{sample}"
                ))

    def report_page_response(self, method: str, path: str, fetch_site: str | None = None) -> http.Response:
        """The live report: / is HTML (refreshing itself), /report.json, /report.html,
        /report.sarif, /report.xml and /report.md the other formats. Refused when a browser
        says another site loads it (`fetch_site`, the request's Sec-Fetch-Site)."""
        if fetch_site is not None and fetch_site.strip().lower() not in ALLOWED_FETCH_SITES:
            return http.Response.make(403, b"headeraudit: the report page is not served to other sites\n",
                                      {"Content-Type": "text/plain", **REPORT_PAGE_HEADERS})
        if method not in ("GET", "HEAD"):
            return http.Response.make(405, b"GET only\n", {"Allow": "GET, HEAD", "Content-Type": "text/plain"})
        path = path.split("?", 1)[0]
        page = path in ("/", "/index.html")
        ext = ".html" if page else os.path.splitext(path)[1].lower() if path.startswith("/report.") else ""
        if ext not in RENDERERS:
            return http.Response.make(404, b"headeraudit: try / or /report.json\n", {"Content-Type": "text/plain", **REPORT_PAGE_HEADERS})
        body = self._rendering("/" if page else ext)
        return http.Response.make(200, b"" if method == "HEAD" else body, {"Content-Type": CONTENT_TYPES[ext], **REPORT_PAGE_HEADERS})

    def _rendering(self, key: str) -> bytes:
        """The report in one format ("/": the refreshing page), rendered at most once per
        REPORT_PAGE_REFRESH seconds: with a full store a rendering takes up to a second, on
        the event loop. (Rendering in a thread would need a copy of the store, made on the loop.)"""
        now = self.clock()
        cached = self._rendered.get(key)
        if cached is not None and now - cached[0] < REPORT_PAGE_REFRESH:
            return cached[1]
        report = self.build_report()
        body = render_html(report, refresh_seconds=REPORT_PAGE_REFRESH) if key == "/" else RENDERERS[key](report)
        self._rendered[key] = (now, body)
        return body


def declared_body_size(request: http.Request) -> int | None:
    """The size of a request's body as its headers tell before it is read; None if they do not
    (chunked, or HTTP/2 and 3 without Content-Length; GET and HEAD taken to have none)."""
    try:
        size = expected_http_body_size(request)
    except ValueError:
        return None
    if size == 0 and (request.is_http2 or request.is_http3) and "content-length" not in request.headers:
        return 0 if request.method in ("GET", "HEAD") else None
    return size if size is not None and size >= 0 else None


def stream_threshold() -> int | None:
    """stream_large_bodies in bytes; None when unset (mitmproxy then buffers every body), or
    when the option does not exist (it belongs to mitmproxy's proxyserver addon)."""
    value = getattr(getattr(ctx, "options", None), "stream_large_bodies", None)
    return human.parse_size(value) if value else None
