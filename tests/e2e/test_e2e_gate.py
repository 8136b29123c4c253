"""The CI gate: the installed `headeraudit` command, run as a real process on saved traffic.

mitmdump's own exit status cannot carry the gate (an addon calling sys.exit in `done` skips later addons' `done`), so the
command runs mitmdump in-process and exits 0 (passed), 3 (gate failed) or 1 (mitmdump could
not start). These tests check the real status both ways, that every report format is
written and valid, and that other addons still finish (hardump is written on failure too).
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from e2e_harness import EXAMPLES, REPO, assert_short_error, load_report, subprocess_env

HEADERAUDIT = Path(sys.executable).parent / "headeraudit"
SAMPLE_HAR = EXAMPLES / "sample.har"
SAMPLE_MITM = EXAMPLES / "sample.mitm"
SARIF_SCHEMA = REPO / "addon" / "headeraudit" / "report" / "sarif-schema-2.1.0.json"
TIMEOUT = 90

pytestmark = pytest.mark.e2e


def headeraudit(tmp_path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    if not HEADERAUDIT.exists():
        pytest.fail(f"{HEADERAUDIT} is missing: install the package (scripts/setup.sh) so its command exists")
    confdir = tmp_path / "confdir"
    confdir.mkdir(exist_ok=True)
    return subprocess.run(
        [str(HEADERAUDIT), "--set", f"confdir={confdir}", *map(str, args)],
        cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
    )


def reports(tmp_path: Path, stem: str) -> list[str]:
    args = []
    for ext in ("json", "html", "sarif", "xml", "md"):
        args += ["--set", f"headeraudit_report={tmp_path / f'{stem}.{ext}'}"]
    return args


def test_gate_fails_with_status_3_and_still_writes_every_report_and_the_har(tmp_path: Path,
                                                                            report_schema: dict[str, Any]) -> None:
    har_out = tmp_path / "dump.har"
    run = headeraudit(tmp_path, "-nr", SAMPLE_HAR, "--set", "headeraudit_fail_on=high",
                      "--set", f"hardump={har_out}", *reports(tmp_path, "out"))
    assert run.returncode == 3, run.stdout + run.stderr
    assert "gate: " in run.stdout and "at or above high" in run.stdout, run.stdout
    assert "hosts (worst first):" in run.stdout, run.stdout
    # Every format, valid; the JSON says what the gate counted.
    report = load_report(tmp_path / "out.json", report_schema)
    high = sum(1 for f in report["findings"] if f["severity"] in ("high", "critical"))
    assert high and f"{high} distinct findings at or above high" in run.stdout
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    assert len(sarif["runs"][0]["results"]) == len(report["findings"])
    junit = ET.parse(tmp_path / "out.xml").getroot()
    assert int(junit.get("failures")) > 0
    assert (tmp_path / "out.html").read_text().lstrip().lower().startswith("<!doctype html>")
    assert "headeraudit" in (tmp_path / "out.md").read_text()
    # hardump's `done` ran after ours: the gate did not cut the run short.
    har = json.loads(har_out.read_text())
    assert len(har["log"]["entries"]) == report["summary"]["flows_audited"]


def test_gate_passes_with_status_0_when_nothing_reaches_the_threshold(tmp_path: Path) -> None:
    run = headeraudit(tmp_path, "-nr", SAMPLE_HAR, "--set", "headeraudit_fail_on=critical",
                      "--set", "headeraudit_min_grade=F")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "gate: passed" in run.stdout, run.stdout


@pytest.mark.parametrize(("sample", "grade", "expected"), [(SAMPLE_HAR, "A", 3), (SAMPLE_MITM, "A", 3), (SAMPLE_HAR, "F", 0)])
def test_min_grade_gate_on_har_and_mitm_files(tmp_path: Path, report_schema: dict[str, Any],
                                              sample: Path, grade: str, expected: int) -> None:
    run = headeraudit(tmp_path, "-nr", sample, "--set", f"headeraudit_min_grade={grade}", *reports(tmp_path, "r")[:2])
    assert run.returncode == expected, run.stdout + run.stderr
    report = load_report(tmp_path / "r.json", report_schema)
    below = [h["host"] for h in report["grades"]["hosts"] if h["grade"] not in ("A+", "A")]
    if expected:
        assert below and all(f"{host}: grade " in run.stdout for host in below), run.stdout


def test_without_gate_options_the_status_is_0_even_with_findings(tmp_path: Path) -> None:
    run = headeraudit(tmp_path, "-nr", SAMPLE_HAR)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "overall grade" in run.stdout  # the summary is printed anyway


@pytest.mark.parametrize(("option", "message"), [
    ("headeraudit_fail_on=severe", "headeraudit_fail_on: unknown severity 'severe'"),
    ("headeraudit_min_grade=E", "headeraudit_min_grade: unknown grade 'E'"),
    ("headeraudit_report=out.pdf", "unsupported report format '.pdf'"),
])
def test_bad_gate_options_are_startup_errors_with_status_1(tmp_path: Path, option: str, message: str) -> None:
    run = headeraudit(tmp_path, "-nr", SAMPLE_HAR, "--set", option)
    assert run.returncode == 1, run.stdout + run.stderr
    assert message in run.stdout + run.stderr
    assert_short_error(run.stdout + run.stderr)


def test_plain_mitmdump_prints_the_verdict_but_keeps_its_own_status(mitmdump, addon_script: Path) -> None:
    proc = mitmdump.run("-nr", SAMPLE_HAR, "-s", addon_script, "--set", "headeraudit_fail_on=high", listen=False)
    assert proc.returncode == 0, proc.output
    assert "at or above high" in proc.output and "run `headeraudit` instead" in proc.output, proc.output
