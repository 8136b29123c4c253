"""The MDN HTTP Observatory (@mdn/mdn-http-observatory 1.4.8 from npm, its header tests run
offline with node on hand-built responses) as a differential oracle for the grade: on every
header set of the corpus, each test's result is the Observatory's, except the departures the
README's "Grades" table lists, each matched here by what makes it one.

.ci/run installs the package and sets HEADERAUDIT_OBSERVATORY; elsewhere:
    npm install --prefix .npm --ignore-scripts @mdn/mdn-http-observatory@1.4.8
    HEADERAUDIT_OBSERVATORY=.npm/node_modules/@mdn/mdn-http-observatory scripts/test.sh tests/differential
"""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from peers import peer_package

from auditing import assess
from headeraudit.audit import Auditor
from headeraudit.rules import load_ruleset

RUNNER = Path(__file__).parent / "observatory.mjs"
VERSION = "1.4.8"

VALUES: dict[str, list[str | None]] = {
    "content-security-policy": [
        None, "default-src 'self'", "default-src 'none'; script-src 'self'", "script-src 'unsafe-inline'",
        "script-src 'self' 'unsafe-eval'", "default-src 'self'; style-src 'unsafe-inline'", "default-src https:",
        "script-src *", "object-src data:; script-src 'self'",
        "script-src 'nonce-abcdefgh12' 'strict-dynamic' 'unsafe-inline' https:; object-src 'none'",
        "script-src 'strict-dynamic' https:", "default-src 'self'; img-src http:", "default-src http:",
        "frame-ancestors 'none'", "frame-ancestors *", "script-src https://*", "default-src 'self'; script-src-elem 'unsafe-inline'",
        "default-src", "bogus", ""],
    "x-frame-options": [None, "DENY", "SAMEORIGIN", "deny", "ALLOW-FROM https://a.example", "DENY, SAMEORIGIN", "DENY, DENY",
                        "ALLOWALL", ""],
    "x-content-type-options": [None, "nosniff", "NOSNIFF", "nosniff, nosniff", "sniff", ""],
    "referrer-policy": [None, "no-referrer", "unsafe-url", "strict-origin-when-cross-origin", "no-referrer, unsafe-url", "bogus",
                        "unsafe-url, bogus", ""],
    "strict-transport-security": [None, "max-age=63072000", "max-age=300", "max-age=abc", "max-age=63072000; max-age=1",
                                  "includeSubDomains", 'max-age="63072000"', ""],
    "cross-origin-resource-policy": [None, "same-origin", "same-site", "cross-origin", "bogus", "same-origin, same-site", ""],
}

Headers = dict[str, str]


def _csp(h: Headers) -> str:
    return h.get("content-security-policy", "")


# (README "Grades" row, does it explain this disagreement: test, ours, theirs, headers)
DEPARTURES: list[tuple[str, Callable[[str, str, str, Headers], bool]]] = [
    ("an empty header value: absent for protection (the Observatory: invalid)",
     lambda t, ours, theirs, h: ours.endswith("-not-implemented") and theirs.endswith("-header-invalid")
     and any(v == "" for v in h.values())),
    ("'strict-dynamic' alone is no invalid header; an object-src left open is unsafe",
     lambda t, ours, theirs, h: t == "content-security-policy" and "'strict-dynamic'" in _csp(h)
     and ours == "csp-implemented-with-unsafe-inline" and theirs == "csp-header-invalid"),
    ("inline script allowed by script-src-elem or script-src-attr",
     lambda t, ours, theirs, h: t == "content-security-policy" and "script-src-elem 'unsafe-inline'" in _csp(h)
     and ours == "csp-implemented-with-unsafe-inline"),
    ("object-src data: is unsafe",
     lambda t, ours, theirs, h: t == "content-security-policy" and "object-src data:" in _csp(h)
     and ours == "csp-implemented-with-unsafe-inline"),
    ("max-age=abc, a repeated directive: invalid (RFC 6797 §6.1)",
     lambda t, ours, theirs, h: t == "strict-transport-security" and ours == "hsts-header-invalid"
     and h.get("strict-transport-security") in ("max-age=abc", "max-age=63072000; max-age=1")),
    ("X-Content-Type-Options: the first value of the comma-split list (Fetch)",
     lambda t, ours, theirs, h: t == "x-content-type-options" and h.get(t) == "nosniff, nosniff"
     and ours == "x-content-type-options-nosniff"),
    ("X-Frame-Options ALLOW-FROM: ignored by browsers, invalid",
     lambda t, ours, theirs, h: t == "x-frame-options" and theirs == "x-frame-options-allow-from-origin"
     and ours == "x-frame-options-header-invalid"),
    ("X-Frame-Options DENY, SAMEORIGIN (or a value twice): blocks framing (HTML standard)",
     lambda t, ours, theirs, h: t == "x-frame-options" and "," in h.get(t, "")
     and ours == "x-frame-options-sameorigin-or-deny" and theirs == "x-frame-options-header-invalid"),
    ("frame-ancestors that admits every framer: X-Frame-Options ignored, not implemented",
     lambda t, ours, theirs, h: t == "x-frame-options" and _csp(h) in ("frame-ancestors *",)
     and ours == "x-frame-options-not-implemented" and theirs == "x-frame-options-implemented-via-csp"),
]


def observatory_dir() -> Path:
    return peer_package("HEADERAUDIT_OBSERVATORY", "@mdn/mdn-http-observatory", VERSION, "src/analyzer")


def corpus() -> list[Headers]:
    cases: list[Headers] = []
    for name, values in VALUES.items():  # each header on its own
        cases += [{name: v} if v is not None else {} for v in values]
    for csp, xfo in itertools.product(VALUES["content-security-policy"], VALUES["x-frame-options"]):  # framing
        cases.append({k: v for k, v in (("content-security-policy", csp), ("x-frame-options", xfo)) if v is not None})
    return cases


def test_the_grade_gives_the_observatorys_results_but_for_the_documented_departures():
    package = observatory_dir()
    cases = corpus()
    run = subprocess.run(["node", str(RUNNER), str(package)], capture_output=True, text=True, timeout=300,
                         input=json.dumps([{"headers": {"content-type": ["text/html"], **{k: [v] for k, v in h.items()}}}
                                           for h in cases]))
    assert run.returncode == 0, run.stderr
    auditor = Auditor(load_ruleset())
    unexplained, departed, agreed = [], set(), 0
    for headers, theirs in zip(cases, json.loads(run.stdout)):
        outcome = assess(auditor, [("Content-Type", "text/html"), *headers.items()])
        ours = {r.test: r.result for r in outcome.grade.outcomes}
        for test, result in theirs.items():
            if ours[test] == result:
                agreed += 1
                continue
            why = [row for row, applies in DEPARTURES if applies(test, ours[test], result, headers)]
            if why:
                departed.add(why[0])
            else:
                unexplained.append((headers, test, ours[test], result))
    assert not unexplained, "\n".join(map(repr, unexplained[:20]))
    assert agreed > 1000 and departed == {row for row, _ in DEPARTURES}, "every listed departure is exercised"
