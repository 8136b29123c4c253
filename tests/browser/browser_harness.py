"""Helpers of the browser tests: headless Chromium driven by Selenium, through a real mitmdump.

conftest.py turns these into fixtures; the test module imports the rest from here.
The mitmdump runner and the local upstream servers are the end-to-end harness's
(tests/e2e/e2e_harness.py), imported, not copied.

- Debian's Chromium and ChromeDriver only (`/usr/bin/chromium`, `/usr/bin/chromedriver`):
  both paths are given to Selenium, so Selenium Manager (which would download a browser
  or driver) is never consulted; conftest.py also makes any call to it fail the test.
- Chromium sends requests for 127.0.0.1 directly, ignoring proxies, so mitmdump runs in
  REVERSE mode in front of the local test site and the browser loads the proxy's port.
- One fresh browser (and --user-data-dir) per test: cookies are per host, not per port,
  so a shared profile would leak cookies between tests.
- Hard time limits: Selenium's page-load/script timeouts, bounded waits, and a watchdog
  that kills ChromeDriver and Chromium (their own process group) if a test overruns, so a
  hung browser fails the test instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO / "tests" / "e2e") not in sys.path:  # e2e_harness, also when tests/browser runs alone
    sys.path.insert(0, str(REPO / "tests" / "e2e"))

from e2e_harness import (  # noqa: E402
    ADDON_SCRIPT,
    MitmDump,
    MitmDumpFactory,
    Upstream,
    subprocess_env,
)

PAGES = HERE / "pages"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# browser.md's verified flags (this network refuses outside hosts: no background traffic),
# plus --no-proxy-server so a proxy in the environment can never be used by the browser.
# The tests only ever load http(s)://127.0.0.1:<port>.
HEADLESS_FLAGS = (
    "--headless",
    "--no-sandbox",  # required as root
    "--disable-gpu",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-proxy-server",
    # Chromium still resolves accounts.google.com and clients2.google.com at start-up despite
    # the flags above (seen with strace): no name may resolve, so no DNS query leaves the box.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--window-size=800,600",
)

PAGE_LOAD_TIMEOUT = 15.0
SCRIPT_TIMEOUT = 10.0
WAIT_TIMEOUT = 10.0  # for something that must happen
BROWSER_DEADLINE = 60.0  # watchdog: one browser's whole life in a test

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def serve_pages(site: Upstream, *names: str, extra_headers: dict[str, list[tuple[str, str]]] | None = None) -> Upstream:
    """Serve files of pages/ at /<name> with a plain, header-free response (the addon has
    something to fix), plus the headers given per name."""
    for name in names:
        headers = [("Content-Type", CONTENT_TYPES[Path(name).suffix]), ("Cache-Control", "no-store")]
        headers += (extra_headers or {}).get(name, [])
        site.route("/" + name, headers=headers, body=page(name))
    return site


def start_reverse_proxy(factory: MitmDumpFactory, site: Upstream, *options: str,
                        extra_args: tuple[str | Path, ...] = ()) -> MitmDump:
    """mitmdump -s headeraudit in reverse mode in front of `site`; options are `--set` values
    (e.g. "headeraudit_mode=fix"), extra_args go to mitmdump as they are (e.g. -w FILE).
    Returns once it listens (.port)."""
    args: list[str | Path] = ["--mode", f"reverse:{site.origin}", "-s", str(ADDON_SCRIPT), *extra_args]
    for option in options:
        args += ["--set", option]
    return factory.start(*args)


def origin(port: int, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{port}"


def trust_flag(proxy: MitmDump) -> str:
    """A Chromium flag making it trust certificates issued by this mitmdump's CA (for https://
    to the reverse proxy) without touching any certificate store: the CA key's SPKI hash.
    Unlike --ignore-certificate-errors, the connection then counts as error-free, which
    Chromium requires before it honours e.g. Reporting-Endpoints."""
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    ca = x509.load_pem_x509_certificate(proxy.cacert.read_bytes())
    spki = ca.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "--ignore-certificate-errors-spki-list=" + base64.b64encode(hashlib.sha256(spki).digest()).decode()


class Browser:
    """One headless Chromium with a fresh profile, driven through ChromeDriver."""

    def __init__(self, profile: Path, log_dir: Path, extra_flags: tuple[str, ...] = ()) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        profile.mkdir(parents=True, exist_ok=True)
        log_dir.mkdir(parents=True, exist_ok=True)
        self.driver_log = log_dir / "chromedriver.log"
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        proxied = any(flag.startswith("--proxy-server=") for flag in extra_flags)
        for flag in (*HEADLESS_FLAGS, *extra_flags):
            if proxied and flag == "--no-proxy-server":
                continue  # this browser is told to use the (loopback) proxy under test
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(
            executable_path=str(CHROMEDRIVER),
            port=0,
            log_output=str(self.driver_log),
            env=subprocess_env(),
            popen_kw={"start_new_session": True},  # ChromeDriver + Chromium: one process group to kill
        )
        self._service = service
        self._timer = threading.Timer(BROWSER_DEADLINE, self._kill)
        self._timer.daemon = True
        self.killed = False
        self._timer.start()
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except BaseException:
            self._timer.cancel()
            self._kill()
            raise
        self.driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
        self.driver.set_script_timeout(SCRIPT_TIMEOUT)

    # -------------------------------------------------------------- lifecycle

    def _kill(self) -> None:
        """Watchdog / last resort: SIGKILL ChromeDriver's process group (Chromium included)."""
        process = getattr(self._service, "process", None)
        if process is None or process.poll() is not None:
            return
        self.killed = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def quit(self) -> None:
        self._timer.cancel()
        driver = getattr(self, "driver", None)
        if driver is not None:
            done = threading.Event()

            def _quit() -> None:
                with contextlib.suppress(Exception):
                    driver.quit()
                done.set()

            threading.Thread(target=_quit, daemon=True).start()
            if not done.wait(15):
                self._kill()
        self._kill()

    # -------------------------------------------------------------- page access

    def open(self, url: str) -> None:
        self.driver.get(url)

    def text(self, element_id: str) -> str | None:
        """textContent of #id (None if absent); textContent, not .text, so nothing depends on layout."""
        return self.driver.execute_script(
            "var e = document.getElementById(arguments[0]); return e ? e.textContent : null;", element_id)

    def wait_until(self, what: str, check: Callable[[], Any], timeout: float = WAIT_TIMEOUT) -> Any:
        """Poll `check` until it returns something truthy; fail (with what the page shows) otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"browser: {what} did not happen within {timeout}s\n{self.describe()}")
            time.sleep(0.05)

    def wait_text(self, element_id: str, expected: str, timeout: float = WAIT_TIMEOUT) -> None:
        self.wait_until(f"#{element_id} == {expected!r}", lambda: self.text(element_id) == expected, timeout)

    def console(self) -> list[str]:
        """Browser console messages since the last call (ChromeDriver's log endpoint)."""
        try:
            return [entry.get("message", "") for entry in self.driver.get_log("browser")]
        except Exception as exc:  # the legacy log endpoint is a ChromeDriver extension
            return [f"(console unavailable: {exc})"]

    def describe(self) -> str:
        """The page as the test sees it, for failure messages."""
        try:
            url = self.driver.current_url
            body = self.driver.execute_script("return document.body ? document.body.innerHTML : '';")
        except Exception as exc:
            killed = f" (killed by the watchdog after {BROWSER_DEADLINE:.0f}s)" if self.killed else ""
            return f"(page unavailable{killed}: {exc})"
        console = "\n".join(self.console())
        return f"url: {url}\nbody: {body[:2000]}\nconsole:\n{console[:2000]}"

    def cookies(self) -> dict[str, dict[str, Any]]:
        """The browser's cookie jar for the current page (HttpOnly ones included), by name."""
        return {c["name"]: c for c in self.driver.get_cookies()}
