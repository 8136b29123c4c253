"""Origin servers and clients for the fault-injection e2e tests (tests/e2e/test_e2e_faults.py), and the
file-system and output checks they share.

`e2e_harness.Upstream` always sends a complete, well-framed HTTP/1.1 response. The faults
need more control than that, so here:

- `RawUpstream`: a TCP (optionally TLS) origin where each path is answered by a function
  that gets the socket and writes whatever bytes it likes: a reset in the middle of a
  body, a 103 before the 200, a response with no header at all, a stall, a WebSocket
  echo (with `wsproto`, a mitmproxy dependency).
- `H2Upstream`: a TLS origin that only speaks HTTP/2 (ALPN `h2`), built on the `h2`
  package mitmproxy itself uses.
- `websocket_roundtrip`: a WebSocket client (wsproto) through the proxy via CONNECT.

Loopback only, ports picked by the kernel, every socket operation has a timeout, and
`close()` releases anything still stalled.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Self

IO_TIMEOUT = 15.0


@dataclasses.dataclass
class RawRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]
    head: bytes  # the request line and headers as received, up to and including the blank line
    body: bytes

    @property
    def path(self) -> str:
        """Path without query, also for absolute-form targets."""
        target = self.target
        if "://" in target:
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        return target.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


RawHandler = Callable[[socket.socket, RawRequest], None]


def http_response(status: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b"", *,
                  reason: str = "", content_length: bool = True, close: bool = True) -> bytes:
    """Bytes of one HTTP/1.1 response (Content-Length and Connection: close added unless told)."""
    import http.client

    lines = [f"HTTP/1.1 {status} {reason or http.client.responses.get(status, 'Whatever')}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if content_length:
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def reset(sock: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN (SO_LINGER on, timeout 0)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def read_head(sock: socket.socket, limit: int = 1 << 20) -> tuple[bytes, bytes]:
    """Read until the end of an HTTP head; return (head, bytes already read past it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before the end of the head: {data[:200]!r}")
        data += chunk
        if len(data) > limit:
            raise ConnectionError("head too long")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _parse_request(head: bytes) -> tuple[str, str, list[tuple[str, str]]]:
    request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return method, target, headers


class _ThreadedServer:
    """A loopback listener that hands each connection to `_serve` on its own thread."""

    _name = "server"

    def _listen(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"{self._name}-{self.port}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._closed.set()
        self._sock.close()
        self._thread.join(5)


class RawUpstream(_ThreadedServer):
    """One request per connection; `route(path, handler)` decides what is written back.
    The connection is closed (FIN) after the handler returns, unless it already closed it."""

    _name = "raw-upstream"

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.routes: dict[str, RawHandler] = {}
        self.requests: list[RawRequest] = []
        self.release = threading.Event()  # stalled handlers wait on this; set by close()
        self.scheme = "https" if ssl_context else "http"
        self._listen()

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def route(self, path: str, handler: RawHandler) -> RawUpstream:
        self.routes[path] = handler
        return self

    def respond(self, path: str, status: int = 200, headers: Iterable[tuple[str, str]] = (),
                body: bytes = b"") -> RawUpstream:
        """A plain, well-formed response (HEAD gets the same head without the body)."""
        headers = list(headers)

        def handler(sock: socket.socket, request: RawRequest) -> None:
            data = http_response(status, headers, body)
            if request.method == "HEAD":
                data = data[: data.index(b"\r\n\r\n") + 4]
            sock.sendall(data)

        return self.route(path, handler)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(IO_TIMEOUT)
        try:
            if self.ssl_context is not None:
                conn = self.ssl_context.wrap_socket(conn, server_side=True)
            head, rest = read_head(conn)
            method, target, headers = _parse_request(head)
            length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
            while len(rest) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                rest += chunk
            request = RawRequest(method, target, headers, head, rest[:length])
            self.requests.append(request)
            handler = self.routes.get(request.path)
            if handler is None:
                conn.sendall(http_response(404, [("Content-Type", "text/plain")], b"no route"))
            else:
                handler(conn, request)
        except (OSError, ConnectionError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self.release.set()
        super().close()


# --------------------------------------------------------------------------- WebSocket


def websocket_echo(extra_headers: Iterable[tuple[str, str]] = ()) -> RawHandler:
    """A RawUpstream handler: accept the WebSocket upgrade (101, with `extra_headers`), then
    echo every text/binary message back prefixed with b'echo:' until the client closes."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import (
        AcceptConnection,
        BytesMessage,
        CloseConnection,
        Message,
        Request,
        TextMessage,
    )

    extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra_headers]

    def handler(sock: socket.socket, request: RawRequest) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        ws.receive_data(request.head + request.body)
        for event in ws.events():
            if isinstance(event, Request):
                sock.sendall(ws.send(AcceptConnection(extra_headers=extra)))
        while True:
            data = sock.recv(65536)
            if not data:
                return
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, TextMessage):
                    sock.sendall(ws.send(Message(data="echo:" + event.data)))
                elif isinstance(event, BytesMessage):
                    sock.sendall(ws.send(Message(data=b"echo:" + bytes(event.data))))
                elif isinstance(event, CloseConnection):
                    sock.sendall(ws.send(event.response()))
                    return

    return handler


@dataclasses.dataclass
class WebSocketResult:
    status_line: bytes                 # of the upgrade response
    headers: list[tuple[bytes, bytes]]  # of the upgrade response
    received: list[str | bytes]
    closed_cleanly: bool


def websocket_roundtrip(proxy_port: int, upstream_port: int, path: str, messages: list[str | bytes],
                        timeout: float = IO_TIMEOUT) -> WebSocketResult:
    """Open ws://127.0.0.1:upstream_port/path through the proxy (CONNECT, as browsers do),
    send each message, collect one reply per message, then close the WebSocket."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import (
        AcceptConnection,
        BytesMessage,
        CloseConnection,
        Message,
        RejectConnection,
        Request,
        TextMessage,
    )

    authority = f"127.0.0.1:{upstream_port}"
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=timeout) as sock:
        sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
        head, rest = read_head(sock)
        assert head.split(b" ", 2)[1] == b"200", f"CONNECT refused: {head!r}"
        assert not rest
        ws = WSConnection(ConnectionType.CLIENT)
        sock.sendall(ws.send(Request(host=authority, target=path)))
        # read the raw upgrade response ourselves, to return its exact head
        head, rest = read_head(sock)
        lines = head.rstrip(b"\r\n").split(b"\r\n")
        headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(b":") for line in lines[1:])]
        ws.receive_data(head + rest)
        received: list[str | bytes] = []
        accepted = False
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                accepted = True
            elif isinstance(event, RejectConnection):
                return WebSocketResult(lines[0], headers, [], False)
            elif isinstance(event, (TextMessage, BytesMessage)):
                received.append(event.data)
        assert accepted, f"no 101 accepted: {head!r}"
        for message in messages:
            sock.sendall(ws.send(Message(data=message)))
        closed = False
        while len(received) < len(messages):
            data = sock.recv(65536)
            if not data:
                break
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    received.append(bytes(event.data) if isinstance(event.data, bytearray) else event.data)
        sock.sendall(ws.send(CloseConnection(code=1000)))
        while not closed:
            data = sock.recv(65536)
            if not data:
                break
            ws.receive_data(data)
            closed = any(isinstance(e, CloseConnection) for e in ws.events())
        return WebSocketResult(lines[0], headers, received, closed)


