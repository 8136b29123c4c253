"""Helpers of the end-to-end tests: real mitmdump processes, real local servers.

conftest.py turns these into fixtures; test modules import the rest from here
(`from e2e_harness import ...`; pytest puts this folder on sys.path).

Everything here talks to loopback only (127.0.0.1) on ports the kernel picks (port 0), so
tests can run in parallel and never collide. Every wait has a hard timeout: a hung
mitmdump fails the test with its output instead of hanging the suite.

The pieces:
- `Upstream` (fixtures `upstream` / `https_upstream`): a ThreadingHTTPServer whose responses are configured per
  test, written byte by byte so tests can send what a well-behaved server never would
  (repeated headers, non-UTF-8 bytes, empty values, huge values).
- `MitmDumpFactory` (fixture `mitmdump`): starts `mitmdump` from the venv running pytest with a
  hermetic confdir (its own CA) and collects its output.
- `Client`, `raw_request`, `curl`: ways to send requests through the proxy or to a
  reverse-mode port.
"""

from __future__ import annotations

import dataclasses
import datetime
import http.client
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ADDON_SCRIPT = REPO / "addon" / "headeraudit_addon.py"
BUNDLED_RULES = REPO / "addon" / "headeraudit" / "rules" / "rules.yaml"
EXAMPLES = REPO / "examples"
SCHEMA_PATH = REPO / "addon" / "headeraudit" / "report.schema.json"  # the report's JSON Schema (draft 2020-12)
MITMDUMP = Path(sys.executable).parent / "mitmdump"

START_TIMEOUT = 20.0  # mitmdump usually listens within ~1 s; CI machines can be slow
STOP_TIMEOUT = 15.0
RUN_TIMEOUT = 60.0
HTTP_TIMEOUT = 15.0

SEVERITIES = ("info", "low", "medium", "high", "critical")
MARKERS = {
    "critical": ":fire:",
    "high": ":red_circle:",
    "medium": ":orange_circle:",
    "low": ":yellow_circle:",
    "info": ":large_blue_circle:",
}
# `headeraudit [HIGH] 127.0.0.1 hsts-missing: message`
FINDING_LINE = re.compile(r"headeraudit \[([A-Z]+)\] (\S+) ([A-Za-z0-9_.:-]+): (.*)$")
LISTENING = re.compile(r"listening at .*?:(\d+)")

PROXY_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy")


# --------------------------------------------------------------------------- upstream


HeaderValue = str | bytes


@dataclasses.dataclass
class Route:
    """What the upstream answers on one path.

    `headers` is sent exactly as given, in order, repeated names included; str is
    encoded as latin-1 so any byte can be expressed, bytes are sent as-is.
    Content-Length is added unless the route sets it or `length=False` (then the body
    ends when the upstream closes the connection).
    `handler`, if given, builds the response from the recorded request instead.
    """

    status: int = 200
    headers: list[tuple[HeaderValue, HeaderValue]] = dataclasses.field(default_factory=list)
    body: bytes = b""
    reason: str = ""
    length: bool = True
    handler: Callable[[RecordedRequest], Route] | None = None


