"""The loopback sink that answers CSP reports mitmproxy streams (mitm/sink.py): it answers only
the tokens it issued, reads at most its cap, and hands each body on with the host it came from."""

from __future__ import annotations

import asyncio

from mitmproxy.test import tflow
from mitmproxy.test.tutils import treq

from headeraudit.mitm.sink import MAX_PENDING, ReportSink


async def started(cap: int = 1000) -> tuple[ReportSink, list[tuple[str, bytes]]]:
    got: list[tuple[str, bytes]] = []
    sink = ReportSink(lambda host, body, learning: got.append((host, body)), cap)
    sink.start()
    for _ in range(100):
        if sink.port is not None:
            break
        await asyncio.sleep(0.01)
    assert sink.port is not None
    return sink, got


async def send(sink: ReportSink, raw: bytes) -> bytes:
    assert sink.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
    writer.write(raw)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


def report_flow(host: str = "www.example.com"):
    req = treq(method=b"POST", scheme=b"https", host=host, port=443, path=b"/.well-known/headeraudit/csp-report",
               headers=[(b"host", host.encode()), (b"content-type", b"application/csp-report")])
    return tflow.tflow(req=req)


def token_of(flow) -> str:
    return flow.request.path.lstrip("/")


async def test_a_redirected_report_reaches_the_sink_and_only_the_sink():
    sink, got = await started()
    try:
        flow = report_flow()
        assert sink.redirect(flow, "www.example.com")
        request = flow.request
        assert (request.scheme, request.host, request.port) == ("http", "127.0.0.1", sink.port)
        assert flow.server_conn.address == ("127.0.0.1", sink.port) and flow.server_conn.via is None  # never via an upstream proxy
        answer = await send(sink, f"POST /{token_of(flow)} HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody".encode())
        assert answer.startswith(b"HTTP/1.1 204 ")
        assert got == [("www.example.com", b"body")]
        ReportSink.restore(flow)
        assert (flow.request.host, flow.request.path) == ("www.example.com", "/.well-known/headeraudit/csp-report")
    finally:
        sink.close()


async def test_a_chunked_body_is_read_and_a_token_answers_once():
    sink, got = await started()
    try:
        flow = report_flow()
        sink.redirect(flow, "a.example")
        chunked = f"POST /{token_of(flow)} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3;x=y\r\ncde\r\n0\r\n\r\n".encode()
        assert (await send(sink, chunked)).startswith(b"HTTP/1.1 204 ")
        assert got == [("a.example", b"abcde")]
        assert (await send(sink, chunked)).startswith(b"HTTP/1.1 404 ")  # used: nothing else is answered
        assert len(got) == 1
    finally:
        sink.close()


async def test_unknown_tokens_and_bodies_over_the_cap_are_refused():
    sink, got = await started(cap=10)
    try:
        assert (await send(sink, b"POST /guess HTTP/1.1\r\nContent-Length: 1\r\n\r\nx")).startswith(b"HTTP/1.1 404 ")
        for framing, body in ((b"Content-Length: 11\r\n\r\n", b"x" * 11),
                              (b"Transfer-Encoding: chunked\r\n\r\n", b"6\r\nxxxxxx\r\n6\r\nxxxxxx\r\n0\r\n\r\n")):
            flow = report_flow()
            sink.redirect(flow, "a.example")
            answer = await send(sink, f"POST /{token_of(flow)} HTTP/1.1\r\n".encode() + framing + body)
            assert answer.startswith(b"HTTP/1.1 413 ")
        assert got == []
    finally:
        sink.close()


async def test_tokens_never_answered_are_bounded():
    sink, _ = await started()
    try:
        for _ in range(MAX_PENDING + 50):
            sink.redirect(report_flow(), "a.example")
        assert len(sink._pending) == MAX_PENDING
    finally:
        sink.close()


async def test_no_redirect_before_the_sink_listens():
    sink = ReportSink(lambda host, body, learning: None, 10)
    flow = report_flow()
    assert not sink.redirect(flow, "a.example")
    assert flow.request.host == "www.example.com"
