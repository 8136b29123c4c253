"""The HTML report: one self-contained page (inline CSS, no script, nothing loaded).

Layout, top to bottom: a header (generated, mode, ruleset path and sha256, flows audited,
counts by severity, dropped), the overall grade, the hosts table (grade badge coloured by
letter, grade after the fixes in fix mode, flows, counts by severity), the findings grouped
by rule (worst first: severity, message, total count, one row per host/evidence with count
and example URLs, the rule's fix and references), the Observatory tests per host, and in fix
mode the edits per host and a before/after header diff per previewed response; last the CSP
violation reports. `refresh_seconds` adds `<meta http-equiv="refresh">` for the live page.

Every value in a report can come from a response header, so every one is escaped (text and
quoted attributes); only http(s) URLs become links, the rest is text. The page carries its
own Content-Security-Policy (no script, no external anything, the stylesheet by hash) and
`no-referrer`, so even a gap in the escaping would have nothing to run, and following an
example URL does not leak the report's location. The output is UTF-8 with no lone
surrogates: `printable` has already turned them into visible escapes.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Any

from ._common import (
    WORST_FIRST,
    DiffLine,
    GradeText,
    as_dict,
    as_int,
    as_list,
    by_severity,
    fix_description,
    header_diff,
    host_grades,
    host_rows,
    is_web_url,
    overall_grade,
    plural,
    printable,
    rule_totals,
    rules_by_id,
)

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;padding:1em;color:#1b1b1b}
h1{margin:.2em 0}h2{margin-top:1.6em;border-bottom:1px solid #ccc}h3{margin:.2em 0}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n,th.n{text-align:right}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em}dl.meta dt{font-weight:600}dl.meta dd{margin:0}
.badge{display:inline-block;min-width:2.2em;padding:.05em .45em;border-radius:.3em;font-weight:700;text-align:center;color:#fff;background:#777}
.big{font-size:2em}
.g-a{background:#1a7f37}.g-b{background:#4d8f1f}.g-c{background:#b08800}.g-d{background:#d1600f}.g-f{background:#c62828}
.sev-critical{background:#7b1fa2}.sev-high{background:#c62828}.sev-medium{background:#d1600f}.sev-low{background:#b08800}.sev-info{background:#1f6feb}
.zero{color:#999}.warn{color:#c62828;font-weight:600}
summary h3{display:inline}details.rule{border:1px solid #ddd;border-radius:.3em;padding:.4em .8em;margin:.6em 0}summary{cursor:pointer}
pre.diff{background:#f7f7f7;padding:.5em;white-space:pre-wrap;word-break:break-all}
.ln{display:block}.add{background:#e6ffec}.del{background:#ffebe9}.chg{background:#fff8c5}
.pass{color:#1a7f37}.fail{color:#c62828}
""".strip()

_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")
# The page practises what the tool preaches: nothing may load or run but its own stylesheet.
PAGE_CSP = f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; base-uri 'none'; form-action 'none'"

_GRADE_CLASS = {"A": "g-a", "B": "g-b", "C": "g-c", "D": "g-d", "F": "g-f"}
_SEVERITY_CLASS = {severity: f"sev-{severity}" for severity in WORST_FIRST}
_DIFF_CLASS = {"+": "add", "-": "del", "~": "chg", " ": ""}


def _t(value: Any) -> str:
    """Text content: made printable, then HTML-escaped (quotes too, so it is attribute-safe)."""
    return escape(printable(value), quote=True)


def _grade_badge(grade: str | None, score: int | None = None, big: bool = False) -> str:
    if not grade:
        return '<span class="zero">-</span>'
    css = _GRADE_CLASS.get(grade[:1].upper(), "")
    title = f' title="score {score}"' if score is not None else ""
    return f'<span class="badge {css}{" big" if big else ""}"{title}>{_t(grade)}</span>'


def _severity_badge(severity: Any) -> str:
    css = _SEVERITY_CLASS.get(severity, "") if isinstance(severity, str) else ""
    return f'<span class="badge {css}">{_t(severity)}</span>'


def _link(url: Any) -> str:
    """A link only for http(s); `javascript:` and friends are shown, never followed."""
    if is_web_url(url):
        return f'<a href="{escape(url, quote=True)}" rel="noopener noreferrer nofollow">{_t(url)}</a>'
    return f'<span class="mono">{_t(url)}</span>'


def _count_cells(counts: dict[str, int]) -> str:
    return "".join(f'<td class="n{"" if counts[s] else " zero"}">{counts[s]}</td>' for s in WORST_FIRST)


