"""The terminal summary: one screen, the facts a CI log needs, nothing that drives a terminal."""

from __future__ import annotations

import unicodedata

from headeraudit.report.summary import LINE_MAX, MAX_GATE, render_summary
from report_fixtures import ANSI, FORBIDDEN_RAW, big, hostile, sample, without_optional

SCREEN = 25


def lines(report: dict, gate: list[str] | None = None) -> list[str]:
    text = render_summary(report, gate)
    assert isinstance(text, str) and text.endswith("\n")
    return text.splitlines()


def test_headline_has_flows_findings_hosts_severities_and_overall_grade():
    assert lines(sample("audit"))[0] == (
        "headeraudit: 33 flows, 45 findings on 5 hosts (5 high, 15 medium, 21 low, 4 info); overall grade C+ (62)"
    )


def test_hosts_worst_grade_first_with_counts():
    out = lines(sample("audit"))
    assert out[1] == "hosts (worst first):"
    assert out[2].split() == ["legacy.example.org", "F", "(20)", "1", "high,", "6", "medium,", "7", "low,", "1", "info"]
    assert [line.split()[0] for line in out[2:7]] == [
        "legacy.example.org", "shop.example.net", "www.example.com", "api.example.com", "cdn.example.net"]


def test_fix_mode_shows_grade_before_and_after():
    out = lines(sample("fix"))
    assert "shop.example.net    C- (45) -> A+ (100)  2 high" in "\n".join(out)


def test_fix_mode_headline_has_overall_grade_before_and_after():
    assert lines(sample("fix"))[0].endswith("; overall grade C+ (62) -> A+ (97)")


def test_ungraded_report_has_no_grade_column():
    out = lines(without_optional(sample("fix")))
    assert "overall grade" not in out[0]
    assert out[2].split()[:3] == ["shop.example.net", "2", "high,"]


def test_top_five_rules_with_severity_hosts_and_counts():
    out = lines(sample("audit"))
    start = out.index("top rules:")
    top = out[start + 1: start + 6]
    assert [line.split()[0] for line in top] == [
        "csp-broad-source", "csp-unsafe-inline", "cors-origin-reflected-credentials", "cache-sensitive-cacheable", "csp-missing"]
    assert top[3].split() == ["cache-sensitive-cacheable", "medium", "3", "hosts", "6x"]
    assert out[start + 6] == "  … and 15 more rules"


def test_dropped_only_when_non_zero():
    assert not [line for line in lines(sample("audit")) if line.startswith("dropped")]
    report = sample("audit")
    report["summary"]["dropped"] = 9
    assert "dropped: 9 occurrences not recorded (a bound was reached)" in lines(report)


def test_gate_verdicts():
    assert not [line for line in lines(sample("audit")) if line.startswith("gate")]
    assert lines(sample("audit"), [])[-1] == "gate: passed"
    verdicts = ["FAIL: 3 findings at or above high", "FAIL: shop.example.net grade D below B"]
    assert lines(sample("audit"), verdicts)[-2:] == [f"gate: {v}" for v in verdicts]


def test_big_report_and_many_gate_failures_fit_one_screen():
    verdicts = [f"FAIL: host{h:03d}.example grade F below B" for h in range(40)]
    out = lines(big(), verdicts)
    assert len(out) <= SCREEN
    assert "  … and 142 more hosts" in out
    assert out[-1] == f"gate: … and {40 - MAX_GATE} more failures"
    assert sum(line.startswith("gate: FAIL") for line in out) == MAX_GATE


def test_long_lines_are_clipped():
    report = sample("audit")
    report["hosts"][0]["host"] = "h" * 500
    report["findings"][0]["rule"] = "r" * 500
    out = lines(report, ["FAIL: " + "x" * 500])
    assert max(len(line) for line in out) <= LINE_MAX
    assert any(line.endswith("…") for line in out)


def test_hostile_data_cannot_reach_the_terminal_raw():
    text = render_summary(hostile(), [ANSI + "FAIL\r\nfake: passed"])
    for char in FORBIDDEN_RAW:
        assert char not in text, repr(char)
    assert not [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]
    assert all(line.isprintable() for line in text.splitlines())
    assert "\\x1b[31mRED" in text
    assert "gate: \\x1b[31mRED\\x1b[0m\\x1b]0;title\\x07FAIL\\r\\nfake: passed" in text.splitlines()
    assert len(text.splitlines()) <= SCREEN
