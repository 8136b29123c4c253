"""The one-screen terminal summary printed at the end of a CI run (at most about 25 lines).

    headeraudit: 33 flows, 45 findings on 5 hosts (5 high, 15 medium, 21 low, 4 info); overall grade C+ (62)
    hosts (worst first):
      legacy.example.org   F (20) -> A (90)     1 high, 6 medium, 7 low, 1 info
      ...
      … and 3 more hosts
    top rules:
      csp-unsafe-inline    high     2 hosts    3x
    dropped: 2 occurrences not recorded (a bound was reached)
    gate: FAIL: 3 findings at or above high

Unlike the other renderers it returns `str`: the caller prints it. Data is terminal-safe:
control characters and ANSI escapes in host names or rule ids are shown escaped (\\x1b),
never sent to the terminal, and every line is clipped to 160 characters.
"""

from __future__ import annotations

from typing import Any

from ._common import (
    HostRow,
    as_dict,
    as_int,
    clip,
    grade_change_text,
    host_rows,
    overall_grade,
    plural,
    printable,
    rule_totals,
    severity_counts_text,
)

LINE_MAX = 160
MAX_HOSTS = 8
MAX_RULES = 5
MAX_GATE = 5


def _grade(row: HostRow) -> str:
    return grade_change_text(row.grade, "->") if row.grade is not None else ""


def _host_lines(rows: list[HostRow]) -> list[str]:
    names = [printable(row.host) for row in rows]
    grades = [_grade(row) for row in rows]
    name_width = min(max(map(len, names)), 40)
    grade_width = max(map(len, grades))
    return [
        f"  {name:<{name_width}}  " + (f"{grade:<{grade_width}}  " if grade_width else "") + severity_counts_text(row.counts)
        for name, grade, row in zip(names, grades, rows)
    ]


def render_summary(report: dict[str, Any], gate: list[str] | None = None) -> str:
    summary = as_dict(report.get("summary"))
    rows = host_rows(report)
    overall = overall_grade(report)
    headline = (
        f"headeraudit: {plural(as_int(summary.get('flows_audited')), 'flow')}, "
        f"{plural(as_int(summary.get('findings')), 'finding')} on {plural(len(rows), 'host')} "
        f"({severity_counts_text(summary.get('by_severity'))})"
    )
    if overall is not None:
        headline += f"; overall grade {grade_change_text(overall, '->')}"
    lines = [headline]

    if rows:
        lines.append("hosts (worst first):")
        lines += _host_lines(rows[:MAX_HOSTS])
        if len(rows) > MAX_HOSTS:
            lines.append(f"  … and {plural(len(rows) - MAX_HOSTS, 'more host')}")

    totals = rule_totals(report)
    if totals:
        lines.append("top rules:")
        width = min(max(len(total.rule) for total in totals[:MAX_RULES]), 40)
        for total in totals[:MAX_RULES]:
            lines.append(
                f"  {total.rule:<{width}}  {total.severity:<8}  {plural(len(total.hosts), 'host'):<9}  {total.occurrences}x"
            )
        if len(totals) > MAX_RULES:
            lines.append(f"  … and {plural(len(totals) - MAX_RULES, 'more rule')}")

    dropped = as_int(summary.get("dropped"))
    if dropped:
        lines.append(f"dropped: {plural(dropped, 'occurrence')} not recorded (a bound was reached)")

    if gate is not None:
        if not gate:
            lines.append("gate: passed")
        else:
            lines += [f"gate: {printable(verdict)}" for verdict in gate[:MAX_GATE]]
            if len(gate) > MAX_GATE:
                lines.append(f"gate: … and {plural(len(gate) - MAX_GATE, 'more failure')}")
    return "\n".join(clip(printable(line), LINE_MAX) for line in lines) + "\n"
