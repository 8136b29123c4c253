"""The Markdown summary, sized for a pull-request comment (GitHub-flavoured Markdown).

    ### headeraudit: overall grade C+ (62) — 45 findings on 5 hosts
    mode fix · 33 flows audited · 111 occurrences · generated 2026-11-23T22:41:27Z
    **By severity:** 5 high, 15 medium, 21 low, 4 info

    | host | grade | after fixes | critical | high | medium | low | info |
    |---|---|---|--:|--:|--:|--:|--:|
    | legacy.example.org | F (20) | A (90) | 0 | 1 | 6 | 7 | 1 |

    | rule | severity | hosts | occurrences |
    ...

At most 20 hosts and 15 rules are listed ("… and N more"), so the comment stays under
about 60 lines however big the report is. Values are escaped for Markdown and HTML:
each character Markdown reads as markup inside a line gets a backslash (backslash,
backtick, * _ [ ] < > | ! ~ &; GFM tables need `\\|`), line breaks and control characters become visible
escapes, so a hostile host name or rule id cannot end a table cell, open a link or image,
start a code span or inject HTML.
"""

from __future__ import annotations

import re
from typing import Any

from ._common import (
    WORST_FIRST,
    as_dict,
    as_int,
    clip,
    grade_change_text,
    grade_text,
    host_rows,
    overall_grade,
    plural,
    printable,
    rule_totals,
    severity_counts_text,
)

MAX_HOSTS = 20
MAX_RULES = 15
_CELL_MAX = 120
# What Markdown would read as markup inside a line (CommonMark 6, GFM tables and strikethrough):
# escapes, code, emphasis, links and images, raw HTML and entities, table cells. Dates, hosts,
# ports and paths (2026-12-03, 127.0.0.1:8080, /a/b) read as they are.
_MARKUP = re.compile(r"""([\\`*_\[\]<>|!~&])""")


def md(value: Any, limit: int = _CELL_MAX) -> str:
    """Report text as inert Markdown: one line, every character Markdown would read as markup
    backslash-escaped."""
    return _MARKUP.sub(r"\\\1", clip(printable(value), limit))


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _hosts_table(report: dict[str, Any]) -> list[str]:
    rows = host_rows(report)
    if not rows:
        return ["No hosts audited."]
    graded = any(row.grade for row in rows)
    fix_mode = report.get("mode") == "fix"
    head = ["host"] + (["grade"] if graded else []) + (["after fixes"] if graded and fix_mode else []) + list(WORST_FIRST)
    align = ["---"] * (len(head) - len(WORST_FIRST)) + ["--:"] * len(WORST_FIRST)
    lines = [_row(head), _row(align)]
    for row in rows[:MAX_HOSTS]:
        cells = [md(row.host)]
        if graded:
            cells.append(md(grade_text(row.grade.score, row.grade.grade)) if row.grade else "-")
            if fix_mode:
                grade = row.grade
                cells.append(md(grade_text(grade.after_score, grade.after_grade)) if grade and grade.after_grade else "-")
        cells += [str(row.counts[s]) for s in WORST_FIRST]
        lines.append(_row(cells))
    if len(rows) > MAX_HOSTS:
        lines.append(f"\n… and {plural(len(rows) - MAX_HOSTS, 'more host')}")
    return lines


def _rules_table(report: dict[str, Any]) -> list[str]:
    totals = rule_totals(report)
    if not totals:
        return ["No findings."]
    lines = [_row(["rule", "severity", "hosts", "occurrences"]), _row(["---", "---", "--:", "--:"])]
    for total in totals[:MAX_RULES]:
        lines.append(_row([md(total.rule), md(total.severity), str(len(total.hosts)), str(total.occurrences)]))
    if len(totals) > MAX_RULES:
        lines.append(f"\n… and {plural(len(totals) - MAX_RULES, 'more rule')}")
    return lines


def render_markdown(report: dict[str, Any]) -> bytes:
    summary = as_dict(report.get("summary"))
    host_count = len(host_rows(report))
    overall = overall_grade(report)
    grade = f"overall grade {md(grade_change_text(overall))} — " if overall else ""
    lines = [
        f"### headeraudit: {grade}{plural(as_int(summary.get('findings')), 'finding')} on {plural(host_count, 'host')}",
        "",
        (
            f"mode {md(report.get('mode'))} · {as_int(summary.get('flows_audited'))} flows audited · "
            f"{plural(as_int(summary.get('occurrences')), 'occurrence')} · generated {md(report.get('generated'))}  "
        ),
        f"**By severity:** {md(severity_counts_text(summary.get('by_severity')))}",
    ]
    dropped = as_int(summary.get("dropped"))
    if dropped:
        lines.append(f"**Dropped:** {plural(dropped, 'occurrence')} not recorded (a bound was reached)")
    fixes = [f for f in report.get("fixes") or [] if isinstance(f, dict)]
    if fixes:
        hosts = {printable(f.get("host")) for f in fixes}
        applied = any(f.get("applied") is True for f in fixes)
        verb = "applied" if applied else "computed (saved traffic, not applied)"
        lines.append(f"**Fixes:** {plural(len(fixes), 'header edit')} on {plural(len(hosts), 'host')}, {verb}")
    lines += ["", "#### Hosts", ""] + _hosts_table(report)
    lines += ["", "#### Rules", ""] + _rules_table(report)
    return ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")
