"""Requests the proxy answers itself and never forwards upstream: the live report page
(http://headeraudit.proxy/, like mitmproxy's mitm.it) and, in CSP preview, the browsers'
violation reports on a same-origin path. Given callables, not the addon: what it needs is
a report to render and a place to count reports in.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from mitmproxy import http

from ..csp_reports import parse_csp_reports
from ..report import RENDERERS
from ..report.html import PAGE_CSP, render_html
from ..store import CspReport
from ..text import terminal_safe
from . import flows
from .settings import CSP_REPORT_PATH, REPORT_PAGE_HOST

logger = logging.getLogger("headeraudit")

ANSWERED = "headeraudit_answered"  # flow.metadata key: answered by the proxy, not audited
REPORT_PAGE_REFRESH = 5
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
    ".xml": "application/xml", ".md": "text/markdown; charset=utf-8",
}


class Endpoints:
    """Not an addon itself: the addon hands requests over while one of the endpoints is on."""

    def __init__(self, report_page: bool, csp_reports: bool, build_report: Callable[[], dict[str, Any]],
                 record_csp_report: Callable[[CspReport], bool], on_error: Callable[[http.HTTPFlow, Exception], None]) -> None:
        self.report_page, self.csp_reports = report_page, csp_reports
        self.build_report, self.record_csp_report, self.on_error = build_report, record_csp_report, on_error

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or not flow.live:
            return
        request = flow.request
        if self.report_page and request.host.lower() == REPORT_PAGE_HOST:
            flow.metadata[ANSWERED] = True
            try:
                flow.response = self.report_page_response(request.method, request.path)
            except Exception as exc:
                flow.response = http.Response.make(500, b"headeraudit: the report could not be built\n", {"Content-Type": "text/plain"})
                self.on_error(flow, exc)
        elif self.csp_reports and request.method == "POST" and request.path.split("?", 1)[0] == CSP_REPORT_PATH:
            flow.metadata[ANSWERED] = True
            flow.response = http.Response.make(204, b"", {"Cache-Control": "no-store"})
            try:
                self._count_csp_reports(flow)
            except Exception as exc:
                self.on_error(flow, exc)

    def _count_csp_reports(self, flow: http.HTTPFlow) -> None:
        host = flows.host(flow.request)
        for report in parse_csp_reports(flow.request.raw_content or b"", host):
            if self.record_csp_report(report):
                sample = f" (sample: {report.sample})" if report.sample else ""
                logger.warning(terminal_safe(
                    f"headeraudit CSP report {host}: {report.directive} blocked {report.blocked_uri or '(none)'} "
                    f"on {report.document_uri} [{report.disposition}]{sample}"
                ))

    def report_page_response(self, method: str, path: str) -> http.Response:
        """The live report: / is HTML (refreshing itself), /report.json, /report.html,
        /report.sarif, /report.xml and /report.md the other formats."""
        if method not in ("GET", "HEAD"):
            return http.Response.make(405, b"GET only\n", {"Allow": "GET, HEAD", "Content-Type": "text/plain"})
        path = path.split("?", 1)[0]
        page = path in ("/", "/index.html")
        ext = ".html" if page else os.path.splitext(path)[1].lower() if path.startswith("/report.") else ""
        if ext not in RENDERERS:
            return http.Response.make(404, b"headeraudit: try / or /report.json\n", {"Content-Type": "text/plain", **REPORT_PAGE_HEADERS})
        report = self.build_report()
        body = render_html(report, refresh_seconds=REPORT_PAGE_REFRESH) if page else RENDERERS[ext](report)
        return http.Response.make(200, b"" if method == "HEAD" else body, {"Content-Type": CONTENT_TYPES[ext], **REPORT_PAGE_HEADERS})