def _severity_heads() -> str:
    return "".join(f'<th class="n">{s}</th>' for s in WORST_FIRST)


def _header(report: dict[str, Any]) -> list[str]:
    ruleset = as_dict(report.get("ruleset"))
    summary = as_dict(report.get("summary"))
    counts = by_severity(summary.get("by_severity"))
    dropped = as_int(summary.get("dropped"))
    severity_badges = " ".join(
        f'{_severity_badge(s)} {counts[s]}' for s in WORST_FIRST
    )
    rows = [
        ("generated", _t(report.get("generated"))),
        ("mode", _t(report.get("mode"))),
        ("ruleset", f'<span class="mono">{_t(ruleset.get("path"))}</span> ({as_int(ruleset.get("rules"))} rules)'),
        ("ruleset sha256", f'<span class="mono">{_t(ruleset.get("sha256"))}</span>'),
        ("flows audited", str(as_int(summary.get("flows_audited")))),
        ("findings", f'{as_int(summary.get("findings"))} distinct, {as_int(summary.get("occurrences"))} occurrences'),
        ("by severity", severity_badges),
    ]
    if dropped:
        rows.append(("dropped", f'<span class="warn">{dropped} occurrences not recorded (a bound was reached)</span>'))
    out = ["<header>", "<h1>headeraudit report</h1>", '<dl class="meta">']
    out += [f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows]
    out.append("</dl>")
    overall = overall_grade(report)
    if overall is not None:
        method = _t(as_dict(report.get("grades")).get("method"))
        after = (
            f" → after fixes {_grade_badge(overall.after_grade, overall.after_score, big=True)} score {_t(overall.after_score)}"
            if overall.after_grade else ""
        )
        worst = as_dict(as_dict(report.get("grades")).get("overall")).get("worst_host")
        worst_text = f', worst <span class="mono">{_t(worst)}</span>' if worst else ""
        out.append(
            f'<p id="overall">overall grade {_grade_badge(overall.grade, overall.score, big=True)} '
            f'score {_t(overall.score if overall.score is not None else "-")}{after} '
            f'over {plural(overall.responses, "graded host")}{worst_text} <small>({method})</small></p>'
        )
    out.append("</header>")
    return out