# --------------------------------------------------------------------------- HTTP/2 origin


class H2Upstream(_ThreadedServer):
    """An HTTPS origin that speaks only HTTP/2 (ALPN h2), one thread per connection.
    `route(path, status, headers, body)`; bodies are sent respecting flow control."""

    _name = "h2-upstream"

    def __init__(self, cert: tuple[Any, Any]) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        context.set_alpn_protocols(["h2"])
        self.context = context
        self.routes: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {}
        self.requests: list[tuple[str, list[tuple[str, str]]]] = []  # (path, headers incl. pseudo)
        self.alpn: list[str | None] = []
        self._listen()

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def route(self, path: str, status: int = 200, headers: Iterable[tuple[str, str]] = (),
              body: bytes = b"") -> H2Upstream:
        self.routes[path] = (status, list(headers), body)
        return self

    def _serve(self, raw: socket.socket) -> None:
        import h2.config
        import h2.connection
        import h2.events
        import h2.exceptions

        raw.settimeout(IO_TIMEOUT)
        try:
            sock = self.context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        self.alpn.append(sock.selected_alpn_protocol())
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        pending: dict[int, memoryview] = {}
        try:
            sock.sendall(conn.data_to_send())
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        headers = [(str(k), str(v)) for k, v in event.headers]
                        path = dict(headers).get(":path", "/").split("?", 1)[0]
                        method = dict(headers).get(":method", "GET")
                        self.requests.append((path, headers))
                        status, extra, body = self.routes.get(
                            path, (404, [("content-type", "text/plain")], b"no route"))
                        length = len(body)
                        if method == "HEAD":
                            body = b""
                        conn.send_headers(event.stream_id, [(":status", str(status)), *extra,
                                                            ("content-length", str(length))],
                                          end_stream=not body)
                        if body:
                            pending[event.stream_id] = memoryview(body)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        sock.sendall(conn.data_to_send())
                        return
                    elif isinstance(event, h2.events.StreamReset):
                        pending.pop(event.stream_id, None)
                for stream_id in list(pending):
                    rest = pending[stream_id]
                    while rest:
                        window = min(conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size)
                        if window <= 0:
                            break
                        chunk, rest = rest[:window], rest[window:]
                        conn.send_data(stream_id, bytes(chunk), end_stream=not rest)
                    if rest:
                        pending[stream_id] = rest
                    else:
                        del pending[stream_id]
                sock.sendall(conn.data_to_send())
        except (OSError, ssl.SSLError, h2.exceptions.ProtocolError):
            return
        finally:
            sock.close()


