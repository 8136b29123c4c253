"""The requests a real mitmdump answers itself: the CSP report sink (fix mode's CSP preview)
whatever streams request bodies, and the live report page's cross-site refusal, host
matching and rendering cache.

Regular proxy mode, plain HTTP to a local upstream; CSP reports are sent on a raw socket so
the framing (Content-Length or chunked) is the test's.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from e2e_harness import HTTP_TIMEOUT, MitmDump, MitmDumpFactory, Upstream, curl, parse_raw_response

pytestmark = pytest.mark.e2e

CSP_REPORT_PATH = "/.well-known/headeraudit/csp-report"
CSP_REPORT_MAX_BYTES = 128 * 1024  # endpoints.CSP_REPORT_MAX_BYTES, as documented
PREVIEW = ("--set", "headeraudit_mode=fix", "--set", "headeraudit_csp_preview=report-only")
REPORT = json.dumps({"csp-report": {
    "document-uri": "http://127.0.0.1/page", "violated-directive": "img-src", "effective-directive": "img-src",
    "blocked-uri": "http://evil.example/x.png", "disposition": "report"}}).encode()
# Streams every request body, as mitmproxy's examples do: loaded before headeraudit.
STREAM_ALL = "def requestheaders(flow):\n    flow.request.stream = True\n"


def post(proxy: MitmDump, url: str, body: bytes, *, chunked: bool = False) -> bytes:
    """POST `body` through the proxy (absolute-form, `Connection: close`), declared by
    Content-Length or sent chunked; the raw answer, b"" if the proxy closed without one."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    host = url.split("/")[2]
    head = (f"POST {url} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/csp-report\r\n"
            f"{framing}\r\nConnection: close\r\n\r\n").encode()
    data = head + (f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n" if chunked else body)
    assert proxy.port is not None
    chunks = []
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=HTTP_TIMEOUT) as sock:
        try:
            sock.sendall(data)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError):
            pass
    return b"".join(chunks)


def status_of(raw: bytes) -> int | None:
    return parse_raw_response(raw)[0] if raw else None


def origin_sink(upstream: Upstream) -> str:
    """The reserved path on a proxied origin, which answers it itself if it ever gets it."""
    upstream.route(CSP_REPORT_PATH, 200, [("Content-Type", "text/plain")], b"the origin answered")
    upstream.route("/upload", 200, [("Content-Type", "text/plain")], b"uploaded")
    return upstream.url(CSP_REPORT_PATH)


def test_csp_reports_are_answered_by_the_proxy_when_an_addon_streams_request_bodies(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path
) -> None:
    script, report = tmp_path / "stream_all.py", tmp_path / "r.json"
    script.write_text(STREAM_ALL)
    sink = origin_sink(upstream)
    proxy = mitmdump.start("-s", script, "-s", addon_script, *PREVIEW, "--set", f"headeraudit_report={report}")
    assert status_of(post(proxy, sink, REPORT)) == 204
    assert status_of(post(proxy, sink, REPORT, chunked=True)) == 204
    # Declared over the cap and being streamed: refused, rather than buffered whole or forwarded.
    assert post(proxy, sink, b"{" + b" " * CSP_REPORT_MAX_BYTES + b"}") == b""
    assert status_of(post(proxy, upstream.url("/upload"), b"x" * 5000)) == 200  # the script does stream bodies
    assert proxy.stop() == 0, proxy.output

    assert [(r.method, r.path, len(r.body)) for r in upstream.requests] == [("POST", "/upload", 5000)]
    assert "Streaming request to 127.0.0.1" in proxy.output, proxy.output
    (csp,) = json.loads(report.read_text())["csp_reports"]
    assert csp["directive"] == "img-src" and csp["count"] == 2, csp


def test_csp_reports_over_stream_large_bodies_are_answered_by_the_proxy_never_forwarded(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path
) -> None:
    """mitmproxy streams a body over stream_large_bodies to the flow's server as soon as it has
    buffered that much, whatever an addon set: the addon makes that server its own loopback
    sink, which answers and counts the report; the origin never sees it."""
    report, flows_path = tmp_path / "r.json", tmp_path / "out.mitm"
    sink = origin_sink(upstream)
    proxy = mitmdump.start("-s", addon_script, *PREVIEW, "--set", "stream_large_bodies=1",
                           "--set", f"headeraudit_report={report}", "-w", flows_path)
    assert status_of(post(proxy, sink, REPORT)) == 204
    assert status_of(post(proxy, sink, REPORT, chunked=True)) == 204
    padded = REPORT[:-1] + b" " * (CSP_REPORT_MAX_BYTES + 1 - len(REPORT)) + b"}"
    assert post(proxy, sink, padded) == b""  # declared over the cap: refused, closed without an answer
    assert status_of(post(proxy, upstream.url("/upload"), b"x" * 5000)) == 200  # other bodies stream as asked
    page = proxy.client().get("http://headeraudit.proxy/report.json")  # no body: answered as usual
    assert page.status == 200
    assert proxy.stop() == 0, proxy.output

    assert [r.path for r in upstream.requests] == ["/upload"]
    assert "origin answered" not in proxy.output and "internal error" not in proxy.output
    (csp,) = json.loads(report.read_text())["csp_reports"]
    assert csp["directive"] == "img-src" and csp["count"] == 2, csp
    # The saved flows show the requests as the client sent them.
    from e2e_harness import read_flows
    reports = [f for f in read_flows(flows_path) if f.request.path == CSP_REPORT_PATH]
    assert len(reports) == 3 and all(f.request.host == "127.0.0.1" and f.request.port == upstream.port for f in reports)
    assert [f.response.status_code for f in reports if f.response] == [204, 204]  # the third was refused


