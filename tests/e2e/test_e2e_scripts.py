"""The scripts the README gives (scripts/*.sh, .ci/run) parse, and demo.sh/test.sh work.

They run against the venv that runs pytest (through a stand-in VENV folder that links to
it), so nothing is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import (
    REPO,
    check_report_consistent,
    load_report,
    logged_findings,
    read_har,
    subprocess_env,
)

pytestmark = pytest.mark.e2e

SCRIPTS = [*(REPO / "scripts" / name for name in ("setup.sh", "test.sh", "demo.sh", "_common.sh")),
           REPO / ".ci" / "run"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_script_is_valid_bash(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    text = script.read_text()
    if script.name != "_common.sh":
        assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text


@pytest.fixture
def stand_in_venv(tmp_path: Path) -> Path:
    """A VENV folder whose python and mitmdump are this test run's, with a current setup
    stamp, so the scripts see a ready venv and don't run setup.sh."""
    real = Path(sys.prefix)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    shutil.copy(real / "pyvenv.cfg", venv / "pyvenv.cfg")
    for name in ("lib", "lib64"):
        if (real / name).exists():
            (venv / name).symlink_to((real / name).resolve(), target_is_directory=True)
    for name in ("python", "mitmdump", "headeraudit"):
        (venv / "bin" / name).symlink_to(Path(sys.executable).parent / name)
    stamp = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".headeraudit-setup").write_text(stamp + "\n")
    return venv


def run_script(script: str, venv: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**subprocess_env(), "VENV": str(venv), **env}
    full_env.pop("PYTEST_CURRENT_TEST", None)
    return subprocess.run(["bash", str(REPO / "scripts" / script), *args], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=120, stdin=subprocess.DEVNULL)


def test_demo_prints_findings_and_writes_the_report(
    stand_in_venv: Path, tmp_path: Path, report_schema: dict[str, Any]
) -> None:
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    result = run_script("demo.sh", stand_in_venv, elsewhere, REPORT="out/report.json", HOME=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "setup.sh" not in result.stdout, "a ready venv must not be set up again"
    hosts = {f.host for f in logged_findings(result.stdout)}
    assert {"www.example.com", "api.example.com", "legacy.example.org", "shop.example.net"} <= hosts, result.stdout
    report_path = elsewhere / "out" / "report.json"  # relative REPORT is relative to the caller's directory
    assert f"JSON report written to {report_path}" in result.stdout, result.stdout
    assert "overall grade" in result.stdout, result.stdout  # the summary of the `headeraudit` command
    html = report_path.with_suffix(".html").read_text()
    assert html.lower().lstrip().startswith("<!doctype html>") and "legacy.example.org" in html
    report = load_report(report_path, report_schema)
    check_report_consistent(report)
    assert report["summary"]["flows_audited"] == len(read_har(REPO / "examples" / "sample.har"))


def test_test_script_passes_arguments_to_pytest(stand_in_venv: Path, tmp_path: Path) -> None:
    result = run_script("test.sh", stand_in_venv, tmp_path, "--version")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pytest" in (result.stdout + result.stderr)


def test_setup_runs_when_the_stamp_is_stale(stand_in_venv: Path, tmp_path: Path) -> None:
    """test.sh re-runs setup.sh when pyproject.toml changed since the last setup (seen
    through a setup.sh stand-in, so nothing is installed)."""
    (stand_in_venv / ".headeraudit-setup").write_text("stale\n")
    fake_root = tmp_path / "repo"
    (fake_root / "scripts").mkdir(parents=True)
    for name in ("test.sh", "_common.sh"):
        shutil.copy(REPO / "scripts" / name, fake_root / "scripts" / name)
    shutil.copy(REPO / "pyproject.toml", fake_root / "pyproject.toml")
    (fake_root / "scripts" / "setup.sh").write_text("#!/usr/bin/env bash\necho FAKE-SETUP-RAN\n")
    os.chmod(fake_root / "scripts" / "setup.sh", 0o755)
    result = subprocess.run(["bash", str(fake_root / "scripts" / "test.sh"), "--version"], capture_output=True,
                            text=True, cwd=tmp_path, env={**subprocess_env(), "VENV": str(stand_in_venv)},
                            timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAKE-SETUP-RAN" in result.stdout
