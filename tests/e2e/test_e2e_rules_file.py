"""Rules files in a real mitmdump: broken at startup, and edited while it runs."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from e2e_harness import (
    MitmDumpFactory,
    assert_short_error,
    Upstream,
    check_annotations,
    logged_findings,
    read_flows,
    rules_of,
    write_rules,
)

pytestmark = pytest.mark.e2e

VALID = """\
version: 1
rules:
  - id: xcto-required
    header: X-Content-Type-Options
    severity: low
    message: nosniff is missing
    check: {present: true}
"""

# (file text, line the error must name, rule id the error must name or None)
BROKEN = {
    "not-yaml": ("""\
version: 1
rules:
  - id: xcto-required
    header: X-Content-Type-Options
    severity: [low
    message: nosniff is missing
""", 6, None),
    "unknown-key": ("""\
version: 1
rules:
  - id: xcto-required
    header: X-Content-Type-Options
    severity: low
    message: nosniff is missing
    check: {present: true}
  - id: server-banner
    header: Server
    severity: low
    mesage: typo in the key
    check: {absent: true}
""", 11, "server-banner"),
    "bad-regex": ("""\
version: 1
rules:
  - id: xcto-required
    header: X-Content-Type-Options
    severity: low
    message: nosniff is missing
    check: {present: true}

  - id: server-version
    header: Server
    severity: low
    message: version in Server
    check: {not_matches: '(\\d+'}
""", 13, "server-version"),
    "unknown-severity": ("""\
version: 1
rules:
  - id: xcto-required
    header: X-Content-Type-Options
    severity: severe
    message: nosniff is missing
    check: {present: true}
""", 5, "xcto-required"),
    "duplicate-id": ("""\
version: 1
rules:
  - id: xcto-required
    header: X-Content-Type-Options
    severity: low
    message: nosniff is missing
    check: {present: true}
  - id: xcto-required
    header: X-Content-Type-Options
    severity: medium
    message: again
    check: {present: true}
""", 8, "xcto-required"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_rules_file_at_startup_exits_1_naming_file_line_and_rule(
    mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path, case: str
) -> None:
    text, line, rule_id = BROKEN[case]
    rules = tmp_path / f"{case}.yaml"
    rules.write_text(text, encoding="utf-8")
    proc = mitmdump.run("-s", addon_script, "--set", f"headeraudit_rules={rules}", timeout=30)
    assert proc.returncode is not None, f"mitmdump kept running with a broken rules file:\n{proc.output}"
    assert proc.returncode == 1, f"mitmdump output:\n{proc.output}"
    assert str(rules) in proc.output, f"the file path is not named:\n{proc.output}"
    assert re.search(re.escape(str(rules)) + rf":{line}\b", proc.output), \
        f"line {line} is not named as {rules}:{line}:\n{proc.output}"
    if rule_id:
        assert rule_id in proc.output, f"rule id {rule_id} is not named:\n{proc.output}"
    assert_short_error(proc.output)


def test_valid_custom_rules_file_replaces_the_defaults(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(VALID, encoding="utf-8")
    upstream.route("/", headers=[("Content-Type", "text/html"), ("Server", "Apache/2.4.1")], body=b"<html></html>")
    proxy = mitmdump.start("-s", addon_script, "--set", f"headeraudit_rules={rules}")
    proxy.client().get(upstream.url("/"))
    proxy.wait_for("xcto-required")
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"
    assert {f.rule for f in logged_findings(proxy.output)} == {"xcto-required"}, f"mitmdump output:\n{proxy.output}"


def test_live_edit_valid_broken_valid(
    upstream: Upstream, mitmdump: MitmDumpFactory, addon_script: Path, tmp_path: Path
) -> None:
    """Valid rules -> broken edit (previous rules stay, error names the file) -> valid edit
    with a new rule (taken up within ~2 s, without a restart)."""
    upstream.route("/", headers=[("Content-Type", "text/plain"), ("X-Powered-By", "PHP/8.1"),
                                 ("X-Debug-Token", "a1b2c3")], body=b"ok")
    rules = tmp_path / "rules.yaml"
    phase1 = "version: 1\nextends: default\ndisable: [tech-disclosure]\n"
    phase3 = """\
version: 1
extends: default
rules:
  - id: debug-token-leak
    header: X-Debug-Token
    severity: high
    message: debug token sent to clients
    check: {absent: true}
"""
    write_rules(rules, phase1)
    flows_path = tmp_path / "out.mitm"
    proxy = mitmdump.start("-s", addon_script, "--set", f"headeraudit_rules={rules}", "-w", flows_path)
    client = proxy.client()
    url = upstream.url("/")

    assert client.get(url).body == b"ok"  # flow 0: phase 1 rules
    proxy.wait_for("xcto-missing")
    time.sleep(1.2)  # let the watcher see the first state before it changes

    mark = proxy.line_count
    write_rules(rules, phase1 + "rules:\n  - id: oops\n    severity: low\n    message: m\n    chek: {}\n")
    # one error line naming the file (and the broken rule); the previous rules stay active
    proxy.wait_for(re.escape(str(rules)) + r".*oops", timeout=6, since=mark)
    assert proxy.alive, "a broken edit must not stop mitmdump"
    assert client.get(url).body == b"ok"  # flow 1: the previous rules are still active

    mark = proxy.line_count
    write_rules(rules, phase3)
    started = time.monotonic()
    deadline = started + 6
    seen = False
    while time.monotonic() < deadline and not seen:
        assert client.get(url).body == b"ok"  # flows 2..n
        seen = any(f.rule == "debug-token-leak" for f in logged_findings(proxy.output))
        if not seen:
            time.sleep(0.25)
    took = time.monotonic() - started
    assert seen, f"new rule not picked up within 6 s:\n{proxy.output}"
    assert took < 4.5, f"new rule took {took:.1f}s to take effect (documented: ~2 s)"
    assert proxy.stop() == 0, f"mitmdump output:\n{proxy.output}"

    assert "Traceback" not in proxy.output, f"mitmdump logged a traceback:\n{proxy.output}"
    flows = read_flows(flows_path)
    assert len(flows) >= 3
    before = rules_of(flows[0])
    assert "xcto-missing" in before and "tech-disclosure" not in before
    assert rules_of(flows[1]) == before, "after a broken edit the previous rules must stay active"
    after = rules_of(flows[-1])
    assert {"debug-token-leak", "tech-disclosure", "xcto-missing"} <= after, after
    for flow in flows:
        check_annotations(flow)
    assert flows[-1].marked == ":red_circle:"  # debug-token-leak is high
