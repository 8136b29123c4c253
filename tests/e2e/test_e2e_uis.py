"""headeraudit in mitmweb and the console, from a clone and as an installed package: the
`headeraudit-web` and `headeraudit-console` commands, the packaged script `-s` takes, and the
mitmweb REST calls the README documents (mitmproxy 11: an XSRF cookie and header; 12: a bearer
token too)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import secrets
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import EXAMPLES, REPO, MitmDump, Upstream, logged_findings, subprocess_env
from mitmproxy.version import VERSION

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
MITMPROXY_12 = int(VERSION.split(".")[0]) >= 12
PROXY_LISTENING = r"HTTP\(S\) proxy listening at .*?:(\d+)"
LEAKY = [("Content-Type", "text/html"), ("Server", "Apache/2.4.1"),
         ("Content-Security-Policy", "script-src 'unsafe-inline'")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Web:
    """A mitmweb-like process and the README's REST recipe for calling it."""

    def __init__(self, program: Path, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.password = secrets.token_hex(8)
        extra = ["--set", f"web_password={self.password}"] if MITMPROXY_12 else []
        confdir = tmp_path / "confdir"
        confdir.mkdir(exist_ok=True)
        self.proc = MitmDump(["--no-web-open-browser", "--web-port", str(self.port), *extra, *args], confdir,
                             program=program, env=env)
        self.proc.port = int(self.proc.wait_for(PROXY_LISTENING, 30).group(1))
        self.proc.wait_for(r"Web server listening at", 30)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        # As the README says: any random value as both the XSRF cookie (its name differs
        # between 11 and 12, so both are sent) and header; on 12 the token as a bearer.
        xsrf = secrets.token_hex(16)
        headers = {"Cookie": f"_xsrf={xsrf}; _mitmproxy_xsrf={xsrf}", "X-XSRFToken": xsrf,
                   "Content-Type": "application/json"}
        if MITMPROXY_12:
            headers["Authorization"] = f"Bearer {self.password}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers, method=method)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=15) as response:
            return json.loads(response.read() or b"null")


def test_headeraudit_web_annotates_flows_and_answers_the_rest_api(upstream: Upstream, tmp_path: Path) -> None:
    upstream.route("/", headers=LEAKY, body=b"<p>x</p>")
    web = Web(BIN / "headeraudit-web", tmp_path)
    try:
        response = web.proc.client().get(upstream.url("/"))
        assert response.status == 200
        web.proc.wait_for("csp-unsafe-inline")
        text = web.call("POST", "/commands/headeraudit.findings", {"arguments": []})["value"]
        assert "csp-unsafe-inline" in text and upstream.site in text, text
        report = tmp_path / "now.json"
        assert web.call("POST", "/commands/headeraudit.report", {"arguments": [str(report)]})["value"].startswith("report written")
        assert json.loads(report.read_text())["summary"]["flows_audited"] == 1
        (flow,) = web.call("GET", "/flows")
        # What a mitmweb user sees of a finding: the comment, with the evidence.
        assert "headeraudit [HIGH] csp-unsafe-inline: Content-Security-Policy: script-src: 'unsafe-inline'" in flow["comment"]
        assert flow["marked"] in (":red_circle:", "\N{LARGE RED CIRCLE}"), flow["marked"]  # 12.x sends the emoji
    finally:
        assert web.proc.stop() == 0, web.proc.output


def test_headeraudit_console_audits_and_writes_its_report_on_exit(upstream: Upstream, tmp_path: Path) -> None:
    """The console needs a terminal: it gets a pseudo-terminal, and quits on SIGTERM like on `q`."""
    upstream.route("/", headers=LEAKY, body=b"<p>x</p>")
    report = tmp_path / "r.json"
    port = free_port()
    confdir = tmp_path / "confdir"
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a new pty is 0 x 0
    env = {**subprocess_env(), "TERM": "xterm"}
    proc = subprocess.Popen([str(BIN / "headeraudit-console"), "--set", f"confdir={confdir}", "--listen-host", "127.0.0.1",
                             "--listen-port", str(port), "--set", f"headeraudit_report={report}"],
                            stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True)
    os.close(follower)
    try:
        from e2e_harness import Client
        deadline = time.monotonic() + 30
        while not (confdir / "mitmproxy-ca-cert.pem").exists() or not _accepts(port):
            assert time.monotonic() < deadline and proc.poll() is None, "the console did not start"
            time.sleep(0.2)
            _drain(leader)
        assert Client(proxy_port=port).get(upstream.url("/")).status == 200
        proc.send_signal(signal.SIGTERM)
        end = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < end:
            _drain(leader)
            time.sleep(0.1)
        assert proc.poll() is not None, "the console did not exit on SIGTERM"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        os.close(leader)
    findings = json.loads(report.read_text())["findings"]
    assert "csp-unsafe-inline" in {f["rule"] for f in findings}


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _drain(fd: int) -> None:
    """Read what the console drew, so it never blocks on a full terminal."""
    import select
    while select.select([fd], [], [], 0)[0]:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """headeraudit built as a wheel and installed into a folder of its own, as `pip install .` would."""
    root = tmp_path_factory.mktemp("installed")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "wheel"), str(REPO)],
                           capture_output=True, text=True, timeout=300, env=subprocess_env())
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = (root / "wheel").glob("headeraudit-*.whl")
    site = root / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                             capture_output=True, text=True, timeout=300, env=subprocess_env())
    assert install.returncode == 0, install.stdout + install.stderr
    return site


def test_the_installed_package_ships_a_script_for_s(installed: Path, tmp_path: Path) -> None:
    env = {**subprocess_env(), "PYTHONPATH": str(installed)}
    where = subprocess.run([sys.executable, "-c", "import headeraudit.cli as c; print(c.script_path())"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    script = Path(where.stdout.strip())
    assert script.is_file() and installed in script.parents, where.stdout + where.stderr
    assert [p.name for p in script.parent.iterdir() if p.name != "__pycache__"] == ["headeraudit_addon.py"]
    confdir = tmp_path / "confdir"
    run = MitmDump(["-nr", str(EXAMPLES / "sample.har"), "-s", str(script)], confdir, listen=False, cwd=tmp_path, env=env)
    assert run.wait_exit(90) == 0, run.output
    assert len(logged_findings(run.output)) == 45, run.output
    assert str(installed) in run.wait_for(r"rules from \S+").group(0), "the installed copy's rules were loaded"
