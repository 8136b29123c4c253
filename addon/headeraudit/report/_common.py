"""What the renderers share: reading the report dict defensively and making its text safe.

Every string in a report may come from a response header, so it is attacker-controlled:
renderers pass it through `printable` (and then their format's own escaping) before it
reaches a terminal, a browser or a CI dashboard. The report is read with `.get` and
type checks throughout, because `grades` and `fix_previews` are optional and a renderer
must never turn a slightly odd report into a crash at the end of a long CI run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..model import SEVERITIES
from ..text import terminal_safe

WORST_FIRST: tuple[str, ...] = tuple(reversed(SEVERITIES))
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
printable = terminal_safe  # every string a renderer shows goes through it first


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> int:
    """Counts are ints in a real report; anything else counts as 0 rather than raising."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return 0


def severity_rank(severity: Any) -> int:
    """Unknown severities sort below info instead of raising."""
    return _RANK.get(severity, -1) if isinstance(severity, str) else -1


def is_web_url(url: Any) -> bool:
    """Only http(s) URLs with a host become links; `javascript:`, `data:` and anything with
    a control character or space stays text (WHATWG URL parsing strips some of those, which
    would let `java\\tscript:` through a naive scheme check)."""
    if not isinstance(url, str) or not url.isprintable() or " " in url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def by_severity(counts: Any) -> dict[str, int]:
    counts = as_dict(counts)
    return {severity: as_int(counts.get(severity)) for severity in SEVERITIES}


def severity_counts_text(counts: Any) -> str:
    """'2 high, 1 medium' (worst first, zeros left out) or 'none'."""
    counted = by_severity(counts)
    parts = [f"{counted[s]} {s}" for s in WORST_FIRST if counted[s]]
    return ", ".join(parts) if parts else "none"


@dataclass
class GradeText:
    score: int | None
    grade: str
    after_score: int | None = None
    after_grade: str | None = None
    responses: int = 0
    tests: list[dict[str, Any]] = field(default_factory=list)
    after_tests: list[dict[str, Any]] = field(default_factory=list)


def _score(value: Any) -> int | None:
    return as_int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def overall_grade(report: dict[str, Any]) -> GradeText | None:
    """The overall grade (its `responses` holds the number of graded hosts), with the grade
    after the fixes in fix mode; None when the report has none or no host could be graded."""
    overall = as_dict(as_dict(report.get("grades")).get("overall"))
    if not overall.get("grade"):
        return None
    after = as_dict(overall.get("after_fix"))
    return GradeText(
        _score(overall.get("score")), printable(overall.get("grade")), responses=as_int(overall.get("hosts")),
        after_score=_score(after.get("score")) if after else None,
        after_grade=printable(after.get("grade")) if after.get("grade") else None,
    )


def host_grades(report: dict[str, Any]) -> dict[str, GradeText]:
    """Grades by host; empty when the report has none (reports before grading existed)."""
    grades: dict[str, GradeText] = {}
    for entry in as_list(as_dict(report.get("grades")).get("hosts")):
        entry = as_dict(entry)
        host = entry.get("host")
        if not isinstance(host, str):
            continue
        after = as_dict(entry.get("after_fix"))
        grades[host] = GradeText(
            score=_score(entry.get("score")), grade=printable(entry.get("grade")),
            after_score=_score(after.get("score")) if after else None,
            after_grade=printable(after.get("grade")) if after else None,
            responses=as_int(entry.get("responses")),
            tests=[as_dict(t) for t in as_list(entry.get("tests"))],
            after_tests=[as_dict(t) for t in as_list(after.get("tests"))],
        )
    return grades


def grade_text(score: int | None, grade: str | None) -> str:
    if not grade:
        return "-"
    return f"{grade} ({score})" if score is not None else grade


def grade_change_text(grade: GradeText, arrow: str = "→") -> str:
    """'C- (45)', or in fix mode 'C- (45) → A+ (100)'."""
    text = grade_text(grade.score, grade.grade)
    if grade.after_grade:
        text += f" {arrow} {grade_text(grade.after_score, grade.after_grade)}"
    return text


@dataclass
class HostRow:
    host: str
    flows: int
    counts: dict[str, int]
    grade: GradeText | None


def host_rows(report: dict[str, Any]) -> list[HostRow]:
    """Every host of `hosts`, plus any that only `grades` or `findings` mention, worst first:
    lowest score, then most severe counts, then name."""
    grades = host_grades(report)
    rows: dict[str, HostRow] = {}
    for entry in as_list(report.get("hosts")):
        entry = as_dict(entry)
        host = entry.get("host")
        if isinstance(host, str) and host not in rows:
            rows[host] = HostRow(host, as_int(entry.get("flows")), by_severity(entry.get("by_severity")), grades.get(host))
    listed = set(rows)
    for finding in findings(report):
        host = finding.get("host")
        if isinstance(host, str) and host not in listed:
            row = rows.setdefault(host, HostRow(host, 0, {s: 0 for s in SEVERITIES}, grades.get(host)))
            if finding.get("severity") in row.counts:
                row.counts[finding["severity"]] += 1
    for host, grade in grades.items():
        if host not in rows:
            rows[host] = HostRow(host, grade.responses, {s: 0 for s in SEVERITIES}, grade)

    def worst_first(row: HostRow) -> tuple[Any, ...]:
        score = row.grade.score if row.grade and row.grade.score is not None else math.inf
        return (score, tuple(-row.counts[s] for s in WORST_FIRST), row.host)

    return sorted(rows.values(), key=worst_first)


def findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in as_list(report.get("findings")) if isinstance(f, dict)]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def rules_by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for rule in as_list(report.get("rules")):
        if isinstance(rule, dict) and isinstance(rule.get("id"), str):
            out.setdefault(rule["id"], rule)
    return out


@dataclass
class RuleTotal:
    rule: str
    severity: str
    message: str
    hosts: set[str]
    occurrences: int
    findings: list[dict[str, Any]]


def rule_totals(report: dict[str, Any]) -> list[RuleTotal]:
    """Findings grouped by rule, worst severity first, then most occurrences, then id."""
    rules = rules_by_id(report)
    totals: dict[str, RuleTotal] = {}
    for finding in findings(report):
        rule_id = printable(finding.get("rule"))
        total = totals.get(rule_id)
        if total is None:
            rule = rules.get(rule_id, {})
            severity = finding.get("severity") if isinstance(finding.get("severity"), str) else rule.get("severity")
            message = rule.get("message") if isinstance(rule.get("message"), str) else finding.get("message")
            total = totals[rule_id] = RuleTotal(rule_id, printable(severity), printable(message), set(), 0, [])
        if isinstance(finding.get("host"), str):
            total.hosts.add(finding["host"])
        total.occurrences += as_int(finding.get("count"))
        total.findings.append(finding)
    return sorted(totals.values(), key=lambda t: (-severity_rank(t.severity), -t.occurrences, t.rule))


def fix_description(rule: dict[str, Any]) -> list[str]:
    """A rule's fix (rules.Fix.as_dict) as short plain lines, e.g. 'set X-Frame-Options: DENY'.
    The fix edits its own `header` if it names one, else the rule's first header."""
    fix = as_dict(rule.get("fix"))
    if not fix:
        return []
    headers = as_list(rule.get("headers"))
    header = fix.get("header") if isinstance(fix.get("header"), str) else (headers[0] if headers else None)
    lines = []
    target = f"{printable(header)}: " if isinstance(header, str) else ""
    if "set" in fix:
        lines.append(f"set {target}{printable(fix['set'])}")
    if fix.get("remove"):
        lines.append(f"remove {printable(header)}" if isinstance(header, str) else "remove the header")
    attributes = [printable(a) for a in as_list(fix.get("cookie_attributes"))]
    if attributes:
        lines.append("add cookie attributes " + ", ".join(attributes))
    for host, value in as_dict(fix.get("hosts")).items():
        lines.append(f"on {printable(host)}: set {target}{printable(value)}")
    if fix.get("opt_in"):
        lines.append("opt-in: applied only with headeraudit_fix_opt_in=true")
    return lines


@dataclass
class DiffLine:
    """One line of a before/after header diff: mark is ' ' kept, '+' added, '-' removed,
    '~' changed (value differs, `old_value` set)."""

    mark: str
    name: str
    value: str
    old_value: str | None = None


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    pairs = []
    for item in as_list(headers):
        if isinstance(item, (list, tuple)) and len(item) == 2:
            pairs.append((printable(item[0]), printable(item[1])))
    return pairs


def header_diff(before: Any, after: Any) -> list[DiffLine]:
    """Header fields compared as a multiset by (case-insensitive name, value): identical lines
    are kept, then the leftovers of one name pair up in order as changes (Set-Cookie lines
    of several cookies each change on their own), and what is left is removed or added.
    The order is the original response's, with added lines last, as the fix appends them."""
    before_pairs, after_pairs = _header_pairs(before), _header_pairs(after)
    unmatched_after = list(range(len(after_pairs)))
    kept: dict[int, int] = {}
    for i, (name, value) in enumerate(before_pairs):
        for j in unmatched_after:
            if after_pairs[j][0].lower() == name.lower() and after_pairs[j][1] == value:
                kept[i] = j
                unmatched_after.remove(j)
                break
    lines: list[DiffLine] = []
    for i, (name, value) in enumerate(before_pairs):
        if i in kept:
            lines.append(DiffLine(" ", name, value))
            continue
        partner = next((j for j in unmatched_after if after_pairs[j][0].lower() == name.lower()), None)
        if partner is None:
            lines.append(DiffLine("-", name, value))
        else:
            unmatched_after.remove(partner)
            lines.append(DiffLine("~", after_pairs[partner][0], after_pairs[partner][1], old_value=value))
    lines.extend(DiffLine("+", *after_pairs[j]) for j in unmatched_after)
    return lines
