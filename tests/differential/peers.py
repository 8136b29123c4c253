"""Finding a peer's npm package for a differential test: the folder an environment variable
names (.ci/run sets it), at the version the test is written against, with node to run it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest


def peer_package(variable: str, package: str, version: str, marker: str) -> Path:
    """The package's folder; skipped locally and failed under CI when it or node is missing.
    `marker`: a path inside the package that shows it is the right one."""
    where = os.environ.get(variable)
    found = Path(where) if where else None
    if found is None or not (found / marker).exists() or shutil.which("node") is None:
        message = f"{package}@{version} and node are needed (see the test module's docstring)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; .ci/run installs them", pytrace=False)
        pytest.skip(message)
    installed = json.loads((found / "package.json").read_text())["version"]
    assert installed == version, f"{package} {installed} found, the oracle is {version}"
    return found
