"""Faults, end to end with a real mitmdump (issue 5).

For every fault: the client gets what it would get through mitmdump *without* headeraudit
(same status, same body bytes, and for upstream resets the same failure), the proxy keeps
serving (a normal request right after works and is audited), where headeraudit has
something to say it says it clearly, and where it has nothing to say it says nothing
(no traceback, "Addon error" or "internal error" from headeraudit).

"Without headeraudit" is measured, not assumed: the protocol cases (resets, HTTP/2,
WebSocket, streamed bodies, HEAD/304/1xx/no headers) run the same request through six
module-wide mitmdumps side by side: {bare (no addon), audit, fix} x {buffered, streamed
(`stream_large_bodies=1`)}. All use `connection_strategy=lazy` so that a client can speak
HTTP/2 to mitmproxy while the upstream speaks HTTP/1.1 (with the default eager strategy
mitmproxy mirrors the upstream's ALPN to the client, so an HTTP/1.1 upstream means an
HTTP/1.1 client). What headeraudit recorded is read from its own report, written on
demand through tests/e2e/command_endpoint_addon.py (`headeraudit.report`), before and
after each case; each case's upstream sends a `Server: <case>/1` header so the
`server-version-disclosure` finding with that evidence counts that case's audited responses.

Rules-file, report-path and signal faults need their own mitmdumps (the fault is in the
process's environment). Root ignores permission bits, so "unreadable", "read-only" and
"disk full" are produced with what really fails for root: a directory or a dangling
symlink or /proc/self/mem in place of the rules file, a read-only bind mount (EROFS), a
size-limited tmpfs (ENOSPC). See fault_helpers.py.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from e2e_harness import (
    ADDON_SCRIPT,
    MitmDump,
    MitmDumpFactory,
    Upstream,
    check_report_consistent,
    curl,
    load_report,
    make_self_signed,
    read_flows,
    tls_server_context,
    write_rules,
)
from fault_helpers import (
    BindMount,
    H2Upstream,
    RawRequest,
    RawUpstream,
    SmallTmpfs,
    dechunk,
    headeraudit_failures,
    http_response,
    raw_exchange,
    reset,
    websocket_echo,
    websocket_roundtrip,
)

pytestmark = pytest.mark.e2e

ENDPOINT = Path(__file__).resolve().parent / "command_endpoint_addon.py"
NOT_COMMANDS = "headeraudit_filter=!~d command.invalid"
MODES = ("bare", "audit", "fix")
OK_BODY = b"still serving"
# the one header fix mode adds to any plain-http 2xx/4xx/5xx response of these upstreams
NOSNIFF = (b"X-Content-Type-Options", b"nosniff")
T = TypeVar("T")


# --------------------------------------------------------------------------- helpers


def assert_no_addon_failure(proc: MitmDump, since: int = 0, *, strict: bool = True) -> None:
    """No sign in mitmdump's output (from line `since`) that headeraudit failed. `strict`:
    no traceback at all either (use where mitmproxy itself has no reason to print one)."""
    output = output_since(proc, since)
    failures = headeraudit_failures(output)
    assert not failures, "headeraudit failed:\n" + "\n".join(failures) + f"\n--- output:\n{output[-4000:]}"
    if strict:
        assert "Traceback" not in output, f"traceback in mitmdump's output:\n{output[-4000:]}"


def output_since(proc: MitmDump, line: int) -> str:
    """mitmdump's output from line number `line` (a `line_count` taken earlier) on."""
    return "\n".join(proc.output.split("\n")[line:])  # the harness keeps one entry per "\n"-ended line


def command(proc: MitmDump, name: str, *args: str) -> tuple[int, str]:
    """Call a mitmproxy command in a running mitmdump (needs `-s ENDPOINT`)."""
    query = "&".join(f"arg={a}" for a in args)
    response = proc.client().get(f"http://command.invalid/{name}" + (f"?{query}" if query else ""))
    return response.status, response.body.decode("utf-8", "replace")


@dataclasses.dataclass
class Tally:
    """flows_audited and occurrences per (rule, evidence) in one report."""

    flows: int
    counts: collections.Counter[tuple[str, str]]

    @classmethod
    def of(cls, report: dict[str, Any]) -> Tally:
        counts: collections.Counter[tuple[str, str]] = collections.Counter()
        for f in report["findings"]:
            counts[(f["rule"], f["evidence"])] += f["count"]
        return cls(report["summary"]["flows_audited"], counts)

    def __sub__(self, before: Tally) -> Tally:
        return Tally(self.flows - before.flows, self.counts - before.counts)


@dataclasses.dataclass
class Shared:
    """One of the module-wide mitmdumps."""

    mode: str  # bare, audit, fix
    streamed: bool
    proc: MitmDump
    folder: Path

    @property
    def port(self) -> int:
        assert self.proc.port is not None
        return self.proc.port

    def tally(self, schema: dict[str, Any]) -> Tally:
        """headeraudit's report right now (via the headeraudit.report command)."""
        path = self.folder / "snapshot.json"
        status, text = command(self.proc, "headeraudit.report", str(path))
        assert status == 200, text
        report = load_report(path, schema)
        check_report_consistent(report)
        return Tally.of(report)