@dataclasses.dataclass
class RecordedRequest:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def _b(value: HeaderValue) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def render_response(route: Route) -> bytes:
    """The exact bytes the upstream sends for a route (also used by tests to compare)."""
    reason = route.reason or http.client.responses.get(route.status, "Whatever")
    head = [f"HTTP/1.1 {route.status} {reason}".encode("latin-1")]
    names = set()
    for name, value in route.headers:
        head.append(_b(name) + b": " + _b(value))
        names.add(_b(name).lower())
    if route.length and b"content-length" not in names:
        head.append(b"Content-Length: " + str(len(route.body)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + route.body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = HTTP_TIMEOUT
    server: Upstream._Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        recorded = RecordedRequest(self.command, self.path, list(self.headers.items()), body)
        upstream = self.server.owner
        upstream.requests.append(recorded)
        route = upstream.lookup(recorded)
        if route.handler is not None:
            route = route.handler(recorded)
        if self.command == "HEAD":
            route = dataclasses.replace(route, body=b"")
        self.wfile.write(render_response(route))
        self.wfile.flush()
        if not route.length:
            self.close_connection = True

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _serve


class Upstream:
    """A local origin server; `route()` configures what each path answers."""

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        owner: Upstream
        ssl_context: ssl.SSLContext | None = None

        def finish_request(self, request: Any, client_address: Any) -> None:
            # TLS handshake in the worker thread, so one stuck client can't block accept().
            if self.ssl_context is not None:
                request.settimeout(HTTP_TIMEOUT)
                try:
                    request = self.ssl_context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
            super().finish_request(request, client_address)

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.routes: dict[tuple[str | None, str], Route] = {}
        self.requests: list[RecordedRequest] = []
        self._server = self._Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._server.ssl_context = ssl_context
        self.scheme = "https" if ssl_context else "http"
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"upstream-{self.port}",
                                        daemon=True, kwargs={"poll_interval": 0.1})
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def site(self) -> str:
        """What headeraudit groups this server's findings and grade by (README, Grades)."""
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def route(self, path: str, status: int = 200, headers: Iterable[tuple[HeaderValue, HeaderValue]] = (),
              body: bytes | str = b"", *, host: str | None = None, **kw: Any) -> Upstream:
        """Answer `path` (query string ignored) with the given response; with `host`,
        only for requests whose Host header (without port) is that name."""
        if isinstance(body, str):
            body = body.encode()
        self.routes[(host, path)] = Route(status, list(headers), body, **kw)
        return self

    def lookup(self, request: RecordedRequest) -> Route:
        path = request.path.split("?", 1)[0]
        host = (request.header("Host") or "").rsplit(":", 1)[0] if request.header("Host") else None
        for key in ((host, request.path), (host, path), (None, request.path), (None, path)):
            if key in self.routes:
                return self.routes[key]
        return Route(404, [("Content-Type", "text/plain")], b"no route for " + request.path.encode())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def make_self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost, made with `cryptography`
    (a mitmproxy dependency), valid for one day. Returns (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def tls_server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert[0]), str(cert[1]))
    return context


# --------------------------------------------------------------------------- mitmdump


@dataclasses.dataclass(frozen=True)
class LoggedFinding:
    severity: str  # upper-case, as logged
    host: str
    rule: str
    message: str


def assert_short_error(output: str) -> None:
    """A start-up error reads as one or two lines, without a traceback: what mitmproxy prints
    around it (loading the script, "Error logged during startup, exiting...") aside."""
    lines = [line for line in output.splitlines() if line.strip() and "Loading script" not in line
             and "logged during startup" not in line]
    assert "Traceback" not in output and 1 <= len(lines) <= 2, f"not a one- or two-line error:\n{output}"


def logged_findings(output: str) -> list[LoggedFinding]:
    """Every `headeraudit [SEV] host rule: message` line in mitmdump's output, in order."""
    found = []
    for line in output.splitlines():
        match = FINDING_LINE.search(line)
        if match:
            found.append(LoggedFinding(*match.groups()))
    return found


def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("MITMPROXY_CASE_SENSITIVE_FILTERS", None)
    env.setdefault("LANG", "C.UTF-8")
    return env


