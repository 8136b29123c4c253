"""Reports for the renderer tests: the two real samples and a hostile one.

tests/data/report-{audit,fix}.json were written by build_report from the bundled example
traffic (examples/sample.har); `grades`, `fix_previews` and one CSP report were added by
hand in the documented shape so those sections are exercised. The hostile report is the
fix sample with attacker-controlled text injected wherever a header, URL or rules file
can put it.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(1)>'
SINGLE_QUOTE_BREAK = "' onmouseover='alert(1)"
JS_URL = "javascript:alert(1)"
ANSI = "\x1b[31mRED\x1b[0m\x1b]0;title\x07"
CRLF = "a\r\nInjected: header\nsecond line"
NON_BMP = "\U0001f600 \U0001d518 \U00010348"
LONE_SURROGATES = "bytes \udcff\udc80 and \ud800 lone"
BIDI = "safe\u202eevil\u2066x\u2069"
C0_C1 = "\x00\x07\x08\t\x7f\x85\x9b"
MARKDOWN = "| cell | `code` [link](https://evil.example) ![img](https://evil.example/x.png) *em* _u_ <b>b</b> &amp; @here #1"
ENTITY = "&lt;script&gt;alert(1)&lt;/script&gt;"

HOSTILE_STRINGS = [
    SCRIPT, ATTRIBUTE_BREAK, SINGLE_QUOTE_BREAK, JS_URL, ANSI, CRLF, NON_BMP, LONE_SURROGATES, BIDI, C0_C1, MARKDOWN, ENTITY,
]
HOSTILE_URLS = [
    JS_URL,
    "JaVaScRiPt:alert(document.cookie)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/scheme-relative",
    'https://ok.example/"onmouseover="alert(1)',
    "https://ok.example/<script>alert(1)</script>",
    "https://ok.example/\x1b[31m\udcff",
]
# Characters that must never reach a terminal, an XML 1.0 document or an HTML page raw.
FORBIDDEN_RAW = ["\x1b", "\x00", "\x07", "\x08", "\x7f", "\x85", "\x9b", "\r", "\u202e", "\u2066", "\ud800", "\udcff"]


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"report-{name}.json").read_text(encoding="utf-8"))


def sample(name: str) -> dict[str, Any]:
    """A fresh deep copy of report-<name>.json (`audit` or `fix`), safe to mutate."""
    return copy.deepcopy(_load(name))


def without_optional(report: dict[str, Any]) -> dict[str, Any]:
    """The report as written before `grades` and `fix_previews` existed."""
    report.pop("grades", None)
    report.pop("fix_previews", None)
    return report


def _pick(i: int) -> str:
    return HOSTILE_STRINGS[i % len(HOSTILE_STRINGS)]


def hostile() -> dict[str, Any]:
    report = sample("fix")
    report["generated"] = SCRIPT + ANSI
    report["version"] = ATTRIBUTE_BREAK
    report["ruleset"]["path"] = "/tmp/" + SCRIPT + LONE_SURROGATES
    report["ruleset"]["sha256"] = ATTRIBUTE_BREAK
    report["summary"]["dropped"] = 7
    for i, rule in enumerate(report["rules"]):
        rule["message"] = f"{rule['message']} {_pick(i)}"
        rule["references"] = [HOSTILE_URLS[i % len(HOSTILE_URLS)], *rule["references"]]
        if rule["fix"] and "set" in rule["fix"]:
            rule["fix"]["set"] = _pick(i + 1)
    report["rules"][0]["id"] = SCRIPT
    report["rules"][1]["id"] = ATTRIBUTE_BREAK
    report["rules"][2]["id"] = ANSI + LONE_SURROGATES
    report["rules"][0]["fix"] = {"header": ATTRIBUTE_BREAK, "set": SCRIPT, "hosts": {JS_URL: BIDI}, "opt_in": True}
    for i, finding in enumerate(report["findings"]):
        finding["evidence"] = _pick(i)
        finding["message"] = _pick(i + 3)
        finding["header"] = _pick(i + 5)
        finding["examples"] = [HOSTILE_URLS[(i + k) % len(HOSTILE_URLS)] for k in range(3)]
    findings = report["findings"]
    findings[0]["host"] = SCRIPT
    findings[1]["host"] = ATTRIBUTE_BREAK + ANSI
    findings[2]["rule"] = SCRIPT  # a finding of a rule the report describes, by a hostile id
    findings[3]["rule"] = "unknown-rule" + MARKDOWN  # ... and one of a rule it does not describe
    findings[4]["severity"] = "<b>critical</b>"
    findings[5]["examples"] = []
    report["hosts"].append({"host": SCRIPT, "flows": 1, "by_severity": {"high": 1}})
    report["hosts"].append({"host": MARKDOWN + CRLF, "flows": 2, "by_severity": {"low": 3}})
    for i, entry in enumerate(report["fixes"]):
        entry["edit"] = "+" + _pick(i)
        if i % 3 == 0:
            entry["host"] = _pick(i + 1)
    grades = report["grades"]
    grades["method"] = SCRIPT
    grades["overall"]["grade"] = ATTRIBUTE_BREAK
    grades["hosts"][0]["grade"] = SCRIPT
    grades["hosts"][0]["host"] = SCRIPT
    grades["hosts"][1]["after_fix"]["grade"] = ANSI
    for test in grades["hosts"][2]["tests"]:
        test["description"] = ATTRIBUTE_BREAK
        test["result"] = LONE_SURROGATES
    preview = report["fix_previews"][0]
    preview["url"] = JS_URL
    preview["host"] = SCRIPT
    preview["before"].append([SCRIPT, ATTRIBUTE_BREAK])
    preview["after"].append(["X-Evil", ANSI + CRLF + LONE_SURROGATES])
    report["csp_reports"].append({
        "host": SCRIPT, "document_uri": JS_URL, "directive": ATTRIBUTE_BREAK, "blocked_uri": ANSI,
        "sample": LONE_SURROGATES + BIDI, "disposition": MARKDOWN, "count": 1,
    })
    report["csp_proposals"] = hostile_proposals()
    return report


def hostile_proposals() -> dict[str, Any]:
    """A learned proposal whose host, sources and examples come from a hostile site, its rules
    file written by the real code."""
    from headeraudit.csp_learning import Proposal, rules_snippet
    from headeraudit.csp_learning.proposal import Source

    sources = (Source("script-src", SCRIPT + ANSI, 1, (JS_URL + CRLF, BIDI + LONE_SURROGATES)),
               Source(ATTRIBUTE_BREAK, MARKDOWN, 2, ()))
    proposal = Proposal(SCRIPT + BIDI, f"default-src 'none'; script-src {SCRIPT}{ANSI}{LONE_SURROGATES}", None,
                        ATTRIBUTE_BREAK + CRLF, sources, (Source("", SCRIPT + NON_BMP, 1, (ANSI,)),), 1, 1, 2, 3,
                        (ATTRIBUTE_BREAK,), (ENTITY,))
    snippet = rules_snippet([proposal], ["csp-missing", SCRIPT], "/.well-known/headeraudit/csp-report")
    return {"rules_snippet": snippet, "hosts": [{**proposal.as_dict(), "rules_snippet": snippet}]}


def big(hosts: int = 150, rules: int = 80) -> dict[str, Any]:
    """A report far bigger than one screen: many hosts, many rules, every host failing every rule."""
    report = sample("audit")
    template = report["findings"][0]
    report["rules"] = [dict(report["rules"][0], id=f"rule-{r:03d}") for r in range(rules)]
    report["hosts"] = [
        {"host": f"host{h:03d}.example", "flows": 3, "by_severity": {"high": rules}} for h in range(hosts)
    ]
    report["findings"] = [
        dict(template, host=f"host{h:03d}.example", rule=f"rule-{r:03d}", severity="high", count=h + r + 1)
        for h in range(hosts) for r in range(rules)
    ]
    report["summary"]["findings"] = len(report["findings"])
    report["grades"]["hosts"] = [
        {"host": f"host{h:03d}.example", "responses": 3, "score": h % 100, "grade": "F", "tests": [], "after_fix": None}
        for h in range(hosts)
    ]
    return report
