#!/usr/bin/env python3
"""Record examples/sample.mitm and examples/sample.har: realistic traffic of a few made-up sites.

    .venv/bin/python examples/make_examples.py        # rewrites both files

How: `TRAFFIC` below lists requests and the responses the made-up servers give. A local
server on 127.0.0.1 (http and https, self-signed) plays those servers; mitmdump runs as a
regular proxy with examples/fakehosts_addon.py, which sends www.example.com & co. to that
local server while the recorded flows keep the made-up names, and records with `-w` and
`--set hardump=`. The flows are then made reproducible (fixed timestamps, ids and
addresses, no certificates) and written to sample.mitm, and sample.har is produced from
that with `mitmdump -nr sample.mitm --set hardump=sample.har`. Finally both files are
read back with `mitmdump -nr` to check they load. Nothing leaves 127.0.0.1.

Which mitmproxy: the one next to the running interpreter (any of 11.0.2 .. 12.2.x; both
read what the other writes, flow format 21).
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import uuid
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
MITMDUMP = Path(sys.executable).parent / "mitmdump"
START = datetime.datetime(2026, 1, 15, 9, 30, 0, tzinfo=datetime.timezone.utc).timestamp()
SERVER_IPS = {  # documentation addresses (RFC 5737), only ever written into the files
    "www.example.com": "203.0.113.10",
    "api.example.com": "203.0.113.11",
    "legacy.example.org": "198.51.100.20",
    "shop.example.net": "192.0.2.30",
    "cdn.example.net": "192.0.2.31",
}

HTML = "text/html; charset=utf-8"
JSON = "application/json"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
HSTS_2Y = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
HSTS_1Y = ("Strict-Transport-Security", "max-age=31536000")
NOSNIFF = ("X-Content-Type-Options", "nosniff")
GOOD_CSP = ("Content-Security-Policy",
            "default-src 'self'; script-src 'self' 'nonce-6gTz0bVh'; object-src 'none'; base-uri 'self'; "
            "frame-ancestors 'none'; form-action 'self'; upgrade-insecure-requests")
WWW_BASE = [HSTS_2Y, NOSNIFF, ("Referrer-Policy", "strict-origin-when-cross-origin"), ("Server", "nginx")]
WWW_PAGE = [*WWW_BASE, GOOD_CSP, ("X-Frame-Options", "DENY"),
            ("Permissions-Policy", "camera=(), microphone=(), geolocation=()")]
LEGACY = [("Server", "Apache/2.4.1 (Unix) OpenSSL/1.0.2k-fips PHP/5.6.40"), ("X-Powered-By", "PHP/5.6.40")]
SHOP_BASE = [("Strict-Transport-Security", "max-age=15768000"), ("Server", "nginx/1.18.0 (Ubuntu)"),
             ("X-Powered-By", "Next.js")]
SHOP_PAGE = [*SHOP_BASE, NOSNIFF, ("X-Frame-Options", "SAMEORIGIN"),
             ("Content-Security-Policy",
              "default-src 'self' https:; script-src 'self' 'unsafe-inline' 'unsafe-eval' https://cdn.example.net; "
              "img-src * data:; style-src 'self' 'unsafe-inline'")]
GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def page(title: str, extra: str = "") -> str:
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<link rel=\"stylesheet\" href=\"/static/site.css\"></head>\n<body><h1>{title}</h1>{extra}"
            f"<script src=\"/static/app.js\"></script></body></html>\n")


# (method, url, request headers, status, response headers, body)
TRAFFIC: list[tuple[str, str, list[tuple[str, str]], int, list[tuple[str, str]], bytes | str]] = [
    # www.example.com: a well-run site, a weak CSP on the login page, one cookie without HttpOnly
    ("GET", "https://www.example.com/", [], 200,
     [("Content-Type", HTML), *WWW_PAGE,
      ("Set-Cookie", "sessionid=8f14e45fceea167a; Path=/; Secure; HttpOnly; SameSite=Lax")],
     page("Example", "<p>Welcome.</p>")),
    ("GET", "https://www.example.com/static/site.css", [], 200,
     [("Content-Type", "text/css"), *WWW_BASE, ("Cache-Control", "public, max-age=31536000, immutable")],
     "body{font-family:system-ui;margin:0 auto;max-width:40rem}\n"),
    ("GET", "https://www.example.com/static/app.js", [], 200,
     [("Content-Type", "text/javascript"), *WWW_BASE, ("Cache-Control", "public, max-age=31536000, immutable")],
     "document.documentElement.classList.add('js');\n"),
    ("GET", "https://www.example.com/favicon.ico", [], 200,
     [("Content-Type", "image/gif"), *WWW_BASE], GIF),
    ("GET", "https://www.example.com/blog/", [], 200, [("Content-Type", HTML), *WWW_PAGE],
     page("Blog", "<ul><li><a href=\"/blog/hsts\">Why HSTS</a></li></ul>")),
    ("GET", "https://www.example.com/blog/", [], 200, [("Content-Type", HTML), *WWW_PAGE],
     page("Blog", "<ul><li><a href=\"/blog/hsts\">Why HSTS</a></li></ul>")),
    ("GET", "https://www.example.com/robots.txt", [], 200, [("Content-Type", "text/plain"), *WWW_BASE],
     "User-agent: *\nDisallow: /account\n"),
    ("GET", "https://www.example.com/login", [], 200,
     [("Content-Type", HTML), *WWW_BASE, ("X-Frame-Options", "DENY"),
      ("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'"),
      ("Set-Cookie", "csrftoken=Zm9vYmFyYmF6; Path=/; Secure; SameSite=Strict")],
     page("Sign in", "<form method=\"post\"><input name=\"user\"><input name=\"password\" type=\"password\"></form>")),
    ("POST", "https://www.example.com/login", [("Content-Type", "application/x-www-form-urlencoded"),
                                               ("Origin", "https://www.example.com")], 302,
     [("Location", "/account"), ("Content-Type", HTML), *WWW_BASE,
      ("Set-Cookie", "sessionid=1679091c5a880faf; Path=/; Secure; SameSite=Lax")], ""),
    ("GET", "https://www.example.com/account", [], 200,
     [("Content-Type", HTML), *WWW_PAGE, ("Cache-Control", "no-store")], page("Your account")),
    # api.example.com: JSON API with CORS, one endpoint reflects any Origin with credentials
    ("GET", "https://api.example.com/v1/status", [("Accept", JSON)], 200,
     [("Content-Type", JSON), HSTS_1Y, NOSNIFF, ("Access-Control-Allow-Origin", "*"), ("Server", "envoy")],
     '{"status":"ok"}'),
    ("OPTIONS", "https://api.example.com/v1/orders", [("Origin", "https://app.example.com"),
                                                      ("Access-Control-Request-Method", "POST")], 204,
     [HSTS_1Y, NOSNIFF, ("Access-Control-Allow-Origin", "https://app.example.com"),
      ("Access-Control-Allow-Methods", "GET, POST"), ("Access-Control-Allow-Headers", "Content-Type"),
      ("Access-Control-Allow-Credentials", "true"), ("Access-Control-Max-Age", "600"), ("Vary", "Origin"),
      ("Server", "envoy")], ""),
    ("GET", "https://api.example.com/v1/me", [("Accept", JSON), ("Origin", "https://app.example.com")], 200,
     [("Content-Type", JSON), HSTS_1Y, NOSNIFF, ("Access-Control-Allow-Origin", "https://app.example.com"),
      ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin"), ("Server", "envoy")],
     '{"id":42,"name":"Ada"}'),
    ("GET", "https://api.example.com/v1/me", [("Accept", JSON), ("Origin", "https://evil.example.net")], 200,
     [("Content-Type", JSON), HSTS_1Y, NOSNIFF, ("Access-Control-Allow-Origin", "https://evil.example.net"),
      ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin"), ("Server", "envoy")],
     '{"id":42,"name":"Ada"}'),
    ("GET", "https://api.example.com/v1/orders?page=1", [("Accept", JSON)], 200,
     [("Content-Type", JSON), HSTS_1Y, ("Server", "envoy")], '{"orders":[{"id":1001,"total":"19.90"}],"next":2}'),
    ("GET", "https://api.example.com/v1/orders?page=2", [("Accept", JSON)], 200,
     [("Content-Type", JSON), HSTS_1Y, ("Server", "envoy")], '{"orders":[],"next":null}'),
    ("GET", "https://api.example.com/v0/users", [("Accept", JSON)], 200,
     [("Content-Type", JSON), ("X-Powered-By", "Express"), ("Access-Control-Allow-Origin", "*")],
     '[{"id":1,"name":"root"}]'),
    # legacy.example.org: an old PHP site over plain http, moving to https
    ("GET", "http://legacy.example.org/", [], 200,
     [("Content-Type", "text/html"), *LEGACY, ("Set-Cookie", "PHPSESSID=q2kj4h5g6f7d8s9a0; path=/")],
     page("Legacy portal", "<marquee>Under construction</marquee>")),
    ("GET", "http://legacy.example.org/index.php?page=news", [], 200,
     [("Content-Type", "text/html"), *LEGACY, ("Set-Cookie", "PHPSESSID=q2kj4h5g6f7d8s9a0; path=/")],
     page("News")),
    ("GET", "http://legacy.example.org/images/logo.gif", [], 200,
     [("Content-Type", "image/gif"), *LEGACY[:1], ("Last-Modified", "Tue, 03 Mar 2009 10:00:00 GMT")], GIF),
    ("GET", "http://legacy.example.org/admin/", [], 403,
     [("Content-Type", "text/html"), *LEGACY[:1]], "<html><body><h1>Forbidden</h1></body></html>\n"),
    ("GET", "http://legacy.example.org/old-page", [], 301,
     [("Location", "https://legacy.example.org/new"), ("Content-Type", "text/html"), *LEGACY[:1]],
     "<html><body>Moved <a href=\"https://legacy.example.org/new\">here</a></body></html>\n"),
    ("GET", "https://legacy.example.org/new", [], 200,
     [("Content-Type", "text/html"), ("Strict-Transport-Security", "max-age=300"), *LEGACY,
      ("Content-Security-Policy", "script-src *"), ("X-Frame-Options", "SAMEORIGIN"),
      ("Set-Cookie", "PHPSESSID=z9y8x7w6v5u4t3s2r1; path=/; HttpOnly")],
     page("New portal")),
    # shop.example.net: a shop with a permissive CSP and a session cookie readable by scripts
    ("GET", "https://shop.example.net/", [], 200,
     [("Content-Type", HTML), *SHOP_PAGE, ("Set-Cookie", "session=eyJjYXJ0IjpbXX0; Path=/; Secure; SameSite=Lax"),
      ("Set-Cookie", "currency=EUR; Path=/; Secure")],
     page("Shop", "<p>Spring sale!</p>")),
    ("GET", "https://shop.example.net/products/42", [], 200, [("Content-Type", HTML), *SHOP_PAGE],
     page("Blue shoes", "<p>EUR 59.00</p>")),
    ("GET", "https://shop.example.net/_next/static/chunks/main.js", [], 200,
     [("Content-Type", "application/javascript"), *SHOP_BASE, NOSNIFF], "console.log('shop');\n"),
    ("GET", "https://shop.example.net/api/cart", [("Accept", JSON), ("Origin", "https://shop.example.net")], 200,
     [("Content-Type", JSON), *SHOP_BASE, NOSNIFF, ("Access-Control-Allow-Origin", "*"),
      ("Access-Control-Allow-Credentials", "true")], '{"items":[]}'),
    ("POST", "https://shop.example.net/api/cart", [("Content-Type", JSON), ("Origin", "https://shop.example.net")], 201,
     [("Content-Type", JSON), *SHOP_BASE, NOSNIFF, ("Access-Control-Allow-Origin", "*"),
      ("Access-Control-Allow-Credentials", "true")], '{"items":[{"sku":"42","qty":1}]}'),
    ("GET", "https://shop.example.net/search?q=shoes", [], 200,
     [("Content-Type", HTML), *SHOP_BASE, NOSNIFF], page("Search: shoes")),
    ("GET", "https://shop.example.net/checkout", [], 200,
     [("Content-Type", HTML), HSTS_2Y, NOSNIFF, GOOD_CSP, ("X-Frame-Options", "DENY"), ("Server", "nginx"),
      ("Cache-Control", "no-store")], page("Checkout")),
    ("GET", "https://shop.example.net/no-such-page", [], 404,
     [("Content-Type", HTML), ("Server", "nginx/1.18.0 (Ubuntu)")],
     "<html><body><h1>404 Not Found</h1></body></html>\n"),
    # cdn.example.net: static files for everyone
    ("GET", "https://cdn.example.net/img/hero.gif", [("Origin", "https://shop.example.net")], 200,
     [("Content-Type", "image/gif"), HSTS_1Y, NOSNIFF, ("Access-Control-Allow-Origin", "*"),
      ("Cache-Control", "public, max-age=86400")], GIF),
    ("GET", "https://cdn.example.net/fonts/inter.css", [("Origin", "https://www.example.com")], 200,
     [("Content-Type", "text/css"), HSTS_1Y, NOSNIFF, ("Access-Control-Allow-Origin", "*"),
      ("Cache-Control", "public, max-age=86400")], "@font-face{font-family:Inter;src:local(Inter)}\n"),
]


# --------------------------------------------------------------------------- the made-up servers


class ReplayServer:
    """Answers each (method, Host, path) with the next queued response, byte for byte."""

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        self.queues: dict[tuple[str, str, str], deque[tuple[int, list[tuple[str, str]], bytes]]] = defaultdict(deque)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 15

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                host = (self.headers.get("Host") or "").split(":")[0]
                queue = owner.queues.get((self.command, host, self.path))
                status, headers, body = queue.popleft() if queue else (
                    599, [("Content-Type", "text/plain")], b"make_examples: nothing queued")
                lines = [f"HTTP/1.1 {status} {http.client.responses.get(status, 'Unknown')}",
                         *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}"]
                self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

            do_GET = do_POST = do_OPTIONS = do_HEAD = _serve

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request, client_address):  # TLS handshake in the worker thread
                if tls is not None:
                    request.settimeout(15)
                    try:
                        request = tls.wrap_socket(request, server_side=True)
                    except (ssl.SSLError, OSError):
                        return
                super().finish_request(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def self_signed(folder: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (folder / "up.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(folder / "up.pem"))
    return context


# --------------------------------------------------------------------------- recording


def start_mitmdump(args: list[str], confdir: Path) -> tuple[subprocess.Popen[str], int, list[str]]:
    proc = subprocess.Popen([str(MITMDUMP), "--listen-host", "127.0.0.1", "--listen-port", "0",
                             "--set", f"confdir={confdir}", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    found = threading.Event()
    port: list[int] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            match = re.search(r"listening at .*?:(\d+)", line)
            if match and not port:
                port.append(int(match.group(1)))
                found.set()
        found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(30) or not port:
        proc.kill()
        sys.exit("mitmdump did not start:\n" + "".join(lines))
    return proc, port[0], lines


def send(proxy_port: int, cafile: Path, method: str, url: str, headers: list[tuple[str, str]],
         body: bytes) -> int:
    """One request through the proxy with http.client (no environment proxies, no surprises)."""
    scheme, rest = url.split("://", 1)
    host, _, path = rest.partition("/")
    path = "/" + path
    if scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", proxy_port, timeout=15, context=ssl.create_default_context(cafile=str(cafile)))
        conn.set_tunnel(host, 443)
        target = path
    else:
        conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=15)
        target = url
    default = [("User-Agent", UA), ("Accept-Language", "en-GB,en;q=0.8"), ("Accept-Encoding", "identity")]
    names = {k.lower() for k, _ in headers}
    all_headers = [(k, v) for k, v in default if k.lower() not in names] + headers
    if "accept" not in names:
        all_headers.insert(1, ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"))
    try:
        conn.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
        for k, v in all_headers:
            conn.putheader(k, v)
        if body or method in ("POST", "PUT"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def request_body(method: str, headers: list[tuple[str, str]]) -> bytes:
    ctype = dict((k.lower(), v) for k, v in headers).get("content-type", "")
    if method != "POST":
        return b""
    return b'{"sku":"42","qty":1}' if "json" in ctype else b"user=ada&password=hunter2"


def record(work: Path) -> Path:
    tls = self_signed(work)
    plain, secure = ReplayServer(None), ReplayServer(tls)
    for method, url, _req_headers, status, headers, body in TRAFFIC:
        host, _, path = url.split("://", 1)[1].partition("/")
        server = secure if url.startswith("https:") else plain
        server.queues[(method, host, "/" + path)].append(
            (status, headers, body.encode() if isinstance(body, str) else body))
    raw = work / "raw.mitm"
    proc, port, lines = start_mitmdump(
        ["--set", "flow_detail=0", "-s", str(HERE / "fakehosts_addon.py"),
         "--set", f"fakehosts_http_port={plain.port}", "--set", f"fakehosts_https_port={secure.port}",
         "--set", "connection_strategy=lazy", "--set", "ssl_insecure=true",
         "-w", str(raw), "--set", f"hardump={work / 'raw.har'}"], work / "confdir")
    try:
        for method, url, req_headers, status, _headers, _body in TRAFFIC:
            got = send(port, work / "confdir" / "mitmproxy-ca-cert.pem", method, url, req_headers,
                       request_body(method, req_headers))
            if got != status:
                raise SystemExit(f"{method} {url}: expected {status}, got {got}\n" + "".join(lines))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        plain.close()
        secure.close()
    return raw


# --------------------------------------------------------------------------- making it reproducible


def normalise(raw: Path, out: Path) -> int:
    """Fixed timestamps, ids and addresses; no certificates (they would change every run)."""
    from mitmproxy import http, io

    with raw.open("rb") as fh:
        flows = [f for f in io.FlowReader(fh).stream() if isinstance(f, http.HTTPFlow)]
    if len(flows) != len(TRAFFIC):
        raise SystemExit(f"recorded {len(flows)} flows, expected {len(TRAFFIC)}")
    ns = uuid.UUID("6d1a4a8e-3c1e-4c55-9f59-2f6d1d7b6a10")
    with out.open("wb") as fh:
        writer = io.FlowWriter(fh)
        for index, flow in enumerate(flows):
            t = START + index * 0.75
            host, port = flow.request.host, flow.request.port
            flow.id = str(uuid.uuid5(ns, f"flow-{index}"))
            client, server = flow.client_conn, flow.server_conn
            client.id = str(uuid.uuid5(ns, f"client-{index}"))
            server.id = str(uuid.uuid5(ns, f"server-{index}"))
            client.peername = ("127.0.0.1", 50100 + index)
            client.sockname = ("127.0.0.1", 8080)
            client.timestamp_start, client.timestamp_end = t, t + 0.5
            server.address = (host, port)
            server.peername = (SERVER_IPS[host], port)
            server.sockname = ("127.0.0.1", 40100 + index)
            server.timestamp_start, server.timestamp_tcp_setup, server.timestamp_end = t + 0.01, t + 0.02, t + 0.5
            if flow.request.scheme == "https":
                client.timestamp_tls_setup = t + 0.008
                server.timestamp_tls_setup = t + 0.04
                server.sni = host
            client.certificate_list = []
            client.mitmcert = None
            server.certificate_list = []
            flow.request.timestamp_start, flow.request.timestamp_end = t + 0.05, t + 0.051
            assert flow.response is not None
            flow.response.timestamp_start, flow.response.timestamp_end = t + 0.09, t + 0.095
            flow.timestamp_created = t
            flow.marked, flow.comment, flow.metadata = "", "", {}
            writer.add(flow)
    return len(flows)


def run_checked(args: list[str], what: str) -> str:
    result = subprocess.run([str(MITMDUMP), *args], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise SystemExit(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def main() -> None:
    if not MITMDUMP.exists():
        raise SystemExit(f"no mitmdump next to {sys.executable}; run it with the project's venv")
    with tempfile.TemporaryDirectory(prefix="headeraudit-examples-") as tmp:
        work = Path(tmp)
        raw = record(work)
        mitm, har = HERE / "sample.mitm", HERE / "sample.har"
        count = normalise(raw, mitm)
        if har.exists():
            har.unlink()
        run_checked(["-q", "-nr", str(mitm), "--set", f"hardump={har}", "--set", f"confdir={work / 'confdir'}"],
                    "converting sample.mitm to HAR")
        entries = json.loads(har.read_text())["log"]["entries"]
        if len(entries) != count:
            raise SystemExit(f"sample.har has {len(entries)} entries, expected {count}")
        for path in (mitm, har):  # both must load again
            out = run_checked(["-nr", str(path), "--set", f"confdir={work / 'confdir'}"], f"reading {path.name}")
            shown = sum(1 for line in out.splitlines() if re.search(r"<< \d{3}", line))
            if shown != count:
                raise SystemExit(f"mitmdump -nr {path.name} showed {shown} responses, expected {count}:\n{out}")
    for path in (mitm, har):
        print(f"wrote {path.relative_to(HERE.parent)} ({count} flows, {path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