class MitmDump:
    """One mitmdump process. Output (stdout and stderr, merged) is collected by a thread."""

    def __init__(self, args: list[str], confdir: Path, *, listen: bool = True, cwd: Path = REPO,
                 program: Path = MITMDUMP, env: dict[str, str] | None = None) -> None:
        """`program`: another mitmproxy tool (mitmweb, headeraudit-web) taking mitmdump's options."""
        self.confdir = confdir
        self.cacert = confdir / "mitmproxy-ca-cert.pem"
        base = [str(program), "--set", f"confdir={confdir}"]
        if listen:
            base += ["--listen-host", "127.0.0.1", "--listen-port", "0"]
        self.argv = base + [str(a) for a in args]
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._eof = False
        self.returncode: int | None = None
        self.port: int | None = None
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=cwd, env=env or subprocess_env(),
                                     start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._cond:
                self._lines.append(raw.decode("utf-8", "replace"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def output(self) -> str:
        with self._cond:
            return "".join(self._lines)

    @property
    def line_count(self) -> int:
        with self._cond:
            return len(self._lines)

    def findings(self) -> list[LoggedFinding]:
        return logged_findings(self.output)

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 10.0, *, since: int = 0) -> re.Match[str]:
        """Wait until an output line (index >= since) matches; fail with the output if not."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines[since:]:
                    match = regex.search(line)
                    if match:
                        return match
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.2))
        state = "exited" if self._eof else "still running"
        raise AssertionError(f"mitmdump ({state}) never printed {regex.pattern!r} within {timeout}s; "
                             f"output:\n{self.output}")

    def wait_listening(self, timeout: float = START_TIMEOUT) -> int:
        self.port = int(self.wait_for(LISTENING, timeout).group(1))
        return self.port

    def wait_exit(self, timeout: float = RUN_TIMEOUT) -> int | None:
        """Wait for the process to end on its own; None if it did not (it is then killed)."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            self._reader.join(5)
            return None
        self._reader.join(5)
        return self.returncode

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGINT (mitmdump shuts down cleanly, addons' done() runs), then wait; SIGKILL the
        process group if it doesn't end in time. Returns the exit code (negative: signal)."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        self._reader.join(5)
        self.returncode = self.proc.returncode
        return self.returncode

    def _kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def client(self) -> Client:
        """A client that goes through this mitmdump as an HTTP(S) proxy, trusting its CA."""
        assert self.port is not None
        return Client(proxy_port=self.port, cafile=self.cacert)


class MitmDumpFactory:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.confdir = tmp_path / "confdir"
        self.confdir.mkdir(exist_ok=True)
        self.started: list[MitmDump] = []

    def start(self, *args: str | Path, wait: bool = True) -> MitmDump:
        """Start a listening mitmdump with `args`; by default wait for its port."""
        proc = MitmDump([str(a) for a in args], self.confdir)
        self.started.append(proc)
        if wait:
            proc.wait_listening()
        return proc

    def run(self, *args: str | Path, timeout: float = RUN_TIMEOUT, listen: bool = True) -> MitmDump:
        """Run mitmdump to completion (e.g. -nr, or a startup error); `returncode` is None
        if it had to be killed after `timeout`."""
        proc = MitmDump([str(a) for a in args], self.confdir, listen=listen)
        self.started.append(proc)
        proc.wait_exit(timeout)
        return proc

    def close(self) -> None:
        for proc in self.started:
            if proc.alive:
                proc.stop(timeout=5)


# --------------------------------------------------------------------------- clients


@dataclasses.dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]  # as received; header bytes decoded as latin-1
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kw: Any) -> None:
        return None  # a 3xx is returned to the test as it is