class Matrix:
    """The six shared mitmdumps and a before/after view of what the addon ones recorded."""

    def __init__(self, procs: dict[tuple[str, bool], Shared], schema: dict[str, Any]) -> None:
        self.procs = procs
        self.schema = schema

    def row(self, streamed: bool) -> dict[str, Shared]:
        return {mode: self.procs[(mode, streamed)] for mode in MODES}

    def each(self, streamed: bool, fn: Callable[[Shared], T]) -> dict[str, T]:
        """fn(proxy) for the bare, audit and fix proxy of a row at the same time (so their
        waits overlap); an assertion in fn fails the test."""
        row = self.row(streamed)
        with concurrent.futures.ThreadPoolExecutor(len(row)) as pool:
            futures = {mode: pool.submit(fn, p) for mode, p in row.items()}
            return {mode: future.result(timeout=120) for mode, future in futures.items()}

    def start(self, streamed: bool) -> dict[str, tuple[int, Tally | None]]:
        """Remember each proxy's output position and the addon's tallies before a case."""
        return self.each(streamed, lambda p: (p.proc.line_count, p.tally(self.schema) if p.mode != "bare" else None))

    def finish(self, streamed: bool, marks: dict[str, tuple[int, Tally | None]], ok_url: str) -> dict[str, Tally]:
        """A normal request through each proxy right after the case must work (and be
        audited); nothing in the output may show headeraudit failing. Returns what each
        addon proxy recorded during the case, the normal request included."""

        def check(p: Shared) -> Tally | None:
            after = raw_exchange(p.port, ok_url)
            assert after.status == 200 and after.body == OK_BODY and after.error is None, \
                f"{p.mode}/{'streamed' if streamed else 'buffered'}: the proxy stopped serving: {after}"
            assert p.proc.alive
            line, before = marks[p.mode]
            delta = None
            if before is not None:
                delta = p.tally(self.schema) - before
                assert delta.counts[("server-version-disclosure", "ok/1")] == 1, \
                    f"{p.mode}: the normal request after the case was not audited: {delta}"
            assert_no_addon_failure(p.proc, line)
            return delta

        return {mode: delta for mode, delta in self.each(streamed, check).items() if delta is not None}


# --------------------------------------------------------------------------- module-wide servers


def _reset_mid_body(sock: Any, request: RawRequest) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nServer: reset-mid-body/1\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: 100000\r\n\r\n" + b"x" * 1000)
    time.sleep(0.2)  # let mitmproxy read the head and the first bytes before the RST
    reset(sock)


def _reset_chunked(sock: Any, request: RawRequest) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nServer: reset-chunked/1\r\nContent-Type: text/plain\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n3e8\r\n" + b"y" * 1000 + b"\r\n")
    time.sleep(0.2)
    reset(sock)


def _reset_before_headers(sock: Any, request: RawRequest) -> None:
    reset(sock)


def _reset_mid_headers(sock: Any, request: RawRequest) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nServer: reset-mid-headers/1\r\nContent-Ty")
    time.sleep(0.2)
    reset(sock)


def _early_hints(sock: Any, request: RawRequest) -> None:
    sock.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n"
                 b"Server: early-hints/1\r\n\r\n")
    time.sleep(0.1)
    sock.sendall(http_response(200, [("Content-Type", "text/plain"), ("Server", "after-103/1")], b"final"))


def _no_headers(sock: Any, request: RawRequest) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\n\r\nbody of a response without any header")


def _not_modified(sock: Any, request: RawRequest) -> None:
    sock.sendall(b'HTTP/1.1 304 Not Modified\r\nServer: not-modified/1\r\nETag: "v1"\r\n'
                 b"Cache-Control: max-age=60\r\n\r\n")


LARGE = bytes(range(256)) * (3 * 4096)  # 3 MiB, every byte value
CHUNKS = [os.urandom(n) for n in (1, 7, 4096, 65536, 100_000, 3, 250_000)]


def _chunked(sock: Any, request: RawRequest) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nServer: chunked/1\r\nContent-Type: application/octet-stream\r\n"
                 b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    for chunk in CHUNKS:
        sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        time.sleep(0.005)
    sock.sendall(b"0\r\n\r\n")


HTML_PAGE = b"<!doctype html><title>t</title><p>" + b"h" * 5000


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    cert = make_self_signed(tmp_path_factory.mktemp("faults-tls"))
    raw = RawUpstream()
    raw.respond("/ok", 200, [("Content-Type", "text/plain"), ("Server", "ok/1")], OK_BODY)
    raw.route("/reset-mid-body", _reset_mid_body).route("/reset-chunked", _reset_chunked)
    raw.route("/reset-before-headers", _reset_before_headers).route("/reset-mid-headers", _reset_mid_headers)
    raw.route("/103", _early_hints).route("/no-headers", _no_headers).route("/304", _not_modified)
    raw.respond("/head", 200, [("Content-Type", "text/html"), ("Server", "head/1")], HTML_PAGE)
    raw.respond("/large", 200, [("Content-Type", "text/html"), ("Server", "large/1")], LARGE)
    raw.route("/chunked", _chunked)
    raw.route("/ws", websocket_echo([("Server", "websocket/1"), ("X-Powered-By", "wsapp")]))
    https1 = Upstream(tls_server_context(cert))
    https1.route("/page", headers=[("Content-Type", "text/html"), ("Server", "h1-upstream/1")], body=HTML_PAGE)
    h2 = H2Upstream(cert)
    h2.route("/page", 200, [("content-type", "text/html"), ("server", "h2-upstream/1")], HTML_PAGE * 30)
    yield {"raw": raw, "https1": https1, "h2": h2}
    raw.close()
    https1.close()
    h2.close()


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory, report_schema: dict[str, Any]) -> Iterator[Matrix]:
    """{bare, audit, fix} x {buffered, streamed} mitmdumps in regular proxy mode, sharing one
    confdir (one CA: the first one creates it before the others start)."""
    base = tmp_path_factory.mktemp("faults-matrix")
    confdir = base / "confdir"
    confdir.mkdir()
    procs: dict[tuple[str, bool], Shared] = {}
    try:
        for mode in MODES:
            for streamed in (False, True):
                args = ["--set", "ssl_insecure=true", "--set", "connection_strategy=lazy"]
                if streamed:
                    args += ["--set", "stream_large_bodies=1"]
                if mode != "bare":
                    args += ["-s", str(ADDON_SCRIPT), "-s", str(ENDPOINT), "--set", NOT_COMMANDS,
                             "--set", f"headeraudit_mode={mode}"]
                folder = base / f"{mode}-{'streamed' if streamed else 'buffered'}"
                folder.mkdir()
                procs[(mode, streamed)] = Shared(mode, streamed, MitmDump(args, confdir), folder)
                if len(procs) == 1:
                    procs[(mode, streamed)].proc.wait_listening()  # creates the CA
        for shared in procs.values():
            if shared.proc.port is None:
                shared.proc.wait_listening()
        yield Matrix(procs, report_schema)
    finally:
        codes = {key: shared.proc.stop() for key, shared in procs.items()}
    for key, shared in procs.items():
        assert codes[key] == 0, f"{key}: mitmdump exited {codes[key]}:\n{shared.proc.output[-3000:]}"
        assert_no_addon_failure(shared.proc)


