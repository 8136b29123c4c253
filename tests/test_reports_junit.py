"""The JUnit XML report: one suite per host, one case per host x rule, correct counts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from headeraudit.report.junit import render_junit
from report_fixtures import (
    ANSI,
    FORBIDDEN_RAW,
    SCRIPT,
    hostile,
    sample,
    without_optional,
)


def parse(report: dict) -> ET.Element:
    data = render_junit(report)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    data.decode("utf-8")  # strict
    return ET.fromstring(data)


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {suite.get("name"): suite for suite in root.findall("testsuite")}


def properties(suite: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in suite.find("properties")}


@pytest.mark.parametrize("name", ["audit", "fix"])
def test_one_suite_per_host_and_one_case_per_rule(name):
    report = sample(name)
    root = parse(report)
    assert root.tag == "testsuites" and root.get("name") == "headeraudit"
    by_host = suites(root)
    assert set(by_host) == {h["host"] for h in report["hosts"]}
    rule_ids = [r["id"] for r in report["rules"]]
    for host, suite in by_host.items():
        cases = suite.findall("testcase")
        assert [c.get("name") for c in cases] == rule_ids
        assert {c.get("classname") for c in cases} == {host}


@pytest.mark.parametrize("name", ["audit", "fix"])
def test_counts_match_the_findings(name):
    report = sample(name)
    root = parse(report)
    failing = {(f["host"], f["rule"]) for f in report["findings"]}
    per_host = Counter(host for host, _ in failing)
    assert int(root.get("tests")) == len(report["hosts"]) * len(report["rules"])
    assert int(root.get("failures")) == len(failing)
    assert root.get("errors") == "0"
    for host, suite in suites(root).items():
        assert int(suite.get("tests")) == len(report["rules"]) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == per_host[host] == len(suite.findall("testcase/failure"))
        failed = {(host, c.get("name")) for c in suite.findall("testcase") if c.find("failure") is not None}
        assert failed == {pair for pair in failing if pair[0] == host}


def test_failure_carries_severity_message_and_one_line_per_evidence():
    report = sample("audit")
    root = parse(report)
    case = next(c for c in suites(root)["shop.example.net"].findall("testcase") if c.get("name") == "csp-broad-source")
    failure = case.find("failure")
    assert failure.get("type") == "high"
    assert failure.get("message") == "CSP allows scripts or plugins from any host or scheme (2 occurrences)"
    assert failure.text == "Content-Security-Policy: default-src: https: (2x, e.g. https://shop.example.net/)"
    findings = [f for f in report["findings"] if f["host"] == "legacy.example.org" and f["rule"] == "cookie-no-httponly"]
    case = next(c for c in suites(root)["legacy.example.org"].findall("testcase") if c.get("name") == "cookie-no-httponly")
    assert len(case.find("failure").text.splitlines()) == len(findings)


def test_grade_is_a_suite_property_not_a_failure():
    root = parse(sample("fix"))
    legacy = suites(root)["legacy.example.org"]
    assert properties(legacy)["grade"] == "F (20)"
    assert properties(legacy)["grade_after_fix"] == "A (90)"
    assert properties(legacy)["flows"] == "6"
    assert properties(legacy)["findings.high"] == "1"
    assert not [c for c in legacy.findall("testcase") if "grade" in (c.get("name") or "")]


def test_audit_mode_and_ungraded_reports_have_no_grade_after_fix():
    assert "grade_after_fix" not in properties(suites(parse(sample("audit")))["shop.example.net"])
    props = properties(suites(parse(without_optional(sample("fix"))))["shop.example.net"])
    assert "grade" not in props and "grade_after_fix" not in props


def test_finding_of_an_undescribed_rule_becomes_a_failing_case():
    report = sample("audit")
    report["findings"][0]["rule"] = "not-in-rules"
    root = parse(report)
    assert int(root.get("tests")) == len(report["hosts"]) * (len(report["rules"]) + 1)
    host = suites(root)[report["findings"][0]["host"]]
    case = next(c for c in host.findall("testcase") if c.get("name") == "not-in-rules")
    assert case.find("failure") is not None


def test_empty_report_is_an_empty_testsuites():
    report = sample("audit")
    report.update(findings=[], hosts=[], grades=None)
    root = parse(report)
    assert root.findall("testsuite") == [] and root.get("tests") == "0" and root.get("failures") == "0"


def test_hostile_report_parses_and_keeps_values_visible():
    report = hostile()
    data = render_junit(report)
    root = ET.fromstring(data)
    text = data.decode("utf-8")
    for char in FORBIDDEN_RAW:
        assert char not in text, repr(char)
    names = set(suites(root))
    assert SCRIPT in names  # escaped by ElementTree, parsed back intact
    assert any(name.startswith('"><img') and "\\x1b[31mRED" in name for name in names)
    assert "<script>" not in text
    failures = int(root.get("failures"))
    assert failures == sum(int(s.get("failures")) for s in root.findall("testsuite")) > 0
    assert ANSI not in text