class Client:
    """urllib through the proxy (trusting mitmdump's CA) or directly (proxy_port=None).
    Redirects are not followed; 4xx/5xx are returned, not raised."""

    def __init__(self, proxy_port: int | None = None, cafile: Path | None = None) -> None:
        handlers: list[urllib.request.BaseHandler] = []
        if proxy_port is not None:
            proxy = f"http://127.0.0.1:{proxy_port}"
            handlers.append(urllib.request.ProxyHandler({"http": proxy, "https": proxy}))
        else:
            handlers.append(urllib.request.ProxyHandler({}))
        context = ssl.create_default_context(cafile=str(cafile)) if cafile else ssl.create_default_context()
        handlers.append(urllib.request.HTTPSHandler(context=context))
        handlers.append(_NoRedirect())
        self.opener = urllib.request.build_opener(*handlers)

    def request(self, url: str, headers: dict[str, str] | None = None, method: str = "GET",
                data: bytes | None = None, timeout: float = HTTP_TIMEOUT) -> Response:
        req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                return Response(resp.status, list(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as err:
            with err:
                return Response(err.code, list(err.headers.items()), err.read())

    def get(self, url: str, **kw: Any) -> Response:
        return self.request(url, **kw)


def raw_request(port: int, path: str = "/", *, host: str = "127.0.0.1", method: str = "GET",
                headers: Iterable[tuple[str, str]] = (), timeout: float = HTTP_TIMEOUT) -> bytes:
    """Send one HTTP/1.1 request with `Connection: close` to 127.0.0.1:port and return the
    raw response bytes (read to EOF). For responses http.client refuses to parse
    (more than 100 headers, lines over 64 KiB)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close", "Accept-Encoding: identity",
             *(f"{k}: {v}" for k, v in headers)]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def parse_raw_response(raw: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, [(name, value)] as bytes, body) of a Content-Length-framed response."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep, f"no end of headers in {raw[:200]!r}"
    status_line, *header_lines = head.split(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    headers = []
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers.append((name, value.strip(b" \t")))
    length = [int(v) for k, v in headers if k.lower() == b"content-length"]
    body = rest[: length[0]] if length else rest
    return status, headers, body


def curl(*args: str, timeout: float = HTTP_TIMEOUT) -> subprocess.CompletedProcess[bytes]:
    """Run curl (skips the test if curl is missing, fails under CI, which installs it); `-sS --max-time` are added."""
    exe = shutil.which("curl")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("curl not installed, and .ci/run should have installed it", pytrace=False)
        pytest.skip("curl not installed (apt-get install curl)")
    return subprocess.run([exe, "-sS", "--max-time", str(int(timeout)), *args], capture_output=True,
                          timeout=timeout + 5, env=subprocess_env(), stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------- reports and flow files


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def load_report(path: Path, schema: dict[str, Any]) -> dict[str, Any]:
    """Read a JSON report and validate it against the package's report.schema.json."""
    import jsonschema

    assert path.exists(), f"no report at {path}"
    report = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
                                    ).validate(report)
    return report


def read_flows(path: Path) -> list[Any]:
    """HTTP flows from a `-w` file, via mitmproxy.io.FlowReader."""
    import warnings

    with warnings.catch_warnings():  # mitmproxy's filter grammar uses pyparsing's deprecated names
        warnings.simplefilter("ignore", DeprecationWarning)
        from mitmproxy import http, io

        with path.open("rb") as fh:
            return [f for f in io.FlowReader(fh).stream() if isinstance(f, http.HTTPFlow)]


def finding_keys(report: dict[str, Any], *, with_counts: bool = True) -> set[tuple[Any, ...]]:
    """A comparable summary of a report's findings (timestamps and examples left out)."""
    keys = set()
    for f in report["findings"]:
        key = (f["host"], f["rule"], f["severity"], f["header"], f["evidence"])
        keys.add(key + (f["count"],) if with_counts else key)
    return keys


# --------------------------------------------------------------------------- rules and annotations


def bundled_severities() -> dict[str, str]:
    """rule id -> severity of the bundled default rules.yaml (so tests don't hard-code them)."""
    doc = yaml.safe_load(BUNDLED_RULES.read_text(encoding="utf-8"))
    return {rule["id"]: rule["severity"] for rule in doc["rules"]}


def write_rules(path: Path, text: str) -> None:
    """Rewrite a rules file in place (as an editor would) and make sure its mtime moves,
    even on file systems with coarse timestamps."""
    before = path.stat().st_mtime_ns if path.exists() else None
    path.write_text(text, encoding="utf-8")
    after = path.stat().st_mtime_ns
    if before is not None and after <= before:
        os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


COMMENT = re.compile(
    r"^headeraudit: (?P<counts>\d+ (?:critical|high|medium|low|info)(?:, \d+ (?:critical|high|medium|low|info))*)"
    r" \u2014 (?P<rules>[a-z0-9._-]+(?:, [a-z0-9._-]+)*)$"
)


def check_annotations(flow: Any) -> dict[str, Any]:
    """Assert a flow's headeraudit metadata, comment and marker agree with each other and with
    the interface; return the metadata."""
    meta = flow.metadata.get("headeraudit")
    assert isinstance(meta, dict), f"{flow.request.url}: no headeraudit metadata: {flow.metadata!r}"
    findings = meta["findings"]
    assert findings, meta
    for f in findings:
        assert set(f) == {"rule", "severity", "header", "message", "evidence"}, f
        assert f["severity"] in SEVERITIES, f
    worst = max((f["severity"] for f in findings), key=SEVERITIES.index)
    assert meta["max_severity"] == worst, meta
    assert flow.marked == MARKERS[worst], (flow.marked, worst)
    comment_lines = [line for line in flow.comment.splitlines() if line.startswith("headeraudit: ")]
    assert len(comment_lines) == 1, flow.comment
    match = COMMENT.match(comment_lines[0])
    assert match, f"comment not in the documented form: {comment_lines[0]!r}"
    counts = {}
    for part in match["counts"].split(", "):
        number, severity = part.split(" ")
        counts[severity] = int(number)
    expected = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    assert counts == {s: n for s, n in expected.items() if n}, (comment_lines[0], findings)
    assert list(counts) == sorted(counts, key=SEVERITIES.index, reverse=True), "worst severity first"
    assert set(match["rules"].split(", ")) == {f["rule"] for f in findings}, comment_lines[0]
    return meta


def check_untouched(flow: Any) -> None:
    assert "headeraudit" not in flow.metadata, flow.metadata
    assert not flow.comment, flow.comment
    assert not flow.marked, flow.marked


def rules_of(flow: Any) -> set[str]:
    meta = flow.metadata.get("headeraudit")
    return {f["rule"] for f in meta["findings"]} if meta else set()


def check_report_consistent(report: dict[str, Any]) -> None:
    """Cross-field invariants of a report beyond what the schema can say."""
    findings, summary = report["findings"], report["summary"]
    assert summary["findings"] == len(findings), summary
    if summary["dropped"]:
        assert summary["occurrences"] >= sum(f["count"] for f in findings), summary
    else:
        assert summary["occurrences"] == sum(f["count"] for f in findings), summary
    by_severity = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    assert {s: summary["by_severity"].get(s, 0) for s in SEVERITIES} == by_severity, summary
    keys = [(f["host"], f["rule"], f["header"], f["evidence"], f["message"]) for f in findings]
    assert len(keys) == len(set(keys)), "a finding is listed twice"
    for f in findings:
        assert f["first_seen"] <= f["last_seen"], f
        assert len(f["examples"]) <= min(3, f["count"]), f
    hosts = {h["host"]: h for h in report["hosts"]}
    assert sum(h["flows"] for h in hosts.values()) == summary["flows_audited"], report["hosts"]
    for host, entry in hosts.items():
        per_host = {s: sum(1 for f in findings if f["host"] == host and f["severity"] == s) for s in SEVERITIES}
        assert {s: entry["by_severity"].get(s, 0) for s in SEVERITIES} == per_host, (host, entry)
    assert {f["host"] for f in findings} <= set(hosts), "finding for a host missing from hosts"


# --------------------------------------------------------------------------- saved traffic


@dataclasses.dataclass
class HarEntry:
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1].split("/", 1)[0].split(":")[0]

    @property
    def path(self) -> str:
        rest = self.url.split("://", 1)[1]
        return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