BOTH = pytest.mark.parametrize("streamed", [False, True], ids=["buffered", "streamed"])


# --------------------------------------------------------------------------- 1. upstream resets


@BOTH
@pytest.mark.parametrize("path", ["/reset-mid-body", "/reset-chunked"])
def test_upstream_reset_mid_body_gives_the_client_the_same_failure(
    matrix: Matrix, servers: dict[str, Any], streamed: bool, path: str
) -> None:
    """The upstream sends the head and 1000 body bytes (of a 100000-byte Content-Length body,
    or one chunk of a chunked body), then resets the TCP connection (SO_LINGER 0 -> RST).
    Buffered, mitmproxy answers 502; streamed, the client has the head and the partial body,
    then the connection ends. The addon changes neither (fix mode: only its header edits).
    The response headers were seen, so the flow is audited (recorded in the report)."""
    raw = servers["raw"]
    marks = matrix.start(streamed)
    got = matrix.each(streamed, lambda p: raw_exchange(p.port, raw.url(path)))
    bare, audit, fix = got["bare"], got["audit"], got["fix"]
    if streamed:
        # the client has the head and the 1000 bytes (for the chunked body inside mitmproxy's
        # own chunk framing, which follows its socket reads), then the connection ends
        filler = b"x" if "body" in path else b"y"
        for result in got.values():
            assert result.status == 200 and result.body.count(filler) == 1000 and result.error == bare.error, result
        assert audit.head == bare.head, "audit mode changed the head"
        if "body" in path:
            assert audit.data == bare.data and fix.body == bare.body
        assert NOSNIFF in fix.headers and not fix.header("Server"), fix.head
    else:
        assert bare.status == 502 and b"peer closed connection" in bare.body, bare
        assert audit == bare and fix == bare  # mitmproxy's own error page, not audited
    evidence = path.strip("/") + "/1"
    deltas = matrix.finish(streamed, marks, raw.url("/ok"))
    for mode in ("audit", "fix"):
        assert deltas[mode].flows == 2, (mode, deltas[mode])
        assert deltas[mode].counts[("server-version-disclosure", evidence)] == 1, (mode, deltas[mode])


@BOTH
@pytest.mark.parametrize("path", ["/reset-before-headers", "/reset-mid-headers"])
def test_upstream_reset_before_the_headers_gives_the_client_the_same_502(
    matrix: Matrix, servers: dict[str, Any], streamed: bool, path: str
) -> None:
    """The upstream resets (RST) right after reading the request, or after half a header
    block. mitmproxy answers 502 with its own page; with or without the addon, in either
    mode, the client gets the same bytes, and nothing is audited (there was no response)."""
    raw = servers["raw"]
    marks = matrix.start(streamed)
    got = matrix.each(streamed, lambda p: raw_exchange(p.port, raw.url(path)))
    assert got["bare"].status == 502, got["bare"]
    assert got["audit"] == got["bare"] and got["fix"] == got["bare"], got
    deltas = matrix.finish(streamed, marks, raw.url("/ok"))
    for mode in ("audit", "fix"):
        assert deltas[mode].flows == 1, (mode, deltas[mode])  # only the normal request after


# --------------------------------------------------------------------------- 2. HTTP/2


def curl_via(p: Shared, url: str, out: Path) -> tuple[int, str, dict[str, list[str]], str]:
    """curl --http2 through a proxy (CONNECT, TLS with mitmproxy's CA): (curl exit, HTTP
    version, response headers from -v, stderr)."""
    done = curl("--http2", "-v", "-x", f"http://127.0.0.1:{p.port}", "--cacert", str(p.proc.cacert),
                "-o", str(out), "-w", "%{http_version}", url)
    stderr = done.stderr.decode("utf-8", "replace")
    headers: dict[str, list[str]] = collections.defaultdict(list)
    seen_final = False
    for line in stderr.splitlines():
        if line.startswith("< HTTP/"):
            seen_final = not line.startswith("< HTTP/1.1 200 Connection established")
            continue
        if seen_final and line.startswith("< ") and ":" in line:
            name, _, value = line[2:].partition(":")
            headers[name.strip()].append(value.strip())
    return done.returncode, done.stdout.decode(), headers, stderr