def test_csp_report_bodies_over_the_cap_get_413(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    sink = origin_sink(upstream)
    proxy = mitmdump.start("-s", addon_script, *PREVIEW, "--set", f"headeraudit_report={report}")
    padded = REPORT[:-1] + b" " * (CSP_REPORT_MAX_BYTES + 1 - len(REPORT)) + b"}"
    assert status_of(post(proxy, sink, padded)) == 413
    assert status_of(post(proxy, sink, padded, chunked=True)) == 413
    assert status_of(post(proxy, sink, REPORT)) == 204
    assert proxy.stop() == 0, proxy.output
    assert upstream.requests == []
    (csp,) = json.loads(report.read_text())["csp_reports"]
    assert csp["count"] == 1


def test_report_page_refuses_other_sites_and_answers_its_host_with_a_trailing_dot(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path
) -> None:
    proxy = mitmdump.start("-s", addon_script)
    client = proxy.client()
    for site in ("cross-site", "same-site"):
        refused = client.get("http://headeraudit.proxy/report.json", headers={"Sec-Fetch-Site": site})
        assert refused.status == 403 and b"not served to other sites" in refused.body, (site, refused)
        assert refused.header("Content-Security-Policy") and refused.header("Cache-Control") == "no-store"
    for headers in ({"Sec-Fetch-Site": "none"}, {"Sec-Fetch-Site": "same-origin"}, {}):
        served = client.get("http://headeraudit.proxy/report.json", headers=headers)
        assert served.status == 200 and json.loads(served.body)["summary"]["flows_audited"] == 0, headers
    for url in ("http://headeraudit.proxy./report.json", "http://HEADERAUDIT.Proxy./", "http://HeaderAudit.PROXY/"):
        assert client.get(url).status == 200, url
    assert proxy.stop() == 0, proxy.output
    assert upstream.requests == []


@pytest.mark.parametrize("http_version", ["--http1.1", "--http2"])
def test_report_page_answers_over_https_as_a_browser_tries_it(
    mitmdump: MitmDumpFactory, addon_script: Path, http_version: str
) -> None:
    """No server named headeraudit.proxy exists: the CONNECT tunnel and the TLS handshake are the
    proxy's own (certificate from mitmproxy's CA), with no attempt to reach such a server."""
    proxy = mitmdump.start("-s", addon_script)
    via = ("--proxy", f"http://127.0.0.1:{proxy.port}", "--cacert", str(proxy.cacert), http_version)
    page = curl(*via, "-D", "-", "https://headeraudit.proxy/")
    assert page.returncode == 0, page.stderr
    head, _, body = page.stdout.partition(b"\r\n\r\n<")
    assert b" 200" in head.split(b"\r\n\r\n")[-1] and b"content-security-policy" in head.lower(), head
    assert b"headeraudit" in body
    report = curl(*via, "https://HeaderAudit.Proxy./report.json")
    assert report.returncode == 0 and json.loads(report.stdout)["tool"] == "headeraudit", report.stderr
    assert proxy.stop() == 0, proxy.output
    assert "error establishing server connection" not in proxy.output and "Unable to establish" not in proxy.output, proxy.output


def test_report_page_off_is_not_answered_over_https(mitmdump: MitmDumpFactory, addon_script: Path) -> None:
    proxy = mitmdump.start("-s", addon_script, "--set", "headeraudit_report_page=false")
    result = curl("--proxy", f"http://127.0.0.1:{proxy.port}", "--cacert", str(proxy.cacert), "-o", "/dev/null",
                  "-w", "%{http_code}", "https://headeraudit.proxy/")
    assert result.stdout != b"200", result  # mitmproxy tried the (nonexistent) server
    assert proxy.stop() == 0, proxy.output


def test_report_page_renderings_are_reused_for_the_refresh_interval(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path
) -> None:
    upstream.route("/", headers=[("Content-Type", "text/html")], body=b"<p>hi</p>")
    proxy = mitmdump.start("-s", addon_script)
    client = proxy.client()
    first = client.get("http://headeraudit.proxy/report.json")
    rendered_by = time.monotonic()  # the proxy rendered it before this
    assert json.loads(first.body)["summary"]["flows_audited"] == 0
    assert client.get(upstream.url("/")).status == 200  # audited now...
    again = client.get("http://headeraudit.proxy/report.json")
    assert again.body == first.body  # ...but the rendering is reused
    time.sleep(max(0.0, rendered_by + 5.3 - time.monotonic()))  # REPORT_PAGE_REFRESH = 5 s
    fresh = client.get("http://headeraudit.proxy/report.json")
    assert json.loads(fresh.body)["summary"]["flows_audited"] == 1
    assert proxy.stop() == 0, proxy.output