# --------------------------------------------------------------------------- raw client


@dataclasses.dataclass
class RawResult:
    """What a client read from one HTTP/1.1 exchange: every byte until EOF or a reset."""

    data: bytes
    error: str | None  # None: clean EOF; else the exception class name (e.g. ConnectionResetError)

    @property
    def head(self) -> bytes:
        return self.data.partition(b"\r\n\r\n")[0]

    @property
    def body(self) -> bytes:
        """Everything after the head, framing included (chunk sizes stay)."""
        return self.data.partition(b"\r\n\r\n")[2]

    @property
    def status(self) -> int | None:
        parts = self.data.split(b" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/") else None

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        lines = self.head.split(b"\r\n")[1:]
        return [(k.strip(), v.strip()) for k, _, v in (line.partition(b":") for line in lines)]

    def header(self, name: str) -> bytes | None:
        values = [v for k, v in self.headers if k.lower() == name.lower().encode()]
        return values[0] if values else None


def raw_exchange(proxy_port: int, url: str, method: str = "GET", headers: Iterable[tuple[str, str]] = (),
                 timeout: float = IO_TIMEOUT) -> RawResult:
    """Send `METHOD url HTTP/1.1` (absolute form, Connection: close) to a regular-mode proxy
    and read until EOF, keeping the bytes read before a reset (unlike e2e_harness.raw_request)."""
    authority = url.split("://", 1)[1].split("/", 1)[0]
    lines = [f"{method} {url} HTTP/1.1", f"Host: {authority}", "Connection: close", "Accept-Encoding: identity",
             *(f"{k}: {v}" for k, v in headers)]
    chunks: list[bytes] = []
    error = None
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError as exc:  # ConnectionResetError, TimeoutError
            error = type(exc).__name__
    return RawResult(b"".join(chunks), error)


def dechunk(body: bytes) -> bytes:
    """Decode a complete chunked body (no trailers expected)."""
    out, rest = [], body
    while True:
        size_line, sep, rest = rest.partition(b"\r\n")
        assert sep, f"truncated chunked body near {rest[:50]!r}"
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(rest[:size])
        assert rest[size:size + 2] == b"\r\n", "chunk not followed by CRLF"
        rest = rest[size + 2:]


