"""Observatory-compatible grading (addon/headeraudit/grade.py).

Each test names the Observatory behaviour it reproduces, or the spec it follows instead.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from headeraudit.facts import Facts
from headeraudit.grade import RESULTS, TESTS, HostGrade, grade_response, letter, score, scored
from headeraudit.model import Response
from headeraudit.rules import DEFAULT_SETTINGS

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)
SESSION_PATTERN = re.compile(DEFAULT_SETTINGS["session_cookie_pattern"])


def graded_response(scheme, status, headers, origin=lambda: None, pattern=SESSION_PATTERN):
    """The grade of one response given as {lower-case name: [lines]}."""
    lines = tuple((name.encode(), value.encode()) for name, values in headers.items() for value in values)
    return grade_response(Facts(Response(scheme, "www.example.com", "/", "GET", status, lines, origin), pattern, NOW))
GOOD = {
    "content-type": ["text/html"],
    "content-security-policy": ["default-src 'none'; script-src 'self'; frame-ancestors 'none'"],
    "strict-transport-security": ["max-age=63072000; includeSubDomains"],
    "x-content-type-options": ["nosniff"],
    "referrer-policy": ["strict-origin-when-cross-origin"],
}


def grade(headers: dict[str, list[str]], scheme: str = "https", status: int = 200, origin: str | None = None):
    graded = graded_response(scheme, status, headers, lambda: origin)
    assert graded is not None
    return {o.test: o.result for o in graded.outcomes}


def result(test: str, headers: dict[str, list[str]], **kw) -> str:
    return grade(headers, **kw)[test]


def with_(**changes: list[str]) -> dict[str, list[str]]:
    headers = dict(GOOD)
    for name, lines in changes.items():
        name = name.replace("_", "-")
        if lines:
            headers[name] = lines
        else:
            headers.pop(name, None)
    return headers


# ---------------------------------------------------------------- scoring and letters

@pytest.mark.parametrize(("points", "expected"), [
    (135, "A+"), (100, "A+"), (99, "A"), (90, "A"), (89, "A-"), (85, "A-"), (84, "B+"), (80, "B+"),
    (79, "B"), (70, "B"), (69, "B-"), (65, "B-"), (64, "C+"), (60, "C+"), (59, "C"), (50, "C"),
    (49, "C-"), (45, "C-"), (44, "D+"), (40, "D+"), (39, "D"), (30, "D"), (29, "D-"), (25, "D-"),
    (24, "F"), (0, "F"), (-10, "F"),
])
def test_letter_rounds_down_to_a_multiple_of_five_like_grade_chart(points, expected):
    assert letter(points) == expected


def test_bonuses_count_only_when_the_penalised_score_is_at_least_90():
    assert score([10, 5, -10]) == 105  # 90 without bonuses: extra credit applies
    assert score([10, 5, -15]) == 85  # 85: no extra credit
    assert score([-50, -40, -30]) == 0  # never below zero


def test_every_result_has_a_modifier_and_every_test_is_graded():
    graded = grade(GOOD)
    assert tuple(graded) == TESTS
    assert all(graded[t] in RESULTS[t] for t in TESTS)


def test_only_2xx_401_403_are_scored_redirects_are_followed_not_graded():
    assert [s for s in (200, 204, 301, 302, 304, 401, 403, 404, 500) if scored(s)] == [200, 204, 401, 403]
    assert graded_response("https", 302, GOOD, lambda: None) is None


def test_a_well_configured_page_earns_the_csp_and_framing_bonuses():
    host = HostGrade()
    host.add(graded_response("https", 200, GOOD, lambda: None))
    summary = host.summary()
    assert summary["grade"] == "A+" and summary["score"] == 120  # +10 CSP, +5 frame-ancestors, +5 referrer
    assert {t["test"]: t["observed"] for t in summary["tests"]}["redirection"] is False


@pytest.mark.parametrize("coop, coep", [
    (["same-origin"], ["require-corp"]),  # would be +10 +10
    (["bogus"], ["bogus"]),  # would be -5 -5
])
def test_coop_and_coep_are_reported_beside_the_score_not_in_it(coop, coep):
    """The Observatory 1.4.x has no COOP or COEP test (its tests: CSP, cookies, CORS,
    redirection, Referrer-Policy, HSTS, SRI, X-Content-Type-Options, X-Frame-Options, CORP)."""
    plain, isolated = HostGrade(), HostGrade()
    plain.add(graded_response("https", 200, GOOD, lambda: None))
    isolated.add(graded_response("https", 200, with_(cross_origin_opener_policy=coop, cross_origin_embedder_policy=coep),
                                 lambda: None))
    assert isolated.summary()["score"] == plain.summary()["score"]
    tests = {t["test"]: t for t in isolated.summary()["tests"]}
    for name in ("cross-origin-opener-policy", "cross-origin-embedder-policy"):
        assert tests[name]["scored"] is False and tests[name]["modifier"] == 0
        assert tests[name]["result"] != f"{name.split('-')[0]}-not-implemented"
    assert tests["cross-origin-resource-policy"]["scored"] is True  # CORP is an Observatory test
    assert tests["cross-origin-opener-policy"]["pass"] is (coop == ["same-origin"])


# ---------------------------------------------------------------- CSP

def test_csp_missing_and_report_only_only_are_not_implemented():
    assert result("content-security-policy", with_(content_security_policy=[])) == "csp-not-implemented"
    headers = with_(content_security_policy=[], content_security_policy_report_only=["default-src 'self'"])
    assert result("content-security-policy", headers) == "csp-not-implemented-but-reporting-enabled"


@pytest.mark.parametrize(("policy", "expected"), [
    ("default-src 'none'", "csp-implemented-with-no-unsafe-default-src-none"),
    ("default-src 'self'", "csp-implemented-with-no-unsafe"),
    ("default-src 'self'; style-src 'self' 'unsafe-inline'", "csp-implemented-with-unsafe-inline-in-style-src-only"),
    ("default-src 'self'; img-src http:", "csp-implemented-with-insecure-scheme-in-passive-content-only"),
    ("default-src 'self'; script-src 'self' 'unsafe-eval'", "csp-implemented-with-unsafe-eval"),
    ("default-src 'self'; script-src 'self' 'unsafe-inline'", "csp-implemented-with-unsafe-inline"),
    ("default-src 'self'; script-src https:", "csp-implemented-with-unsafe-inline"),
    ("img-src 'self'", "csp-implemented-with-unsafe-inline"),  # no script/object restriction
    ("default-src 'self'; connect-src http://api.example", "csp-implemented-with-insecure-scheme"),
])
def test_csp_results_follow_the_observatory_precedence(policy, expected):
    assert result("content-security-policy", with_(content_security_policy=[policy])) == expected


def test_csp_unsafe_inline_is_ignored_next_to_a_nonce_csp3_6_7_3_3():
    policy = "default-src 'self'; script-src 'nonce-abc' 'unsafe-inline'"
    assert result("content-security-policy", with_(content_security_policy=[policy])) == "csp-implemented-with-no-unsafe"


def test_csp_strict_dynamic_with_nonce_voids_broad_sources():
    policy = "default-src 'self'; object-src 'none'; script-src 'nonce-abc' 'strict-dynamic' https: 'unsafe-inline'"
    assert result("content-security-policy", with_(content_security_policy=[policy])) == "csp-implemented-with-no-unsafe"


def test_csp_strict_dynamic_without_nonce_is_valid_per_csp3_not_invalid_as_in_the_observatory():
    policy = "default-src 'self'; script-src 'strict-dynamic'"
    assert result("content-security-policy", with_(content_security_policy=[policy])) != "csp-header-invalid"


def test_csp_repeated_directive_first_wins_not_invalid_csp3_2_2_1():
    policy = "default-src 'self'; script-src 'self'; script-src 'unsafe-inline'"
    assert result("content-security-policy", with_(content_security_policy=[policy])) == "csp-implemented-with-no-unsafe"


def test_csp_two_policies_are_each_enforced_never_merged_csp3_2_2_2():
    # The second line blocks inline script, so the page is safe although the first allows it.
    lines = ["script-src 'unsafe-inline'", "default-src 'self'"]
    assert result("content-security-policy", with_(content_security_policy=lines)) == "csp-implemented-with-no-unsafe"
    # Comma-joined in one line: the same two policies.
    joined = ["script-src 'unsafe-inline', default-src 'self'"]
    assert result("content-security-policy", with_(content_security_policy=joined)) == "csp-implemented-with-no-unsafe"
    # Both weak: the weakness stays.
    weak = ["script-src 'unsafe-inline'", "script-src 'unsafe-inline' 'self'; object-src 'none'"]
    assert result("content-security-policy", with_(content_security_policy=weak)) == "csp-implemented-with-unsafe-inline"


def test_csp_header_with_nothing_enforceable_is_invalid():
    assert result("content-security-policy", with_(content_security_policy=["\u00e9t\u00e9 'self'"])) == "csp-header-invalid"


# ---------------------------------------------------------------- HSTS

@pytest.mark.parametrize(("value", "expected"), [
    ("max-age=15552000", "hsts-implemented-max-age-at-least-six-months"),
    ("max-age=15551999", "hsts-implemented-max-age-less-than-six-months"),
    ('max-age="31536000"', "hsts-implemented-max-age-at-least-six-months"),  # quoted-string, RFC 6797 §6.1
    ("max-age=abc", "hsts-header-invalid"),  # the Observatory's parseInt passes this
    ("max-age=1; max-age=2", "hsts-header-invalid"),  # RFC 6797 §6.1: repeated directive
    ("includeSubDomains", "hsts-header-invalid"),  # no max-age
])
def test_hsts_follows_rfc_6797(value, expected):
    assert result("strict-transport-security", with_(strict_transport_security=[value])) == expected


def test_hsts_first_header_line_is_the_one_processed():
    lines = ["max-age=63072000", "max-age=0"]
    assert result("strict-transport-security", with_(strict_transport_security=lines)) == "hsts-implemented-max-age-at-least-six-months"


def test_hsts_over_http_is_no_https_and_a_https_response_of_the_host_overrides_it():
    assert result("strict-transport-security", GOOD, scheme="http") == "hsts-not-implemented-no-https"
    host = HostGrade()
    host.add(graded_response("http", 200, GOOD, lambda: None))
    host.add(graded_response("https", 200, GOOD, lambda: None))
    tests = {t["test"]: t["result"] for t in host.summary()["tests"]}
    assert tests["strict-transport-security"] == "hsts-implemented-max-age-at-least-six-months"


# ---------------------------------------------------------------- cookies

@pytest.mark.parametrize(("line", "scheme", "expected"), [
    ("id=1; Secure; SameSite=Lax", "https", "cookies-secure-with-httponly-sessions-and-samesite"),
    ("id=1; Secure", "https", "cookies-secure-with-httponly-sessions"),
    ("id=1; SameSite=Lax", "https", "cookies-without-secure-flag-but-protected-by-hsts"),
    ("sessionid=1; Secure; SameSite=Lax", "https", "cookies-session-without-httponly-flag"),
    ("sessionid=1; HttpOnly; SameSite=Lax", "https", "cookies-session-without-secure-flag-but-protected-by-hsts"),
    ("sessionid=1; Secure; HttpOnly; SameSite=Lax", "http", "cookies-session-without-secure-flag"),  # set over HTTP
    ("csrftoken=1; Secure", "https", "cookies-anticsrf-without-samesite-flag"),
    ("id=1; Secure; SameSite=Bogus", "https", "cookies-samesite-flag-invalid"),
    ("id=1; SameSite=None; HttpOnly", "https", "cookies-samesite-flag-invalid"),  # None needs Secure
    ("sessionid=; Max-Age=0", "https", "cookies-not-found"),  # deletion cookies are not stored
    ("heroku-session-affinity=x", "https", "cookies-not-found"),  # ignored by the Observatory
])
def test_cookie_results_take_the_worst_cookie_like_cookies_js(line, scheme, expected):
    assert result("cookies", with_(set_cookie=[line]), scheme=scheme) == expected


def test_without_hsts_an_insecure_cookie_is_not_protected():
    headers = with_(set_cookie=["id=1"], strict_transport_security=[])
    assert result("cookies", headers) == "cookies-without-secure-flag"


def test_cookie_outcome_of_a_host_ignores_responses_that_set_no_cookie():
    host = HostGrade()
    host.add(graded_response("https", 200, with_(set_cookie=["id=1; Secure; SameSite=Lax"]), lambda: None))
    host.add(graded_response("https", 200, GOOD, lambda: None))
    tests = {t["test"]: t["result"] for t in host.summary()["tests"]}
    assert tests["cookies"] == "cookies-secure-with-httponly-sessions-and-samesite"


# ---------------------------------------------------------------- the others

@pytest.mark.parametrize(("lines", "expected"), [
    ([], "referrer-policy-not-implemented"),
    (["no-referrer"], "referrer-policy-private"),
    (["unsafe-url"], "referrer-policy-unsafe"),
    (["no-referrer, unsafe-url"], "referrer-policy-unsafe"),  # the last recognised token wins
    (["unsafe-url, bogus"], "referrer-policy-unsafe"),  # unknown tokens are skipped
    (["bogus"], "referrer-policy-header-invalid"),
])
def test_referrer_policy_last_recognised_token_wins(lines, expected):
    assert result("referrer-policy", with_(referrer_policy=lines)) == expected


@pytest.mark.parametrize(("lines", "expected"), [
    ([], "x-content-type-options-not-implemented"),
    (["NoSniff"], "x-content-type-options-nosniff"),
    (["nosniff, garbage"], "x-content-type-options-nosniff"),  # Fetch: the first value decides
    (["sniff"], "x-content-type-options-header-invalid"),
])
def test_x_content_type_options_per_fetch_determine_nosniff(lines, expected):
    assert result("x-content-type-options", with_(x_content_type_options=lines)) == expected


@pytest.mark.parametrize(("xfo", "csp", "expected"), [
    (["DENY"], "default-src 'self'", "x-frame-options-sameorigin-or-deny"),
    (["DENY", "SAMEORIGIN"], "default-src 'self'", "x-frame-options-sameorigin-or-deny"),  # conflict blocks all framing
    (["ALLOW-FROM https://a.example"], "default-src 'self'", "x-frame-options-header-invalid"),  # ignored by browsers
    ([], "default-src 'self'", "x-frame-options-not-implemented"),
    ([], "default-src 'self'; frame-ancestors 'self'", "x-frame-options-implemented-via-csp"),
    ([], "default-src 'self'; frame-ancestors *", "x-frame-options-not-implemented"),
])
def test_x_frame_options_follows_the_html_spec(xfo, csp, expected):
    assert result("x-frame-options", with_(x_frame_options=xfo, content_security_policy=[csp])) == expected


@pytest.mark.parametrize(("header", "lines", "expected"), [
    ("cross-origin-resource-policy", ["same-origin"], "corp-implemented-with-same-origin"),
    ("cross-origin-resource-policy", ["cross-origin"], "corp-implemented-with-cross-origin"),
    ("cross-origin-resource-policy", ["bogus"], "corp-header-invalid"),
    ("cross-origin-opener-policy", ['same-origin; report-to="r"'], "coop-implemented-with-same-origin"),
    ("cross-origin-opener-policy", ["same-origin", "same-origin"], "coop-header-invalid"),  # RFC 8941: not an Item
    ("cross-origin-embedder-policy", ["credentialless"], "coep-implemented-with-credentialless"),
    ("cross-origin-embedder-policy", ['"require-corp"'], "coep-header-invalid"),  # a String, not a Token
])
def test_cross_origin_policies_are_structured_field_tokens(header, lines, expected):
    test = {"cross-origin-resource-policy": "cross-origin-resource-policy",
            "cross-origin-opener-policy": "cross-origin-opener-policy",
            "cross-origin-embedder-policy": "cross-origin-embedder-policy"}[header]
    assert result(test, {**GOOD, header: lines}) == expected


def test_cors_universal_access_needs_two_different_echoed_origins_with_credentials():
    headers = {**GOOD, "access-control-allow-credentials": ["true"]}
    host = HostGrade()
    for origin in ("https://a.example", "https://a.example"):
        host.add(graded_response("https", 200, {**headers, "access-control-allow-origin": [origin]}, lambda o=origin: o))
    cors = {t["test"]: t["result"] for t in host.summary()["tests"]}["cross-origin-resource-sharing"]
    assert cors == "cross-origin-resource-sharing-implemented-with-restricted-access"  # one partner origin
    host.add(graded_response("https", 200, {**headers, "access-control-allow-origin": ["https://b.example"]},
                             lambda: "https://b.example"))
    summary = host.summary()
    cors = {t["test"]: t for t in summary["tests"]}["cross-origin-resource-sharing"]
    assert cors["result"] == "cross-origin-resource-sharing-implemented-with-universal-access" and cors["modifier"] == -50
    assert result("cross-origin-resource-sharing", {**GOOD, "access-control-allow-origin": ["*"]}) == (
        "cross-origin-resource-sharing-implemented-with-public-access")


# ---------------------------------------------------------------- per host

def test_a_host_is_graded_from_its_html_responses_when_it_has_any():
    host = HostGrade()
    host.add(graded_response("https", 200, {"content-type": ["image/png"]}, lambda: None))
    assert host.summary()["grade"] != "A+"  # an image alone: graded as is
    host.add(graded_response("https", 200, GOOD, lambda: None))
    summary = host.summary()
    assert summary["grade"] == "A+" and summary["responses"] == 1


def test_a_host_takes_the_worst_result_of_each_test_across_its_pages():
    host = HostGrade()
    host.add(graded_response("https", 200, GOOD, lambda: None))
    host.add(graded_response("https", 200, with_(x_content_type_options=[]), lambda: None))
    tests = {t["test"]: t["result"] for t in host.summary()["tests"]}
    assert tests["x-content-type-options"] == "x-content-type-options-not-implemented"


def test_the_same_graded_object_twice_counts_without_recomputing():
    graded = graded_response("https", 200, GOOD, lambda: None)
    host = HostGrade()
    host.add(graded)
    host.add(graded)
    assert host.responses == 2 and host.summary()["responses"] == 2


# ---------------------------------------------------------------- the CI gate (gate.py)

from headeraudit import gate  # noqa: E402


def gate_report(severities: list[str], grades: list[tuple[str, str, int]], dropped: int = 0) -> dict:
    return {
        "findings": [{"severity": s} for s in severities],
        "summary": {"dropped": dropped},
        "grades": {"hosts": [{"host": h, "grade": g, "score": sc} for h, g, sc in grades]},
    }


def test_gate_fail_on_counts_findings_at_or_above_the_severity():
    report = gate_report(["low", "high", "critical", "medium"], [])
    verdict = gate.evaluate(report, "high", None)
    assert not verdict.passed and verdict.failures == ("2 distinct findings at or above high (1 critical, 1 high)",)
    assert gate.evaluate(report, "critical", None).failures == ("1 distinct finding at or above critical (1 critical)",)
    assert gate.evaluate(gate_report(["low"], []), "medium", None).passed


def test_gate_unknown_severities_of_dropped_findings_fail_a_gate_that_found_nothing():
    assert not gate.evaluate(gate_report([], [], dropped=3), "high", None).passed


def test_gate_min_grade_names_each_host_below_it():
    report = gate_report([], [("a.example", "B", 72), ("b.example", "B-", 65), ("c.example", "A+", 110)])
    verdict = gate.evaluate(report, None, "b")
    assert verdict.failures == ("b.example: grade B- (score 65) is below B",)
    assert verdict.lines()[0] == "gate FAILED (min_grade=B):"
    assert gate.evaluate(report, None, "B-").passed


def test_gate_without_options_checks_nothing_and_passes():
    verdict = gate.evaluate(gate_report(["critical"], [("a", "F", 0)]), None, None)
    assert verdict.passed and verdict.checked == () and verdict.lines() == []


@pytest.mark.parametrize("text", ["E", "A++", "", "90"])
def test_gate_rejects_unknown_grades(text):
    with pytest.raises(ValueError, match="expected one of: A\\+, A, A-"):
        gate.parse_grade(text)


def test_gate_a_run_that_audited_nothing_fails_with_its_own_status_whatever_was_asked():
    """An empty HAR, or a headeraudit_filter that matches nothing, passed the gate with exit 0."""
    empty = {**gate_report([], []), "summary": {"dropped": 0, "flows_audited": 0}}
    for fail_on in (None, "high"):
        verdict = gate.evaluate(empty, fail_on, None)
        assert verdict.nothing_audited and not verdict.passed and verdict.status == gate.EXIT_NOTHING_AUDITED == 4
        assert gate.NOTHING_AUDITED in " ".join(verdict.lines())
    audited = {**gate_report([], []), "summary": {"dropped": 0, "flows_audited": 1}}
    assert gate.evaluate(audited, "high", None).status == gate.EXIT_OK
    assert gate.evaluate({**gate_report(["high"], []), "summary": {"flows_audited": 1}}, "high", None).status == gate.EXIT_GATE_FAILED