@BOTH
@pytest.mark.parametrize("upstream_kind", ["https1", "h2"], ids=["http1-upstream", "h2-upstream"])
def test_http2_client_body_unchanged_and_fixes_arrive_over_h2(
    matrix: Matrix, servers: dict[str, Any], tmp_path: Path, streamed: bool, upstream_kind: str
) -> None:
    """curl --http2 to mitmproxy (TLS, ALPN h2; the upstream is an HTTP/1.1 HTTPS server or
    an h2-only server made with the `h2` package). The client speaks HTTP/2 in every mode,
    gets the upstream's body byte for byte, and in fix mode receives the injected headers
    over h2 (shown by curl -v, lower-case as HTTP/2 requires)."""
    upstream = servers[upstream_kind]
    expected = HTML_PAGE * (30 if upstream_kind == "h2" else 1)
    marks = matrix.start(streamed)

    def fetch(p: Shared) -> dict[str, list[str]]:
        out = tmp_path / f"{p.mode}.body"
        code, version, headers, stderr = curl_via(p, upstream.url("/page"), out)
        assert code == 0, f"{p.mode}: curl failed ({code}):\n{stderr[-2000:]}"
        assert version == "2", f"{p.mode}: client side was HTTP/{version}, not HTTP/2"
        assert out.read_bytes() == expected, f"{p.mode}: body changed"
        return headers

    got = matrix.each(streamed, fetch)
    assert got["audit"] == got["bare"]
    assert got["bare"]["server"] == [f"{'h2' if upstream_kind == 'h2' else 'h1'}-upstream/1"]
    fix = got["fix"]
    assert fix["strict-transport-security"] == ["max-age=63072000; includeSubDomains"], fix
    assert fix["x-content-type-options"] == ["nosniff"] and fix["x-frame-options"] == ["DENY"], fix
    assert fix["content-security-policy"][0].startswith("default-src 'self'"), fix
    assert "server" not in fix and fix["content-type"] == ["text/html"], fix
    evidence = f"{'h2' if upstream_kind == 'h2' else 'h1'}-upstream/1"
    deltas = matrix.finish(streamed, marks, servers["raw"].url("/ok"))
    for mode in ("audit", "fix"):
        assert deltas[mode].counts[("server-version-disclosure", evidence)] == 1, (mode, deltas[mode])
        assert deltas[mode].counts[("hsts-missing", "missing")] == 1, (mode, deltas[mode])


def test_http2_fix_mode_sends_lower_case_header_names(
    matrix: Matrix, servers: dict[str, Any], mitmdump: MitmDumpFactory, tmp_path: Path
) -> None:
    """HTTP/2 forbids upper-case field names. On an h2 upstream's response (which mitmproxy
    forwards as-is when `normalize_outbound_headers=false`, and otherwise lower-cases with one
    log line per header per response), fix mode must add its headers in lower case: with
    normalisation off, curl must still get a valid response, and with it on (the shared fix
    proxy) mitmdump must not log "Lowercased ... header" for the headers the addon added.
    Proposed fix: /work/patches/fix-h2-lowercase.diff."""
    h2 = servers["h2"]
    shared = matrix.row(False)["fix"]
    mark = shared.proc.line_count
    code, _, _, stderr = curl_via(shared, h2.url("/page"), tmp_path / "a")
    assert code == 0, stderr
    command(shared.proc, "headeraudit.findings")  # a round trip: the flow's log lines are out
    lowercased = [line for line in output_since(shared.proc, mark).splitlines() if "Lowercased" in line]

    proc = mitmdump.start("-s", ADDON_SCRIPT, "--set", "ssl_insecure=true", "--set", "headeraudit_mode=fix",
                          "--set", "normalize_outbound_headers=false")
    p = Shared("fix", False, proc, tmp_path)
    code, version, headers, stderr = curl_via(p, h2.url("/page"), tmp_path / "b")
    assert code == 0 and version == "2", f"fix mode broke the HTTP/2 response (curl exit {code}):\n{stderr[-1500:]}"
    assert (tmp_path / "b").read_bytes() == HTML_PAGE * 30
    assert headers["x-content-type-options"] == ["nosniff"], headers
    assert not lowercased, "mitmproxy had to lower-case the addon's header names:\n" + "".join(lowercased)
    assert proc.stop() == 0
    assert_no_addon_failure(proc)


# --------------------------------------------------------------------------- 3. WebSocket