# --------------------------------------------------------------------------- file-system faults
# Root ignores permission bits, so "read-only" and "disk full" are produced with real mounts
# (the tests run as root in a container that allows mount(2)): a read-only bind mount gives
# EROFS, a size-limited tmpfs gives ENOSPC. Mounts are made under the test's tmp_path and
# always unmounted (lazily if busy) when the context ends.


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise AssertionError(
            f"mount {' '.join(args)} failed ({done.stderr.strip()}): these fault tests need root with "
            "CAP_SYS_ADMIN (mount allowed), as on the project's machines and CI")


def _umount(path: str) -> None:
    if subprocess.run(["umount", path], capture_output=True, timeout=30, check=False).returncode != 0:
        subprocess.run(["umount", "-l", path], capture_output=True, timeout=30, check=False)


class BindMount:
    """`path` bind-mounted onto itself, writable until `.read_only()` remounts it read-only
    (writes then fail with EROFS even for root). Unmounted on exit; the files stay in `path`."""

    def __init__(self, path: Any) -> None:
        self.path = str(path)

    def __enter__(self) -> Self:
        _mount("--bind", self.path, self.path)
        return self

    def read_only(self) -> None:
        _mount("-o", "remount,bind,ro", self.path)

    def __exit__(self, *exc: object) -> None:
        _umount(self.path)


class SmallTmpfs:
    """A tmpfs of `size` bytes mounted on `path`; `.fill()` writes a filler file until the
    file system is full (ENOSPC). Its contents vanish when it is unmounted on exit."""

    def __init__(self, path: Any, size: int = 256 * 1024) -> None:
        self.path = str(path)
        self.size = size

    def __enter__(self) -> Self:
        _mount("-t", "tmpfs", "-o", f"size={self.size},mode=0755", "tmpfs", self.path)
        return self

    def fill(self) -> int:
        """Fill the file system; return the bytes written."""
        written = 0
        fd = os.open(os.path.join(self.path, "filler"), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            block = b"\0" * 4096
            while True:
                try:
                    written += os.write(fd, block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
        finally:
            os.close(fd)
        return written

    def __exit__(self, *exc: object) -> None:
        _umount(self.path)


# --------------------------------------------------------------------------- output checks


# Where headeraudit's code is: the package in this checkout, or as installed into a venv. Not any
# path containing "headeraudit": a checkout named headeraudit puts the word in mitmproxy's own
# frames too (.../headeraudit/.venv/lib/.../mitmproxy/...).
_REPO = Path(__file__).resolve().parents[2]
OUR_CODE = (f"{_REPO / 'addon' / 'headeraudit'}{os.sep}", str(_REPO / "addon" / "headeraudit_addon.py"),
            f"{os.sep}site-packages{os.sep}headeraudit{os.sep}")


def _through_our_code(block: list[str]) -> bool:
    return any(line.lstrip().startswith("File ") and any(part in line for part in OUR_CODE) for line in block)


def headeraudit_failures(output: str) -> list[str]:
    """What in mitmdump's output says headeraudit failed: mitmproxy's "Addon error", our own
    "internal error" / "watcher failed" warnings, and any traceback through headeraudit code.
    (A traceback of mitmproxy's own, e.g. asyncio's CancelledError at shutdown with flows in
    flight, is not ours and is not listed.)"""
    failures: list[str] = []
    block: list[str] | None = None
    for line in output.splitlines():
        if any(s in line for s in ("Addon error", "headeraudit: internal error", "rules watcher failed")):
            failures.append(line)
        if line.startswith("Traceback"):
            block = [line]
        elif block is not None:
            if line.startswith(("[", "headeraudit")) or not line.strip():
                if _through_our_code(block):
                    failures.append("\n".join(block))
                block = None
            else:
                block.append(line)
    if block and _through_our_code(block):
        failures.append("\n".join(block))
    return failures
