"""Fixtures of the end-to-end tests; the machinery lives in e2e_harness.py.

Everything talks to 127.0.0.1 only, on ports the kernel picks, with hard timeouts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import (
    ADDON_SCRIPT,
    PROXY_ENV,
    Upstream,
    load_schema,
    mitmdump,  # noqa: F401  (a fixture shared with tests/browser)
    make_self_signed,
    tls_server_context,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is e2e, even one that forgets the marker."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def _no_proxy_env() -> Iterator[None]:
    """urllib honours *_proxy / no_proxy: a CI box with no_proxy=127.0.0.1 would make the
    client bypass mitmdump silently. Tests choose their proxy explicitly instead."""
    with pytest.MonkeyPatch.context() as mp:
        for name in PROXY_ENV:
            mp.delenv(name, raising=False)
            mp.delenv(name.upper(), raising=False)
        yield


@pytest.fixture(scope="session")
def addon_script() -> Path:
    if not ADDON_SCRIPT.exists():
        pytest.fail(f"addon script missing: {ADDON_SCRIPT}")
    return ADDON_SCRIPT


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_self_signed(tmp_path_factory.mktemp("upstream-tls"))


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def https_upstream(tls_cert: tuple[Path, Path]) -> Iterator[Upstream]:
    server = Upstream(tls_server_context(tls_cert))
    yield server
    server.close()


@pytest.fixture(scope="session")
def report_schema() -> dict[str, Any]:
    return load_schema()
