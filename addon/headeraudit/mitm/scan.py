"""`headeraudit scan URL…`: fetch each URL once and audit what came back, as drHEADer, humble
or the Observatory's CLI do, with the same rules, reports and gate as a proxy run.

The requests go through mitmproxy's own client (client replay), so every mitmproxy option
applies as it would to proxied traffic (`ssl_insecure`, `ssl_verify_upstream_trusted_ca`,
`mode=upstream:…`, HTTP/2), and each response reaches the addon's hooks like any other. Each
redirect is followed by a request of its own, up to MAX_REDIRECTS: every hop is a flow,
audited, logged, and saved with `-w` or `hardump`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

from mitmproxy import ctx, http
from mitmproxy.connection import Client, Server

from .. import __version__
from ..text import terminal_safe

logger = logging.getLogger("headeraudit")

MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)
SCAN = "headeraudit_scan"  # flow.metadata: the URL the chain of hops started from, and the hop
REQUEST_HEADERS: dict[str | bytes, str | bytes] = {
    "User-Agent": f"headeraudit/{__version__} (scan)",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # as a browser's navigation
}


def check_url(url: str) -> str:
    """A URL to scan, or ValueError saying why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http:// or https:// URL: {url!r}")
    return url


class Scan:
    """An addon: queues the URLs for client replay when mitmproxy runs, follows redirects,
    and shuts mitmproxy down when the last hop is in."""

    def __init__(self, urls: Sequence[str]) -> None:
        self.urls = list(urls)
        self.pending = 0
        self.failed: list[str] = []  # one line per URL that could not be fetched
        self._task: asyncio.Task | None = None

    def running(self) -> None:
        if self._task is not None:
            return
        for url in self.urls:
            self._fetch(url, url, 0)
        self._task = asyncio.get_running_loop().create_task(self._shutdown_when_done())

    def _fetch(self, url: str, start: str, hop: int) -> None:
        now = time.time()
        flow = http.HTTPFlow(Client(peername=("127.0.0.1", 0), sockname=("127.0.0.1", 0), timestamp_start=now),
                             Server(address=None))
        flow.request = http.Request.make("GET", url, headers=REQUEST_HEADERS)
        flow.request.timestamp_start = now
        flow.metadata[SCAN] = {"start": start, "hop": hop}
        self.pending += 1
        ctx.master.commands.call("replay.client", [flow])

    def response(self, flow: http.HTTPFlow) -> None:
        scan = flow.metadata.get(SCAN)
        if scan is None or flow.response is None:
            return
        self.pending -= 1
        status, url = flow.response.status_code, flow.request.pretty_url
        location = flow.response.headers.get("location", "")
        if status in REDIRECTS and location:
            target = urljoin(url, location)
            logger.info(terminal_safe(f"headeraudit scan: {url} -> {status} {target[:300]}"))
            if scan["hop"] >= MAX_REDIRECTS:
                self._failed(scan["start"], f"more than {MAX_REDIRECTS} redirects")
            elif urlsplit(target).scheme not in ("http", "https"):
                self._failed(scan["start"], f"redirected to a URL that is not http(s): {target[:300]}")
            else:
                self._fetch(target, scan["start"], scan["hop"] + 1)
        else:
            logger.info(terminal_safe(f"headeraudit scan: {url} -> {status}"))

    def error(self, flow: http.HTTPFlow) -> None:
        scan = flow.metadata.get(SCAN)
        if scan is None:
            return
        self.pending -= 1
        why = flow.error.msg if flow.error else "failed"
        url = flow.request.pretty_url
        self._failed(scan["start"], why if url == scan["start"] else f"{url}: {why}")

    def _failed(self, start: str, why: str) -> None:
        line = terminal_safe(f"headeraudit scan: {start} could not be fetched: {why}")
        self.failed.append(line)
        logger.error(line)

    async def _shutdown_when_done(self) -> None:
        while self.pending > 0:
            await asyncio.sleep(0.05)
        ctx.master.shutdown()
