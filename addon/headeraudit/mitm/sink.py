"""Where a CSP report goes whose body mitmproxy streams: a loopback listener in the proxy itself.

mitmproxy streams a request body past `stream_large_bodies` to the flow's server connection as
soon as it has buffered that much, whatever an addon set, and no hook runs in between (see
endpoints.py). So for such a report the addon makes the server this sink: in `requestheaders`
the flow is pointed at 127.0.0.1:<sink port>, plain http, no upstream proxy, with a one-time
token as its path. The body goes nowhere else; the sink reads at most `max_body` bytes of it,
answers 204 (413 past the cap, 404 without a valid token) and hands the body to the same
counting as a buffered report. It listens on loopback only and answers only tokens it issued.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable
from mitmproxy import connection, http

logger = logging.getLogger("headeraudit")

MAX_HEAD = 16 * 1024  # mitmproxy sends the request line and headers it was sent
MAX_PENDING = 256  # tokens issued and not yet used (a client that never sends its body)
TIMEOUT = 30.0
ORIGINAL = "headeraudit_sink_original"  # flow.metadata: (scheme, host, port, path) before the redirect


class ReportSink:
    def __init__(self, on_report: Callable[[str, bytes, bool], None], max_body: int) -> None:
        """`on_report(host, body, learning)`: count a report sent on `host`'s reserved path
        (`learning`: the path of the CSP learning policy's reports)."""
        self.on_report, self.max_body = on_report, max_body
        self.port: int | None = None  # None until the listener is up
        self._server: asyncio.base_events.Server | None = None
        self._pending: OrderedDict[str, tuple[str, bool]] = OrderedDict()  # token -> (host, learning) of the report
        self._starting: asyncio.Task | None = None

    def start(self) -> None:
        """Open the listener (asynchronously, on the running loop); a no-op when it is open."""
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start())

    async def _start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD)
            self.port = self._server.sockets[0].getsockname()[1]
        except OSError as exc:
            logger.warning(f"headeraudit: the CSP report sink could not listen on 127.0.0.1: {exc}")

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        elif self._starting is not None:
            self._starting.cancel()
        self._server = self._starting = None
        self.port = None

    def redirect(self, flow: http.HTTPFlow, host: str, learning: bool = False) -> bool:
        """Send this flow's request to the sink; False when the sink is not listening."""
        if self.port is None:
            return False
        token = secrets.token_urlsafe(16)
        self._pending[token] = (host, learning)
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)
        request = flow.request
        flow.metadata[ORIGINAL] = (request.scheme, request.host, request.port, request.path)
        request.scheme, request.host, request.port, request.path = "http", "127.0.0.1", self.port, f"/{token}"
        # A fresh server: not the connection to the origin, and never via an upstream proxy.
        flow.server_conn = connection.Server(address=("127.0.0.1", self.port))
        return True

    @staticmethod
    def restore(flow: http.HTTPFlow) -> None:
        """Show the request as the client sent it again (flow lists, -w files)."""
        original = flow.metadata.pop(ORIGINAL, None)
        if original is not None:
            request = flow.request
            request.scheme, request.host, request.port, request.path = original

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status = await asyncio.wait_for(self._answer(reader), TIMEOUT)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            status = 400
        except Exception as exc:  # never let one report take the listener down
            logger.warning(f"headeraudit: CSP report sink failed: {type(exc).__name__}: {exc}")
            status = 500
        reason = {204: "No Content", 400: "Bad Request", 404: "Not Found", 413: "Content Too Large"}.get(status, "Error")
        try:
            writer.write(f"HTTP/1.1 {status} {reason}\r\nCache-Control: no-store\r\nContent-Length: 0\r\n"
                         f"Connection: close\r\n\r\n".encode())
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> int:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *lines = head.decode("latin-1").split("\r\n")
        parts = request_line.split(" ")
        if len(parts) != 3 or parts[0] != "POST":
            return 404
        issued = self._pending.pop(parts[1].lstrip("/"), None)
        if issued is None:
            return 404
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines if line)}
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked(reader)
        else:
            length = int(headers.get("content-length") or 0)
            if length > self.max_body:
                return 413
            body = await reader.readexactly(length)
        if body is None:
            return 413
        self.on_report(issued[0], body, issued[1])
        return 204

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes | None:
        """A chunked body (RFC 9112 §7.1), None past max_body."""
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return bytes(body)
            if len(body) + size > self.max_body:
                return None
            body += await reader.readexactly(size)
            await reader.readexactly(2)
