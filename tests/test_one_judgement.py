"""One judgement per header: wherever a default rule and an Observatory test judge the same
thing, they read the same facts (facts.py) and must agree, on any header set.

Each row: a rule, the grade test it shares a question with, the results that test may give
when the rule fires (`when_fired`), and the results that mean the rule must fire
(`means_fired`). Framing (X-Frame-Options / frame-ancestors) and CSP's presence are not
here: an empty header and a frame-ancestors that admits everyone are judged apart today.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditing import assess
from headeraudit.audit import Auditor
from headeraudit.rules import load_ruleset

from strategies import header_sets, wild_header_sets


class Agreement(NamedTuple):
    rule: str
    test: str
    when_fired: frozenset[str]
    means_fired: frozenset[str]


def agreement(rule: str, test: str, when_fired: set[str], means_fired: set[str] | None = None) -> Agreement:
    return Agreement(rule, test, frozenset(when_fired), frozenset(when_fired if means_fired is None else means_fired))


CSP_UNSAFE = {"csp-implemented-with-unsafe-inline"}
COOKIES_INSECURE = {
    "cookies-without-secure-flag-but-protected-by-hsts", "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts", "cookies-session-without-secure-flag",
}
WORSE_THAN_INSECURE = {"cookies-samesite-flag-invalid", "cookies-anticsrf-without-samesite-flag",
                       "cookies-session-without-httponly-flag"}
AGREEMENTS = [
    # RFC 6797: missing and invalid are the same facts for the rule and the test (https only).
    agreement("hsts-missing", "strict-transport-security", {"hsts-not-implemented"}),
    # An empty value is invalid for the rule and absent for the test, as for the browser.
    agreement("hsts-invalid", "strict-transport-security", {"hsts-header-invalid", "hsts-not-implemented"},
              {"hsts-header-invalid"}),
    # Fetch "determine nosniff": the first value of the comma-split list decides.
    agreement("xcto-missing", "x-content-type-options", {"x-content-type-options-not-implemented"}),
    agreement("xcto-invalid", "x-content-type-options",
              {"x-content-type-options-header-invalid", "x-content-type-options-not-implemented"},
              {"x-content-type-options-header-invalid"}),
    # Referrer Policy §8.1: the last recognised token; none at all is invalid.
    agreement("referrer-policy-invalid", "referrer-policy", {"referrer-policy-header-invalid", "referrer-policy-not-implemented"},
              {"referrer-policy-header-invalid"}),
    agreement("referrer-policy-unsafe", "referrer-policy", {"referrer-policy-unsafe"}),
    # RFC 8941 Items with the same allowed tokens.
    agreement("coop-invalid", "cross-origin-opener-policy", {"coop-header-invalid", "coop-not-implemented"}, {"coop-header-invalid"}),
    agreement("coep-invalid", "cross-origin-embedder-policy", {"coep-header-invalid", "coep-not-implemented"}, {"coep-header-invalid"}),
    agreement("corp-invalid", "cross-origin-resource-policy", {"corp-header-invalid", "corp-not-implemented"}, {"corp-header-invalid"}),
    # CSP3: the same allows() over every enforced policy ('strict-dynamic', nonces, hashes).
    agreement("csp-unsafe-inline", "content-security-policy", CSP_UNSAFE, set()),
    agreement("csp-broad-source", "content-security-policy", CSP_UNSAFE, set()),
    # HTML standard: an enforced frame-ancestors voids X-Frame-Options; one that admits every
    # framer protects nothing either.
    agreement("csp-frame-ancestors-broad", "x-frame-options", {"x-frame-options-not-implemented"}, set()),
    # Nothing restricted at all: the Observatory calls the header invalid (-25), worse still.
    agreement("csp-no-script-src", "content-security-policy", {*CSP_UNSAFE, "csp-header-invalid"}, set()),
    agreement("csp-no-object-src", "content-security-policy", {*CSP_UNSAFE, "csp-header-invalid"}, set()),
    agreement("csp-unsafe-eval", "content-security-policy",
              {*CSP_UNSAFE, "csp-implemented-with-insecure-scheme", "csp-implemented-with-unsafe-eval"},
              {"csp-implemented-with-unsafe-eval"}),
    # Cookies: the same parsed cookies, the same session flag (the ruleset's pattern). The
    # grade keeps the worst result, so a worse one may stand where the rule fired.
    agreement("cookie-no-secure", "cookies", COOKIES_INSECURE | WORSE_THAN_INSECURE, set()),
    agreement("cookie-no-httponly", "cookies", {"cookies-session-without-httponly-flag", "cookies-session-without-secure-flag"},
              {"cookies-session-without-httponly-flag"}),
]


@pytest.fixture(scope="module")
def auditor():
    return Auditor(load_ruleset())


def check(auditor, headers):
    outcome = assess(auditor, [("Content-Type", "text/html"), *headers], scheme="https", status=200)
    results = {r.test: r.result for r in outcome.grade.outcomes}
    fired = {f.rule for f in outcome.findings}
    for row in AGREEMENTS:
        result = results[row.test]
        if row.rule in fired:
            assert result in row.when_fired, (row.rule, result, headers)
        if result in row.means_fired:
            assert row.rule in fired, (row.rule, result, headers)


HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]


@settings(max_examples=600, deadline=None, suppress_health_check=HEALTH)
@given(headers=header_sets)
def test_rules_and_grade_agree_on_well_known_values(auditor, headers):
    check(auditor, headers)


@settings(deadline=None, suppress_health_check=HEALTH)
@given(headers=wild_header_sets())
def test_rules_and_grade_agree_on_hostile_values(auditor, headers):
    check(auditor, headers)


@pytest.mark.parametrize("headers", [
    # CSP3 §8.2: 'strict-dynamic' voids 'unsafe-inline' and host sources, nonce or not.
    [("Content-Security-Policy", "script-src 'strict-dynamic' 'unsafe-inline' https:; object-src 'none'")],
    # Fetch: nosniff twice, on one line or two, is nosniff.
    [("X-Content-Type-Options", "nosniff, nosniff")],
    [("X-Content-Type-Options", "nosniff"), ("X-Content-Type-Options", "nosniff")],
    # The ruleset's session pattern names auth_token a session cookie, for the grade too.
    [("Set-Cookie", "auth_token=1; Secure; SameSite=Lax")],
    # object-src data: lets a plugin run code from a data: URL.
    [("Content-Security-Policy", "default-src 'self'; object-src data:")],
])
def test_cases_where_the_grade_used_to_decide_otherwise(auditor, headers):
    check(auditor, headers)