@BOTH
def test_websocket_upgrade_passes_and_101_is_audited(matrix: Matrix, servers: dict[str, Any], streamed: bool) -> None:
    """A WebSocket through the proxy (CONNECT, then the upgrade; wsproto on both ends): the
    101 Switching Protocols arrives, a text and a binary message are echoed both ways, and
    the close handshake completes, in every mode. headeraudit audits the 101 like any
    response: only rules that apply to any status fire (here server-version-disclosure and
    tech-disclosure), and fix mode removes those two headers from the 101; nothing is added
    and the upgrade headers are untouched."""
    raw = servers["raw"]
    marks = matrix.start(streamed)
    got = matrix.each(streamed, lambda p: websocket_roundtrip(p.port, raw.port, "/ws", ["hello", b"\x00\x01binary"]))
    for mode, result in got.items():
        assert result.status_line.startswith(b"HTTP/1.1 101"), (mode, result)
        assert result.received == ["echo:hello", b"echo:\x00\x01binary"], (mode, result)
        assert result.closed_cleanly, (mode, result)

    def without_accept(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        return [(k, v) for k, v in headers if k.lower() != b"sec-websocket-accept"]  # depends on the random key

    assert without_accept(got["audit"].headers) == without_accept(got["bare"].headers)
    assert without_accept(got["fix"].headers) == [
        (k, v) for k, v in without_accept(got["bare"].headers) if k.lower() not in (b"server", b"x-powered-by")]
    deltas = matrix.finish(streamed, marks, raw.url("/ok"))
    for mode in ("audit", "fix"):
        assert deltas[mode].counts[("server-version-disclosure", "websocket/1")] == 1, (mode, deltas[mode])
        assert deltas[mode].counts[("tech-disclosure", "wsapp")] == 1, (mode, deltas[mode])
        assert deltas[mode].flows == 2


# --------------------------------------------------------------------------- 4. streamed bodies


@BOTH
def test_large_and_chunked_bodies_identical_and_fixed_headers_present(
    matrix: Matrix, servers: dict[str, Any], streamed: bool
) -> None:
    """A 3 MiB Content-Length HTML body and a chunked binary body (chunks of 1 B to 250 kB),
    with and without `stream_large_bodies=1`: the body bytes the client gets are the
    upstream's (the 3 MiB response is byte-identical to bare mitmdump's; a streamed chunked
    body is re-framed by mitmproxy as chunks arrive, so its decoded bytes are compared), the
    head in audit mode is bare mitmdump's, and in fix mode the headers added in
    `responseheaders` are there even though the body was streamed."""
    raw = servers["raw"]
    marks = matrix.start(streamed)
    for path in ("/large", "/chunked"):
        got = matrix.each(streamed, lambda p, path=path: raw_exchange(p.port, raw.url(path)))
        for mode, result in got.items():
            assert result.status == 200 and result.error is None, (mode, result.head)
            body = dechunk(result.body) if result.header("Transfer-Encoding") == b"chunked" else result.body
            assert body == (LARGE if path == "/large" else b"".join(CHUNKS)), f"{mode} {path}: body changed"
        # (streamed, mitmproxy re-frames chunks as they arrive: compare decoded bodies, done above)
        assert got["audit"].head == got["bare"].head
        if path == "/large":
            assert got["audit"].data == got["bare"].data and got["fix"].body == got["bare"].body
        assert NOSNIFF in got["fix"].headers and not got["fix"].header("Server"), got["fix"].head
        if path == "/large":
            assert got["fix"].header("Content-Security-Policy"), got["fix"].head
            assert got["fix"].header("Content-Length") == str(len(LARGE)).encode()
    for mode, p in matrix.row(streamed).items():  # mitmproxy really streamed them (or really did not)
        streamed_lines = output_since(p.proc, marks[mode][0]).count("Streaming response from")
        assert streamed_lines == (2 if streamed else 0), (mode, streamed_lines)
    deltas = matrix.finish(streamed, marks, raw.url("/ok"))
    for mode in ("audit", "fix"):
        assert deltas[mode].counts[("server-version-disclosure", "large/1")] == 1
        assert deltas[mode].counts[("server-version-disclosure", "chunked/1")] == 1
        assert deltas[mode].flows == 3


# --------------------------------------------------------------------------- 5. HEAD, 304, 1xx, no headers


@BOTH
def test_head_is_audited_like_get_and_fixed_without_a_body(
    matrix: Matrix, servers: dict[str, Any], streamed: bool
) -> None:
    """HEAD of an HTML page: no body in any mode, Content-Length kept; the headers are
    audited like a GET's (document rules apply: csp-missing), and fix mode adds its headers."""
    raw = servers["raw"]
    marks = matrix.start(streamed)
    got = matrix.each(streamed, lambda p: raw_exchange(p.port, raw.url("/head"), method="HEAD"))
    assert got["audit"] == got["bare"]
    assert got["bare"].status == 200 and got["bare"].body == b"" and got["bare"].error is None
    fix = got["fix"]
    assert fix.status == 200 and fix.body == b"" and fix.header("Content-Length") == str(len(HTML_PAGE)).encode()
    assert fix.header("Content-Security-Policy") and NOSNIFF in fix.headers and not fix.header("Server"), fix.head
    deltas = matrix.finish(streamed, marks, raw.url("/ok"))
    for mode in ("audit", "fix"):
        assert deltas[mode].counts[("server-version-disclosure", "head/1")] == 1
        assert deltas[mode].counts[("csp-missing", "missing")] == 1


@BOTH
def test_304_only_any_status_rules_and_nothing_added(matrix: Matrix, servers: dict[str, Any], streamed: bool) -> None:
    """304 Not Modified (no body): as documented, 3xx responses are judged only by rules with
    `status: any` (server-version-disclosure fires; xcto-missing does not), so fix mode
    removes the versioned Server header and adds nothing."""
    raw = servers["raw"]
    marks = matrix.start(streamed)
    got = matrix.each(streamed, lambda p: raw_exchange(p.port, raw.url("/304")))
    assert got["audit"] == got["bare"] and got["bare"].status == 304 and got["bare"].body == b""
    bare_headers = [h for h in got["bare"].headers if h[0].lower() != b"server"]
    assert got["fix"].status == 304 and got["fix"].body == b"" and got["fix"].headers == bare_headers
    deltas = matrix.finish(streamed, marks, raw.url("/ok"))
    for mode in ("audit", "fix"):
        assert deltas[mode].counts[("server-version-disclosure", "not-modified/1")] == 1
        assert deltas[mode].counts[("xcto-missing", "missing")] == 1  # the normal request's, not the 304's
        assert deltas[mode].flows == 2


@BOTH
def test_103_early_hints_passes_as_mitmproxy_passes_it(matrix: Matrix, servers: dict[str, Any], streamed: bool) -> None:
    """The upstream writes raw `103 Early Hints` (Link, Server) then, 0.1 s later, the 200.
    mitmproxy itself (11.0.2 and 12.2.x, without any addon) takes the 103 as the final
    response and drops the 200 (upstream issue mitmproxy#2229); with the addon the client
    gets exactly the same bytes. headeraudit audits that 103 as the response: rules with
    `status: any` fire (the 103's Server header), and fix mode removes that header."""
    raw = servers["raw"]
    marks = matrix.start(streamed)
    got = matrix.each(streamed, lambda p: raw_exchange(p.port, raw.url("/103")))
    assert got["audit"] == got["bare"]
    assert got["bare"].status == 103, got["bare"]
    assert got["fix"].status == 103 and got["fix"].header("Link") == b"</style.css>; rel=preload; as=style"
    assert got["fix"].headers == [h for h in got["bare"].headers if h[0].lower() != b"server"]
    deltas = matrix.finish(streamed, marks, raw.url("/ok"))
    for mode in ("audit", "fix"):
        assert deltas[mode].counts[("server-version-disclosure", "early-hints/1")] == 1
        assert deltas[mode].flows == 2


@BOTH
def test_response_without_any_header(matrix: Matrix, servers: dict[str, Any], streamed: bool) -> None:
    """`HTTP/1.1 200 OK` + empty line + body, then close (no Content-Length, no header at all):
    the body reaches the client in every mode; the response is audited (xcto-missing), and
    fix mode adds exactly `X-Content-Type-Options: nosniff` (plain http: no HSTS)."""
    raw = servers["raw"]
    marks = matrix.start(streamed)
    got = matrix.each(streamed, lambda p: raw_exchange(p.port, raw.url("/no-headers")))
    assert got["audit"] == got["bare"]
    assert got["bare"].status == 200 and got["bare"].body == b"body of a response without any header"
    assert got["fix"].body == got["bare"].body and got["fix"].headers == got["bare"].headers + [NOSNIFF]
    deltas = matrix.finish(streamed, marks, raw.url("/ok"))
    for mode in ("audit", "fix"):
        assert deltas[mode].counts[("xcto-missing", "missing")] == 2  # this one and the normal request
        assert deltas[mode].flows == 2


# --------------------------------------------------------------------------- 6. rules file faults


def rules_generation(n: int) -> str:
    """A one-rule rules file whose rule id says its generation; its fix sets X-Probe: fixed-<n>."""
    return f"""\
version: 1
rules:
  - id: probe-gen-{n}
    header: X-Probe
    severity: low
    message: probe header not fixed (generation {n})
    check: {{equals: fixed-{n}}}
    fix: {{set: fixed-{n}}}
"""


def _replace(path: Path, how: str) -> None:
    """Put something unreadable where the rules file was."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        path.rmdir()
    if how == "deleted":
        return
    if how == "directory":
        path.mkdir()
    elif how == "dangling-symlink":
        path.symlink_to(path.parent / "no-such-rules.yaml")
    elif how == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\xfd rules: [\x80\x81]")
    elif how == "read-error":
        path.symlink_to("/proc/self/mem")  # opens, but read() at offset 0 fails with EIO, also for root
    else:
        raise ValueError(how)


def _restore(path: Path, text: str) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        path.rmdir()
    write_rules(path, text)


# (how the rules file is broken, what the error must say)
UNREADABLE = [
    ("deleted", "No such file or directory"),
    ("directory", "Is a directory"),
    ("dangling-symlink", "No such file or directory"),
    ("binary", "not UTF-8"),
    ("read-error", "Input/output error"),
]


def test_rules_file_deleted_or_unreadable_while_running_keeps_previous_rules(
    mitmdump: MitmDumpFactory, tmp_path: Path
) -> None:
    """While mitmdump runs (audit and fix mode side by side), the watched rules file is in
    turn deleted, replaced by a directory, by a dangling symlink, by binary (non-UTF-8)
    content, and by a symlink to /proc/self/mem (open succeeds, read fails with EIO: a real
    read error that root cannot bypass, unlike chmod 000). Each time: one error line naming
    the file, the cause, and that the previous rules stay active; the next request is still
    judged (and in fix mode fixed) by the previous rules; then a new valid file (the next
    generation) is picked up by the watcher without a restart."""
    upstream = Upstream()
    try:
        upstream.route("/probe", headers=[("Content-Type", "text/plain"), ("X-Probe", "raw")], body=b"probe body")
        procs = {}
        for mode in ("audit", "fix"):
            rules = tmp_path / f"{mode}-rules.yaml"
            write_rules(rules, rules_generation(0))
            procs[mode] = (rules, tmp_path / f"{mode}.mitm", mitmdump.start(
                "-s", ADDON_SCRIPT, "--set", f"headeraudit_rules={rules}", "--set", f"headeraudit_mode={mode}",
                "-w", tmp_path / f"{mode}.mitm"))
        expected: dict[str, list[int]] = {"audit": [], "fix": []}  # generation judging each flow

        def probe(generation: int) -> None:
            for mode, (_, _, proc) in procs.items():
                response = proc.client().get(upstream.url("/probe"))
                assert response.status == 200 and response.body == b"probe body", (mode, response)
                want = f"fixed-{generation}" if mode == "fix" else "raw"
                assert response.header("X-Probe") == want, (mode, generation, response.headers)
                expected[mode].append(generation)

        probe(0)
        for generation, (how, cause) in enumerate(UNREADABLE, start=1):
            marks = {mode: proc.line_count for mode, (_, _, proc) in procs.items()}
            for rules, _, _ in procs.values():
                _replace(rules, how)
            for mode, (rules, _, proc) in procs.items():
                line = proc.wait_for(".*" + re.escape(str(rules)) + ".*", timeout=8, since=marks[mode]).group(0)
                assert "previous rules stay active" in line and cause in line, f"{how}: unclear error: {line!r}"
                assert proc.alive
            probe(generation - 1)  # the previous rules are still in force

            marks = {mode: proc.line_count for mode, (_, _, proc) in procs.items()}
            for rules, _, _ in procs.values():
                _restore(rules, rules_generation(generation))
            for mode, (rules, _, proc) in procs.items():
                proc.wait_for(r"rules reloaded \(changed\): 1 rules from " + re.escape(str(rules)), timeout=8,
                              since=marks[mode])
            probe(generation)

        for mode, (rules, flows_path, proc) in procs.items():
            assert proc.stop() == 0, proc.output
            assert_no_addon_failure(proc)
            errors = [line for line in proc.output.splitlines() if "rules not reloaded" in line]
            assert len(errors) == len(UNREADABLE), f"{mode}: expected one error per broken state:\n" + "\n".join(errors)
            flows = read_flows(flows_path)
            judged = [int(next(iter({f["rule"] for f in flow.metadata["headeraudit"]["findings"]}))
                          .rsplit("-", 1)[1]) for flow in flows]
            assert judged == expected[mode], f"{mode}: generation per flow {judged} != {expected[mode]}"
    finally:
        upstream.close()


# --------------------------------------------------------------------------- 7. report path faults


@pytest.mark.parametrize("where", ["missing-folder", "read-only-folder"])
def test_report_path_unwritable_at_startup_is_refused(
    mitmdump: MitmDumpFactory, tmp_path: Path, where: str
) -> None:
    """`headeraudit_report` in a folder that does not exist, or in a folder on a read-only
    bind mount (EROFS; access(W_OK) says no even for root): mitmdump refuses to start (exit
    1) with a message naming the option, the path and why, and no report file appears."""
    folder = tmp_path / "reports"
    if where == "missing-folder":
        report = folder / "report.json"
        mount = None
    else:
        folder.mkdir()
        report = folder / "report.json"
        mount = BindMount(folder).__enter__()
        mount.read_only()
    try:
        proc = mitmdump.run("-s", ADDON_SCRIPT, "--set", f"headeraudit_report={report}", timeout=30)
    finally:
        if mount is not None:
            mount.__exit__(None, None, None)
    assert proc.returncode == 1, f"mitmdump did not refuse (exit {proc.returncode}):\n{proc.output}"
    assert re.search(r"headeraudit_report: cannot write '" + re.escape(str(report)) + "': "
                     + re.escape(str(folder)) + " is not a writable directory", proc.output), proc.output
    assert not report.exists()


def _fault_running(where: str, folder: Path, mount: Any) -> str:
    """Make the report folder unwritable while mitmdump runs; return the expected cause."""
    if where == "folder-removed":
        folder.rename(folder.with_name("reports-moved-away"))
        return "No such file or directory"
    if where == "folder-read-only":
        mount.read_only()
        return "Read-only file system"
    mount.fill()
    return "No space left on device"


@pytest.mark.parametrize("where", ["folder-removed", "folder-read-only", "disk-full"])
def test_report_write_failure_while_running_keeps_the_previous_report(
    mitmdump: MitmDumpFactory, tmp_path: Path, report_schema: dict[str, Any], where: str
) -> None:
    """A report is written (headeraudit.report; an explicit path in a missing folder is
    refused with a message naming it), then the folder is renamed away, remounted
    read-only (bind mount, EROFS) or filled up (a 256 KiB tmpfs filled to ENOSPC). Then the
    headeraudit.report command fails with an error and the log names the path, the cause and
    that the previous file is kept; the proxy keeps serving and auditing; at exit (SIGINT)
    the same clear error, exit status 0, and the previous report is byte-identical, with no
    temporary file left behind."""
    upstream = Upstream()
    folder = tmp_path / "reports"
    folder.mkdir()
    report = folder / "report.json"
    mount: Any = None
    if where == "folder-read-only":
        mount = BindMount(folder)
    elif where == "disk-full":
        mount = SmallTmpfs(folder)
    try:
        if mount is not None:
            mount.__enter__()
        upstream.route("/", headers=[("Content-Type", "text/plain"), ("Server", "reporting/1")], body=b"ok")
        proc = mitmdump.start("-s", ADDON_SCRIPT, "-s", ENDPOINT, "--set", NOT_COMMANDS,
                              "--set", f"headeraudit_report={report}")
        client = proc.client()
        assert client.get(upstream.url("/")).body == b"ok"
        status, text = command(proc, "headeraudit.report")
        assert status == 200 and str(report) in text, text
        previous = report.read_bytes()
        assert load_report(report, report_schema)["summary"]["flows_audited"] == 1
        elsewhere = tmp_path / "no-such-folder" / "r.json"  # an explicit path in a missing folder
        status, text = command(proc, "headeraudit.report", str(elsewhere))
        assert status == 500 and str(elsewhere) in text and "not a writable directory" in text, text

        cause = _fault_running(where, folder, mount)
        kept = report if where != "folder-removed" else folder.with_name("reports-moved-away") / "report.json"
        assert client.get(upstream.url("/")).body == b"ok"
        mark = proc.line_count
        status, text = command(proc, "headeraudit.report")
        assert status == 500 and "could not be written" in text, text
        command_error = text
        message = re.escape(f"headeraudit: could not write report {report}: {cause}; the previous file is kept")
        proc.wait_for(message, since=mark, timeout=5)
        assert client.get(upstream.url("/")).body == b"ok", "the proxy stopped serving"
        status, text = command(proc, "headeraudit.findings")
        assert status == 200 and "server-version-disclosure ×3" in text, text  # still auditing

        mark = proc.line_count
        assert proc.stop() == 0, proc.output
        exit_output = output_since(proc, mark)
        assert re.search(message, exit_output), f"no clear error at exit:\n{exit_output}"
        assert re.search(r"headeraudit: 3 flows audited", exit_output), exit_output
        assert kept.read_bytes() == previous, "the previous report was changed"
        assert not list(kept.parent.glob(".headeraudit-*")), "a temporary file was left behind"
        if where == "folder-removed":
            assert not folder.exists(), "the report folder was recreated"
        assert_no_addon_failure(proc)
        # last, so that the rest is checked before the proposed patch is in:
        # /work/patches/report-command-names-path.diff
        assert str(report) in command_error, f"the command's error does not name the report: {command_error!r}"
    finally:
        upstream.close()
        if mount is not None:
            mount.__exit__(None, None, None)


# --------------------------------------------------------------------------- 8. signals


@pytest.mark.parametrize("mode", ["audit", "fix"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_with_requests_in_flight_still_writes_the_report(
    mitmdump: MitmDumpFactory, tmp_path: Path, report_schema: dict[str, Any], signum: int, mode: str
) -> None:
    """Three requests complete; then two stall at the upstream (one before any response
    byte, one after the head and 10 of 1000 body bytes, streamed so the client has the
    head); then mitmdump gets SIGINT or SIGTERM. It exits 0 promptly, the in-flight clients
    see their connections end (no hang), and the report is written: valid against the
    schema, with the 3 completed flows plus the stalled one whose headers were audited."""
    raw = RawUpstream()
    try:
        raw.respond("/ok", 200, [("Content-Type", "text/plain"), ("Server", "ok/1")], OK_BODY)

        def stall_before(sock: Any, request: RawRequest) -> None:
            raw.release.wait(30)

        def stall_mid_body(sock: Any, request: RawRequest) -> None:
            sock.sendall(b"HTTP/1.1 200 OK\r\nServer: stalled/1\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 1000\r\n\r\n" + b"z" * 10)
            raw.release.wait(30)

        raw.route("/stall-before", stall_before).route("/stall-mid-body", stall_mid_body)
        report = tmp_path / "report.json"
        proc = mitmdump.start("-s", ADDON_SCRIPT, "--set", f"headeraudit_report={report}",
                              "--set", f"headeraudit_mode={mode}", "--set", "stream_large_bodies=1")
        for _ in range(3):
            assert raw_exchange(proc.port, raw.url("/ok")).body == OK_BODY
        results: dict[str, Any] = {}

        def fetch(path: str) -> None:
            results[path] = raw_exchange(proc.port, raw.url(path), timeout=20)

        threads = [threading.Thread(target=fetch, args=(p,), daemon=True) for p in ("/stall-before", "/stall-mid-body")]
        for t in threads:
            t.start()
        proc.wait_for(r"server-version-disclosure: .*stalled/1", timeout=10)  # audited, body still pending
        deadline = time.monotonic() + 5
        while len(raw.requests) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(raw.requests) == 5, "the stalled requests did not reach the upstream"
        started = time.monotonic()
        proc.proc.send_signal(signum)
        assert proc.wait_exit(15) == 0, f"exit status {proc.returncode} (or no exit in 15 s):\n{proc.output}"
        took = time.monotonic() - started
        for t in threads:
            t.join(10)
        assert set(results) == {"/stall-before", "/stall-mid-body"}, "a client hung after the proxy exited"
        assert results["/stall-mid-body"].status == 200 and results["/stall-mid-body"].body == b"z" * 10
        assert results["/stall-before"].status is None  # the connection just ends, as without the addon
        assert took < 10, f"shutdown took {took:.1f}s"

        data = load_report(report, report_schema)
        check_report_consistent(data)
        assert data["summary"]["flows_audited"] == 4, data["summary"]
        counts = Tally.of(data).counts
        assert counts[("server-version-disclosure", "ok/1")] == 3 and counts[("server-version-disclosure", "stalled/1")] == 1
        assert data["mode"] == mode
        if mode == "fix":
            assert any(f["edit"] == "-Server" and f["applied"] for f in data["fixes"]), data["fixes"]
        assert re.search(r"headeraudit: 4 flows audited, .*; report: " + re.escape(str(report)), proc.output)
        # mitmproxy itself prints asyncio's CancelledError traceback for connections still open
        # at shutdown (also without any addon); none may come from headeraudit.
        assert_no_addon_failure(proc, strict=False)
    finally:
        raw.close()


def test_a_traceback_counts_as_ours_by_where_our_code_is_not_by_the_checkout_name() -> None:
    """The README clones into a folder named headeraudit: mitmproxy's own frames then contain the
    word (…/headeraudit/.venv/lib/…/mitmproxy/…) and a shutdown traceback of mitmproxy's own was
    counted as the addon's."""
    from fault_helpers import OUR_CODE

    theirs = "\n".join([
        "Traceback (most recent call last):",
        '  File "/home/u/headeraudit/.venv/lib/python3.11/site-packages/mitmproxy/proxy/server.py", line 1, in f',
        "asyncio.exceptions.CancelledError",
        "",
    ])
    ours = "\n".join([
        "Traceback (most recent call last):",
        f'  File "{OUR_CODE[0]}mitm/addon.py", line 1, in responseheaders',
        "ValueError: boom",
        "",
    ])
    assert headeraudit_failures(theirs) == []
    assert headeraudit_failures(ours) == [ours.strip()]
