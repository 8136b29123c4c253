"""The JUnit XML report, for CI dashboards (GitLab, Jenkins, Azure DevOps, GitHub test reporters).

    <testsuites name="headeraudit" tests="205" failures="45" errors="0">
      <testsuite name="shop.example.net" tests="41" failures="12" errors="0" skipped="0" timestamp="...">
        <properties><property name="flows" value="12"/><property name="grade" value="C-"/>...</properties>
        <testcase classname="shop.example.net" name="hsts-missing">
          <failure message="HTTPS response without Strict-Transport-Security (2 occurrences)" type="medium">
    Strict-Transport-Security: missing (2x, e.g. https://shop.example.net/)</failure>
        </testcase>
        <testcase classname="shop.example.net" name="xcto-missing"/>   (passed)

One suite per host, one test case per host x rule (every rule of the report, plus any rule a
finding names that the report does not describe); a case fails when the host has findings
of that rule, with one line per distinct evidence. The Observatory grade is a suite property,
not a failure: whether a grade fails the build is the CI gate's decision, not the report's.

XML 1.0 cannot carry most control characters or lone surrogates at all, so every value
goes through `printable` (visible escapes); ElementTree does the markup escaping.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ._common import (
    as_int,
    as_list,
    findings,
    grade_text,
    host_rows,
    plural,
    printable,
    rules_by_id,
    severity_rank,
)

_EXAMPLE_MAX = 1


def _evidence_line(finding: dict[str, Any]) -> str:
    examples = [printable(u) for u in as_list(finding.get("examples"))][:_EXAMPLE_MAX]
    count = as_int(finding.get("count"))
    seen = f" ({count}x, e.g. {examples[0]})" if examples else f" ({count}x)"
    return f"{printable(finding.get('header'))}: {printable(finding.get('evidence'))}{seen}"


def build_junit(report: dict[str, Any]) -> ET.Element:
    rules = rules_by_id(report)
    rule_ids = list(rules)
    by_host_rule: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for finding in findings(report):
        given = finding.get("rule")
        rule_id: str = given if isinstance(given, str) else printable(given)
        if rule_id not in rule_ids:
            rule_ids.append(rule_id)
        by_host_rule.setdefault((printable(finding.get("host")), rule_id), []).append(finding)

    root = ET.Element("testsuites", name="headeraudit", tests="0", failures="0", errors="0")
    total_tests = total_failures = 0
    for row in sorted(host_rows(report), key=lambda r: r.host):
        host = printable(row.host)
        suite = ET.SubElement(
            root, "testsuite", name=host, tests="0", failures="0", errors="0", skipped="0",
            timestamp=printable(report.get("generated")),
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="flows", value=str(row.flows))
        for severity, count in row.counts.items():
            ET.SubElement(properties, "property", name=f"findings.{severity}", value=str(count))
        if row.grade is not None:
            ET.SubElement(properties, "property", name="grade", value=grade_text(row.grade.score, row.grade.grade))
            if row.grade.after_grade:
                ET.SubElement(
                    properties, "property", name="grade_after_fix",
                    value=grade_text(row.grade.after_score, row.grade.after_grade),
                )
        failures = 0
        for rule_id in rule_ids:
            case = ET.SubElement(suite, "testcase", classname=host, name=printable(rule_id))
            host_findings = by_host_rule.get((host, rule_id))
            if not host_findings:
                continue
            failures += 1
            worst = max(host_findings, key=lambda f: severity_rank(f.get("severity")))
            message = rules.get(rule_id, {}).get("message") or worst.get("message")
            occurrences = sum(as_int(f.get("count")) for f in host_findings)
            failure = ET.SubElement(
                case, "failure", message=f"{printable(message)} ({plural(occurrences, 'occurrence')})",
                type=printable(worst.get("severity")),
            )
            failure.text = "\n".join(_evidence_line(f) for f in host_findings)
        suite.set("tests", str(len(rule_ids)))
        suite.set("failures", str(failures))
        total_tests += len(rule_ids)
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    return root


def render_junit(report: dict[str, Any]) -> bytes:
    root = build_junit(report)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode("utf-8", "backslashreplace")
