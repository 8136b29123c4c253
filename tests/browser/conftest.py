"""Fixtures of the browser tests (headless Chromium through a real mitmdump in reverse mode).

Without /usr/bin/chromium, /usr/bin/chromedriver or the selenium package these tests are
skipped on a developer's machine, but FAIL when the environment variable CI is set: CI
must never pass by skipping them (.ci/run installs Debian's chromium + chromium-driver).
Everything is loopback-only, on ports the kernel picks, with hard timeouts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_harness import CHROMEDRIVER, CHROMIUM, Browser  # first: it puts tests/e2e on sys.path
from e2e_harness import PROXY_ENV, Upstream, mitmdump  # noqa: F401  (mitmdump: a shared fixture)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_tools() -> None:
    """Chromium, ChromeDriver and Selenium are present (else skip locally, fail under CI)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        _unavailable(f"{' and '.join(missing)} missing (apt-get install -y chromium chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        _unavailable("the selenium package is not installed (pip install selenium)")


@pytest.fixture(scope="session", autouse=True)
def _no_proxy_env() -> Iterator[None]:
    """No *_proxy variables: nothing here may leave loopback or go through another proxy."""
    with pytest.MonkeyPatch.context() as mp:
        for name in PROXY_ENV:
            mp.delenv(name, raising=False)
            mp.delenv(name.upper(), raising=False)
        mp.delenv("SE_CHROMEDRIVER", raising=False)  # would override the driver path we give
        mp.setenv("SE_OFFLINE", "true")  # Selenium Manager, were it ever run: no downloads
        yield


@pytest.fixture(autouse=True)
def _no_selenium_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Selenium Manager downloads browsers and drivers; with both paths given it must never
    run. Make any call to it fail loudly instead of reaching for the network."""
    try:
        from selenium.webdriver.common.selenium_manager import SeleniumManager
    except ImportError:
        return

    def refuse(*args: object, **kw: object) -> None:
        raise AssertionError("Selenium Manager was consulted: it would download a browser/driver")

    monkeypatch.setattr(SeleniumManager, "binary_paths", refuse)


@pytest.fixture
def site() -> Iterator[Upstream]:
    """The site under test (behind mitmdump)."""
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def other_site() -> Iterator[Upstream]:
    """Another origin (its own port), loaded directly, e.g. to frame the site under test."""
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def browser(browser_tools: None, tmp_path: Path) -> Iterator[Callable[..., Browser]]:
    """`browser(*extra_flags)` starts a fresh headless Chromium (own --user-data-dir); all quit
    at teardown."""
    started: list[Browser] = []

    def start(*extra_flags: str) -> Browser:
        n = len(started)
        b = Browser(tmp_path / f"profile-{n}", tmp_path / f"browser-log-{n}", extra_flags)
        started.append(b)
        return b

    yield start
    for b in started:
        b.quit()