def read_har(path: Path) -> list[HarEntry]:
    import base64

    entries = []
    for e in json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]:
        req, resp = e["request"], e["response"]
        content = resp.get("content", {})
        text = content.get("text", "")
        body = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode("utf-8")
        post = req.get("postData", {}).get("text", "")
        entries.append(HarEntry(
            req["method"], req["url"], [(h["name"], h["value"]) for h in req["headers"]], post.encode("utf-8"),
            resp["status"], [(h["name"], h["value"]) for h in resp["headers"]], body))
    return entries


def serve_har(entries: list[HarEntry], http_upstream: Upstream, https_upstream: Upstream) -> None:
    """Make the two upstreams answer each (method, Host, path) with the HAR's responses, in order."""
    from collections import deque

    queues: dict[tuple[str, str, str], deque[Route]] = {}
    for entry in entries:
        server = https_upstream if entry.url.startswith("https:") else http_upstream
        key = (entry.method, entry.host, entry.path)
        queues.setdefault(key, deque()).append(Route(entry.status, list(entry.response_headers), entry.response_body))

        def answer(request: RecordedRequest, _host: str = entry.host) -> Route:
            queue = queues.get((request.method, _host, request.path))
            if not queue:
                return Route(599, [("Content-Type", "text/plain")], b"nothing queued")
            return queue.popleft()

        server.route(entry.path.split("?")[0], host=entry.host, handler=answer)


HOP_BY_HOP = {"host", "connection", "content-length", "proxy-connection", "keep-alive", "transfer-encoding",
              "accept-encoding"}


def replay_har(entries: list[HarEntry], client: Client) -> list[Response]:
    responses = []
    for entry in entries:
        headers = {k: v for k, v in entry.request_headers if k.lower() not in HOP_BY_HOP}
        responses.append(client.request(entry.url, headers=headers, method=entry.method,
                                        data=entry.request_body if entry.method in ("POST", "PUT") else None))
    return responses


@pytest.fixture
def mitmdump(tmp_path: Path) -> Iterator[MitmDumpFactory]:
    """Start mitmdump processes (`.start(*args)`, `.run(*args)`); all are stopped at teardown.
    Shared by tests/e2e and tests/browser: their conftests import it."""
    if not MITMDUMP.exists():
        pytest.fail(f"no mitmdump next to {MITMDUMP.parent}/python")
    factory = MitmDumpFactory(tmp_path)
    yield factory
    factory.close()
