"""The Markdown PR comment: short, tables intact, hostile values inert."""

from __future__ import annotations

import re

from headeraudit.report.markdown import MAX_HOSTS, MAX_RULES, md, render_markdown
from report_fixtures import (
    CRLF,
    FORBIDDEN_RAW,
    MARKDOWN,
    SCRIPT,
    big,
    hostile,
    sample,
    without_optional,
)

# Markdown/HTML syntax our own template never writes raw; in data it must be backslash-escaped.
# (Pipes are checked per table row, parentheses are inert without brackets.)
SYNTAX = "<>[]`!&_~"


def render(report: dict) -> str:
    return render_markdown(report).decode("utf-8")


def unescaped(text: str, char: str) -> int:
    """How often `char` appears not preceded by an odd number of backslashes."""
    return len(re.findall(r"(?<!\\)(?:\\\\)*" + re.escape(char), text))


def table(text: str, heading: str) -> list[str]:
    lines = text.split(f"#### {heading}\n\n", 1)[1].splitlines()
    return [line for line in lines[: next((i for i, line in enumerate(lines) if not line.startswith("|")), len(lines))]]


def cells(row: str) -> int:
    return unescaped(row, "|") - 1


def test_title_has_overall_grade_and_totals():
    first = render(sample("audit")).splitlines()[0]
    assert first == "### headeraudit: overall grade C+ (62) — 45 findings on 5 hosts"


def test_fix_mode_title_has_overall_grade_before_and_after():
    first = render(sample("fix")).splitlines()[0]
    assert first == "### headeraudit: overall grade C+ (62) → A+ (97) — 45 findings on 5 hosts"


def test_title_without_grades():
    assert render(without_optional(sample("audit"))).splitlines()[0] == "### headeraudit: 45 findings on 5 hosts"


def test_hosts_table_worst_first_with_counts_by_severity():
    rows = table(render(sample("audit")), "Hosts")
    assert rows[0] == "| host | grade | critical | high | medium | low | info |"
    assert rows[2] == "| legacy.example.org | F (20) | 0 | 1 | 6 | 7 | 1 |"
    assert len(rows) == 2 + 5


def test_fix_mode_hosts_table_has_grade_after_fixes():
    rows = table(render(sample("fix")), "Hosts")
    assert rows[0] == "| host | grade | after fixes | critical | high | medium | low | info |"
    assert "| shop.example.net | C- (45) | A+ (100) |" in "\n".join(rows)


def test_fix_mode_mentions_the_edits():
    assert "**Fixes:** 36 header edits on 5 hosts, computed (saved traffic, not applied)" in render(sample("fix"))
    assert "**Fixes:**" not in render(sample("audit"))


def test_rules_table_worst_first_with_hosts_and_occurrences():
    rows = table(render(sample("audit")), "Rules")
    assert rows[0] == "| rule | severity | hosts | occurrences |"
    assert rows[2] == "| csp-broad-source | high | 2 | 3 |"
    assert len(rows) == 2 + MAX_RULES


def test_big_report_stays_under_sixty_lines_and_says_how_many_more():
    report = big()
    text = render(report)
    assert len(text.splitlines()) <= 60
    assert f"… and {150 - MAX_HOSTS} more hosts" in text
    assert f"… and {80 - MAX_RULES} more rules" in text


def test_dropped_findings_are_mentioned():
    report = sample("audit")
    report["summary"]["dropped"] = 12
    assert "**Dropped:** 12 occurrences not recorded" in render(report)
    assert "Dropped" not in render(sample("audit"))


def test_md_escapes_every_markdown_and_html_character_and_nothing_else():
    assert md("a|b") == "a\\|b"
    assert md("[x](javascript:alert(1))") == "\\[x\\](javascript:alert(1))"  # no brackets, no link
    assert md("![i](x)") == "\\!\\[i\\](x)"
    assert md("<b>`c`</b> &amp; *e* _f_ ~~s~~") == "\\<b\\>\\`c\\`\\</b\\> \\&amp; \\*e\\* \\_f\\_ \\~\\~s\\~\\~"
    # what reads as it is: dates, hosts with ports, paths, grades (over-escaped before: 2026\\-12\\-03)
    assert md("2026-12-03 127.0.0.1:8080 /a/b?c=d C+ (62)") == "2026-12-03 127.0.0.1:8080 /a/b?c=d C+ (62)"
    assert md("line\nbreak") == "line\\\\nbreak"  # printable's \n, its backslash escaped
    assert md("\\|") == "\\\\\\|"  # a backslash in the data cannot un-escape the pipe


def test_hostile_values_cannot_break_tables():
    text = render(hostile())
    for heading in ("Hosts", "Rules"):
        rows = table(text, heading)
        assert len(rows) > 2
        assert {cells(row) for row in rows} == {cells(rows[0])}, heading


def test_hostile_values_cannot_inject_links_images_html_or_code():
    text = render(hostile())
    for char in SYNTAX:
        assert unescaped(text, char) == 0, char
    labels = ("**By severity:**", "**Fixes:**", "**Dropped:**")
    assert unescaped(re.sub("|".join(re.escape(label) for label in labels), "", text), "*") == 0
    for char in FORBIDDEN_RAW:
        assert char not in text, repr(char)
    assert SCRIPT not in text and MARKDOWN not in text and CRLF not in text


def test_hostile_host_names_stay_one_table_row():
    report = sample("audit")
    report["hosts"] = [{"host": "a\nb\r\n| x | y |\n\n# heading", "flows": 1, "by_severity": {}}]
    report.update(grades=None, findings=[])
    rows = table(render(report), "Hosts")
    assert len(rows) == 3 and "# heading" in rows[2]
