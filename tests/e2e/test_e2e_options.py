"""A bad option value stops mitmdump naming the option, for every option type: no value may
turn the addon off without a word (mitmproxy drops a script whose deferred bool option fails to
parse, silently)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from e2e_harness import REPO, MitmDumpFactory, assert_short_error, subprocess_env

pytestmark = pytest.mark.e2e

SAMPLE = REPO / "examples" / "sample.har"


@pytest.mark.parametrize(("option", "value"), [
    ("headeraudit_report_page", "True"),  # bool: mitmproxy takes only true/false
    ("headeraudit_report_page", "yes"),
    ("headeraudit_fix_opt_in", "maybe"),
    ("headeraudit_fix_opt_in", "1"),
    ("headeraudit_mode", "bogus"),  # str with choices
    ("headeraudit_min_grade", "E"),  # str, validated by the addon
    ("headeraudit_report", "out.weird"),  # Sequence[str]: a report format from the extension
])
def test_a_bad_value_stops_mitmdump_naming_the_option(
    mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path, option: str, value: str
) -> None:
    report = tmp_path / "r.json"
    args = ["-nr", SAMPLE, "-s", addon_script, "--set", f"{option}={value}"]
    if option != "headeraudit_report":
        args += ["--set", f"headeraudit_report={report}"]
    proc = mitmdump.run(*args, listen=False, timeout=60)
    assert proc.returncode == 1, f"mitmdump exited {proc.returncode}:\n{proc.output}"
    assert option in proc.output and value in proc.output, proc.output
    assert_short_error(proc.output)
    assert not report.exists()


def test_the_traceback_of_a_start_up_error_is_shown_at_debug_verbosity(
    mitmdump: MitmDumpFactory, addon_script: Path
) -> None:
    proc = mitmdump.run("-nr", SAMPLE, "-s", addon_script, "--set", "headeraudit_mode=bogus",
                        "--set", "termlog_verbosity=debug", listen=False, timeout=60)
    assert proc.returncode == 1, proc.output
    assert "Traceback" in proc.output and "parse_settings" in proc.output, proc.output
    assert "headeraudit: cannot start: headeraudit_mode: must be one of audit, fix, not 'bogus'" in proc.output


@pytest.mark.parametrize("value", ["true", "false", "toggle"])
def test_the_values_mitmproxy_takes_for_a_bool_work(
    mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path, value: str
) -> None:
    report = tmp_path / "r.json"
    proc = mitmdump.run("-nr", SAMPLE, "-s", addon_script, "--set", f"headeraudit_fix_opt_in={value}",
                        "--set", f"headeraudit_report={report}", listen=False, timeout=60)
    assert proc.returncode == 0, proc.output
    assert report.exists()


def test_start_up_says_once_what_was_loaded(mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - id: xcto-required\n    header: X-Content-Type-Options\n"
                     "    severity: low\n    message: nosniff is missing\n    check: {present: true}\n")
    proc = mitmdump.run("-nr", SAMPLE, "-s", addon_script, "--set", f"headeraudit_rules={rules}",
                        "--set", "headeraudit_mode=fix", listen=False, timeout=60)
    assert proc.returncode == 0, proc.output
    lines = [line for line in proc.output.splitlines() if "rule from" in line or "rules from" in line]
    assert len(lines) == 1, proc.output
    assert lines[0].endswith(f"1 rule from {rules}, fix mode"), lines  # -n: no live report to point at
    live = mitmdump.start("-s", addon_script)
    line = live.wait_for(r"headeraudit: \d+ rules from .*").group(0)
    assert line.endswith("(the bundled rules), audit mode; live report at http://headeraudit.proxy/ (or https://)"), line
    assert live.stop() == 0, live.output
    off = mitmdump.start("-s", addon_script, "--set", "headeraudit_report_page=false")
    line = off.wait_for(r"headeraudit: \d+ rules from .*").group(0)
    assert line.endswith("(the bundled rules), audit mode"), line
    assert off.stop() == 0, off.output


HEADERAUDIT = Path(sys.executable).parent / "headeraudit"


@pytest.mark.parametrize("case", ["empty capture", "filter matching nothing", "truncated filter"])
def test_a_run_that_audits_nothing_exits_4_and_says_why(tmp_path: Path, case: str) -> None:
    """A gate that 'passed' on nothing was a CI pipeline passing unaudited traffic."""
    if case == "empty capture":
        capture = tmp_path / "empty.har"
        capture.write_text('{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": []}}')
        extra: list[str] = []
    else:
        capture = SAMPLE
        extra = ["--set", "headeraudit_filter=" + ("~d nosuch.example" if case == "filter matching nothing" else "~d example.com &")]
    proc = subprocess.run([str(HEADERAUDIT), "-nr", str(capture), "--set", "headeraudit_fail_on=high",
                           "--set", f"confdir={tmp_path / 'conf'}", *extra],
                          capture_output=True, text=True, timeout=120, env=subprocess_env(), stdin=subprocess.DEVNULL)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 4, output
    assert "no flow was audited" in output
    if case != "empty capture":
        assert "matched none of 33 responses" in output, output


def test_version_and_help_name_headeraudit_and_its_options() -> None:
    from headeraudit.mitm.settings import OPTIONS

    def run(*args: str) -> str:
        proc = subprocess.run([str(HEADERAUDIT), *args], capture_output=True, text=True, timeout=60,
                              env=subprocess_env(), stdin=subprocess.DEVNULL)
        # (mitmdump --help exits 1, as mitmproxy's own tools do; what it prints is the point)
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        return proc.stdout + proc.stderr

    version = run("--version")
    assert version.startswith("headeraudit: ") and "Mitmproxy:" in version
    helped = run("--help")
    for option in OPTIONS:
        assert option.name in helped
    assert "one of: 'audit', 'fix'" in helped
    assert "Valid values are 'audit', 'fix'" in run("--options")  # mitmproxy's own listing shows the choices