def _hosts(report: dict[str, Any]) -> list[str]:
    rows = host_rows(report)
    fix_mode = report.get("mode") == "fix"
    graded = any(row.grade for row in rows)
    head = "<th>host</th>" + ("<th>grade</th>" if graded else "")
    head += "<th>after fixes</th>" if graded and fix_mode else ""
    head += '<th class="n">flows</th>' + _severity_heads()
    out = ['<section id="hosts"><h2>Hosts</h2>', f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for row in rows:
        cells = f'<td class="mono">{_t(row.host)}</td>'
        if graded:
            grade = row.grade or GradeText(None, "")
            cells += f"<td>{_grade_badge(grade.grade, grade.score)} {_t(grade.score if grade.score is not None else '')}</td>"
            if fix_mode:
                after = (
                    f"{_grade_badge(grade.grade, grade.score)} → {_grade_badge(grade.after_grade, grade.after_score)} "
                    f"{_t(grade.after_score if grade.after_score is not None else '')}"
                    if grade.after_grade else '<span class="zero">-</span>'
                )
                cells += f"<td>{after}</td>"
        cells += f'<td class="n">{row.flows}</td>' + _count_cells(row.counts)
        out.append(f"<tr>{cells}</tr>")
    if not rows:
        out.append('<tr><td colspan="8">no hosts audited</td></tr>')
    out.append("</tbody></table></section>")
    return out


def _findings(report: dict[str, Any]) -> list[str]:
    rules = rules_by_id(report)
    totals = rule_totals(report)
    out = ['<section id="findings"><h2>Findings by rule</h2>']
    if not totals:
        out.append("<p>No findings.</p>")
    for total in totals:
        rule = rules.get(total.rule, {})
        out.append('<details class="rule" open><summary>')
        out.append(
            f"<h3>{_severity_badge(total.severity)} <code>{_t(total.rule)}</code> — {plural(total.occurrences, 'occurrence')} "
            f"on {plural(len(total.hosts), 'host')}</h3></summary>"
        )
        out.append(f"<p>{_t(total.message)}</p>")
        out.append(
            "<table><thead><tr><th>host</th><th class=\"n\">count</th><th>header</th><th>evidence</th>"
            "<th>examples</th><th>first / last seen</th></tr></thead><tbody>"
        )
        for finding in total.findings:
            examples = "<br>".join(_link(url) for url in as_list(finding.get("examples")))
            out.append(
                f'<tr><td class="mono">{_t(finding.get("host"))}</td><td class="n">{as_int(finding.get("count"))}</td>'
                f'<td>{_t(finding.get("header"))}</td><td class="mono">{_t(finding.get("evidence"))}</td>'
                f"<td>{examples}</td><td>{_t(finding.get('first_seen'))}<br>{_t(finding.get('last_seen'))}</td></tr>"
            )
        out.append("</tbody></table>")
        fix = fix_description(rule)
        if fix:
            out.append("<p><strong>Fix:</strong></p><ul>" + "".join(f'<li class="mono">{_t(line)}</li>' for line in fix) + "</ul>")
        references = as_list(rule.get("references"))
        if references:
            out.append("<p><strong>References:</strong> " + ", ".join(_link(ref) for ref in references) + "</p>")
        out.append("</details>")
    out.append("</section>")
    return out


def _tests_table(tests: list[dict[str, Any]]) -> str:
    rows = []
    for test in tests:
        passed = test.get("pass") is True
        observed = "" if test.get("observed", True) else " (not observed)"
        rows.append(
            f'<tr><td>{_t(test.get("test"))}</td><td class="{"pass" if passed else "fail"}">'
            f'{"pass" if passed else "fail"}{observed}</td><td class="mono">{_t(test.get("result"))}</td>'
            f'<td class="n">{_t(test.get("modifier"))}</td><td>{_t(test.get("description"))}</td></tr>'
        )
    return (
        "<table><thead><tr><th>test</th><th>result</th><th>code</th><th class=\"n\">modifier</th>"
        f"<th>description</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _grades(report: dict[str, Any]) -> list[str]:
    grades = host_grades(report)
    if not grades:
        return []
    out = ['<section id="grades"><h2>Observatory tests per host</h2>']
    for host in sorted(grades):
        grade = grades[host]
        after = (
            f" → after fixes {_grade_badge(grade.after_grade, grade.after_score)} {_t(grade.after_score)}"
            if grade.after_grade else ""
        )
        out.append(
            f'<details class="rule"><summary><span class="mono">{_t(host)}</span> '
            f"{_grade_badge(grade.grade, grade.score)} {_t(grade.score)}{after}, "
            f"{grade.responses} responses</summary>"
        )
        out.append(_tests_table(grade.tests))
        if grade.after_tests:
            out.append("<p>after fixes:</p>" + _tests_table(grade.after_tests))
        out.append("</details>")
    out.append("</section>")
    return out


def _fixes(report: dict[str, Any]) -> list[str]:
    fixes = [as_dict(f) for f in as_list(report.get("fixes"))]
    if not fixes:
        return []
    by_host: dict[str, list[dict[str, Any]]] = {}
    for fix in fixes:
        by_host.setdefault(printable(fix.get("host")), []).append(fix)
    out = ['<section id="fixes"><h2>Fixes per host</h2>']
    for host, host_fixes in sorted(by_host.items()):
        out.append(f'<h3 class="mono">{_t(host)}</h3>')
        out.append(
            "<table><thead><tr><th>edit</th><th>rule</th><th>applied</th><th class=\"n\">flows</th></tr></thead><tbody>"
        )
        for fix in host_fixes:
            applied = "applied" if fix.get("applied") is True else "would apply (saved traffic)"
            out.append(
                f'<tr><td class="mono">{_t(fix.get("edit"))}</td><td><code>{_t(fix.get("rule"))}</code></td>'
                f'<td>{applied}</td><td class="n">{as_int(fix.get("flows"))}</td></tr>'
            )
        out.append("</tbody></table>")
    out.append("</section>")
    return out


def _diff_line(line: DiffLine) -> str:
    css = f"ln {_DIFF_CLASS[line.mark]}".strip()
    text = f"{line.mark} {line.name}: {line.value}"
    if line.old_value is not None:
        text += f"    (was: {line.old_value})"
    return f'<span class="{css}">{_t(text)}</span>'


def _previews(report: dict[str, Any]) -> list[str]:
    previews = [as_dict(p) for p in as_list(report.get("fix_previews"))]
    if not previews:
        return []
    out = [
        '<section id="previews"><h2>Headers before and after the fixes</h2>',
        "<p>+ added, - removed, ~ changed (old value in brackets), unmarked lines kept.</p>",
    ]
    for preview in previews:
        state = "applied" if preview.get("applied") is True else "computed, not applied (saved traffic)"
        out.append(f'<h3><span class="mono">{_t(preview.get("host"))}</span> {_link(preview.get("url"))} — {state}</h3>')
        lines = header_diff(preview.get("before"), preview.get("after"))
        out.append('<pre class="diff">' + "".join(_diff_line(line) for line in lines) + "</pre>")
    out.append("</section>")
    return out


def _csp_reports(report: dict[str, Any]) -> list[str]:
    reports = [as_dict(r) for r in as_list(report.get("csp_reports"))]
    if not reports:
        return []
    columns = ("host", "document_uri", "directive", "blocked_uri", "sample", "disposition")
    head = "".join(f"<th>{name.replace('_', ' ')}</th>" for name in columns) + '<th class="n">count</th>'
    out = ['<section id="csp-reports"><h2>CSP violation reports</h2>', f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for entry in reports:
        cells = "".join(f'<td class="mono">{_t(entry.get(name))}</td>' for name in columns)
        out.append(f'<tr>{cells}<td class="n">{as_int(entry.get("count"))}</td></tr>')
    out.append("</tbody></table></section>")
    return out


def _csp_proposals(report: dict[str, Any]) -> list[str]:
    """Each learned host's proposal: both forms, why each source is there, what neither allows,
    and the rules file that enforces them all. Every value is from the network: escaped."""
    section = as_dict(report.get("csp_proposals"))
    hosts = [as_dict(h) for h in as_list(section.get("hosts"))]
    if not hosts:
        return []
    out = ['<section id="csp-proposals"><h2>Learned Content-Security-Policies</h2>']
    for entry in hosts:
        seen = as_dict(entry.get("seen"))
        strict = as_dict(entry.get("strict"))
        out.append(f'<h3>{_t(entry.get("host"))}</h3>')
        out.append(f'<p>{as_int(seen.get("documents"))} documents ({as_int(seen.get("documents_read"))} read), '
                   f'{as_int(seen.get("requests"))} requests, {as_int(seen.get("reports"))} violation reports.</p>')
        out.append(f'<p>Allowlist form:</p><pre class="diff">{_t(entry.get("policy"))}</pre>')
        if strict.get("policy"):
            out.append(f'<p>Strict form:</p><pre class="diff">{_t(strict.get("policy"))}</pre>')
        out.append(f'<p>{"Strict form: " if strict.get("policy") else "No strict form: "}{_t(strict.get("reason"))}</p>')
        for finding in (*as_list(entry.get("findings")), *as_list(entry.get("strict_findings"))):
            out.append(f'<p class="fail">Finding on the proposal: {_t(finding)}</p>')
        sources = [as_dict(s) for s in as_list(entry.get("sources"))]
        if sources:
            out.append('<table><thead><tr><th>directive</th><th>source</th><th class="n">seen</th><th>why</th></tr></thead><tbody>')
            for source in sources:
                why = "<br>".join(_t(w) for w in as_list(source.get("why")))
                out.append(f'<tr><td class="mono">{_t(source.get("directive"))}</td><td class="mono">{_t(source.get("source"))}</td>'
                           f'<td class="n">{as_int(source.get("count"))}</td><td class="mono">{why}</td></tr>')
            out.append("</tbody></table>")
        notes = [as_dict(n) for n in as_list(entry.get("notes"))]
        if notes:
            out.append("<p>Not allowed by the proposal:</p><ul>")
            for note in notes:
                example = as_list(note.get("why"))
                out.append(f'<li>{_t(note.get("note"))}{" — e.g. " + _t(example[0]) if example else ""}</li>')
            out.append("</ul>")
    out.append(f'<p>A rules file enforcing them in fix mode (also a <span class="mono">.yaml</span> report):</p>'
               '<pre class="diff">' + "\n".join(_t(line) for line in str(section.get("rules_snippet") or "").split("\n"))
               + "</pre></section>")
    return out


def render_html(report: dict[str, Any], refresh_seconds: int | None = None) -> bytes:
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(PAGE_CSP, quote=True)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
    ]
    if refresh_seconds is not None:
        head.append(f'<meta http-equiv="refresh" content="{max(int(refresh_seconds), 1)}">')
    head += [f"<title>headeraudit report {_t(report.get('generated'))}</title>", f"<style>{_CSS}</style>", "</head><body>"]
    body = (
        _header(report) + _hosts(report) + _findings(report) + _grades(report)
        + _fixes(report) + _previews(report) + _csp_reports(report) + _csp_proposals(report)
    )
    footer = [f"<footer><p>headeraudit {_t(report.get('version'))} · {_t(report.get('schema'))}</p></footer>", "</body></html>"]
    # printable() has removed lone surrogates; backslashreplace is the belt to those braces.
    return ("\n".join(head + body + footer) + "\n").encode("utf-8", "backslashreplace")
