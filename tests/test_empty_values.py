"""An empty header value sets no policy: the header is absent for every protection (the rule
asking for it fires, the grade says not implemented), and the value is invalid (the header's
invalid rule fires). One rule for every header, as browsers read them:

- CSP3 §2.2.1: an empty serialized policy is no policy; none is enforced.
- HTML "X-Frame-Options": an empty value is not DENY or SAMEORIGIN, so it is ignored.
- Fetch "determine nosniff": the first value of an empty list is not "nosniff".
- Referrer Policy §8.1: no recognised token, the header is ignored.
- RFC 6797 §6.1: max-age is required, so an empty value is not a valid STS header.
- RFC 8941 §4.2: an empty field is not an Item (COOP, COEP, CORP).
"""

from __future__ import annotations

import pytest

from auditing import assess
from headeraudit.audit import Auditor
from headeraudit.rules import load_ruleset

HTML = ("Content-Type", "text/html")

CASES = [
    # header, the value, the rules that fire for it, the grade test and its result
    ("Content-Security-Policy", "", {"csp-missing", "csp-invalid"}, "content-security-policy", "csp-not-implemented"),
    ("Content-Security-Policy", " \t", {"csp-missing", "csp-invalid"}, "content-security-policy", "csp-not-implemented"),
    ("X-Frame-Options", "", {"frame-protection-missing", "xfo-invalid"}, "x-frame-options", "x-frame-options-not-implemented"),
    ("X-Content-Type-Options", "", {"xcto-missing", "xcto-invalid"}, "x-content-type-options", "x-content-type-options-not-implemented"),
    ("Referrer-Policy", "", {"referrer-policy-invalid"}, "referrer-policy", "referrer-policy-not-implemented"),
    ("Strict-Transport-Security", "", {"hsts-missing", "hsts-invalid"}, "strict-transport-security", "hsts-not-implemented"),
    ("Cross-Origin-Opener-Policy", " ", {"coop-invalid"}, "cross-origin-opener-policy", "coop-not-implemented"),
    ("Cross-Origin-Resource-Policy", "", {"corp-invalid"}, "cross-origin-resource-policy", "corp-not-implemented"),
    ("Permissions-Policy", "", {"permissions-policy-missing"}, None, None),
]


@pytest.fixture(scope="module")
def auditor():
    return Auditor(load_ruleset())


@pytest.mark.parametrize("header, value, rules, test, result", CASES)
def test_an_empty_value_is_absent_for_protection_and_invalid(auditor, header, value, rules, test, result):
    outcome = assess(auditor, [HTML, (header, value)])
    fired = {f.rule for f in outcome.findings}
    assert rules <= fired, fired
    absent = {f.rule for f in assess(auditor, [HTML]).findings}
    assert fired - rules <= absent, "nothing else than for an absent header"
    if test is not None:
        assert {r.test: r.result for r in outcome.grade.outcomes}[test] == result
    empty = [f for f in outcome.findings if f.evidence == "(empty)"]
    assert all(f.header.lower() == header.lower() for f in empty)


def test_an_empty_line_beside_a_valid_one_is_not_empty(auditor):
    """Only a header all of whose lines are empty is empty: Fetch combines the lines."""
    outcome = assess(auditor, [HTML, ("X-Content-Type-Options", "nosniff"), ("X-Content-Type-Options", "")])
    assert not {"xcto-missing", "xcto-invalid"} & {f.rule for f in outcome.findings}
