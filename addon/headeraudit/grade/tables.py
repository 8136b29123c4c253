"""The MDN HTTP Observatory's tables: results, modifiers, scoring and letters.

From mdn/mdn-http-observatory (src/grader/charts.js and src/analyzer/tests/*.js): start at
100, add each test's modifier; bonuses (positive modifiers) count only when the score without
them is at least 90; the grade is the score rounded down to a multiple of 5 (A+ at 100 and
above). The result names and modifiers are the Observatory's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90
SIX_MONTHS = 15_552_000  # the Observatory's "white lie" for six months

# (test, result) -> (modifier, description); order = the Observatory's report order.
RESULTS: dict[str, dict[str, tuple[int, str]]] = {
    "content-security-policy": {
        "csp-implemented-with-no-unsafe-default-src-none": (10, "CSP with default-src 'none' and no 'unsafe' sources"),
        "csp-implemented-with-no-unsafe": (5, "CSP without 'unsafe-inline' or 'unsafe-eval'"),
        "csp-implemented-with-unsafe-inline-in-style-src-only": (0, "CSP with unsafe sources only in style-src"),
        "csp-implemented-with-insecure-scheme-in-passive-content-only": (-10, "CSP allows images or media over HTTP on an HTTPS site"),
        "csp-implemented-with-unsafe-eval": (-10, "CSP allows 'unsafe-eval'"),
        "csp-implemented-with-unsafe-inline": (
            -20, "CSP allows 'unsafe-inline' or data: in script-src, broad sources in script-src or object-src, "
                 "or does not restrict them"),
        "csp-implemented-with-insecure-scheme": (-20, "CSP allows resources over HTTP on an HTTPS site"),
        "csp-header-invalid": (-25, "CSP header present but no policy in it restricts anything"),
        "csp-not-implemented-but-reporting-enabled": (-25, "only Content-Security-Policy-Report-Only: nothing is enforced"),
        "csp-not-implemented": (-25, "CSP header not implemented"),
    },
    "cookies": {
        "cookies-secure-with-httponly-sessions-and-samesite": (
            5, "all cookies Secure, session cookies HttpOnly, all with SameSite"),
        "cookies-secure-with-httponly-sessions": (0, "all cookies Secure and session cookies HttpOnly, SameSite missing"),
        "cookies-not-found": (0, "no cookies set"),
        "cookies-without-secure-flag-but-protected-by-hsts": (-5, "cookies without Secure, but HSTS protects them"),
        "cookies-session-without-secure-flag-but-protected-by-hsts": (
            -10, "session cookie without Secure, but HSTS protects it"),
        "cookies-without-secure-flag": (-20, "cookies without Secure or set over HTTP"),
        "cookies-samesite-flag-invalid": (-20, "SameSite set to something other than Strict, Lax or None (with Secure)"),
        "cookies-anticsrf-without-samesite-flag": (-20, "anti-CSRF cookie without SameSite"),
        "cookies-session-without-httponly-flag": (-30, "session cookie without HttpOnly"),
        "cookies-session-without-secure-flag": (-40, "session cookie without Secure or set over HTTP"),
    },
    "cross-origin-resource-sharing": {
        "cross-origin-resource-sharing-not-implemented": (0, "no CORS headers"),
        "cross-origin-resource-sharing-implemented-with-public-access": (0, "Access-Control-Allow-Origin: * (public)"),
        "cross-origin-resource-sharing-implemented-with-restricted-access": (0, "CORS restricted to specific origins"),
        "cross-origin-resource-sharing-implemented-with-universal-access": (
            -50, "any Origin is echoed with credentials allowed"),
    },
    "redirection": {
        "redirection-not-observed": (0, "not observed: an http:// to https:// redirect shows only when requested"),
    },
    "referrer-policy": {
        "referrer-policy-private": (5, "Referrer-Policy no-referrer, same-origin, strict-origin or strict-origin-when-cross-origin"),
        "referrer-policy-not-implemented": (0, "Referrer-Policy not implemented (browsers default to strict-origin-when-cross-origin)"),
        "referrer-policy-unsafe": (-5, "Referrer-Policy origin, origin-when-cross-origin, unsafe-url or no-referrer-when-downgrade"),
        "referrer-policy-header-invalid": (-5, "Referrer-Policy has no recognised value"),
    },
    "strict-transport-security": {
        "hsts-implemented-max-age-at-least-six-months": (0, "HSTS with max-age of at least six months"),
        "hsts-implemented-max-age-less-than-six-months": (-10, "HSTS max-age below six months (15552000)"),
        "hsts-not-implemented": (-20, "HSTS not implemented"),
        "hsts-header-invalid": (-20, "HSTS header invalid (RFC 6797)"),
        "hsts-not-implemented-no-https": (-20, "no HTTPS response observed, so no HSTS"),
    },
    "subresource-integrity": {
        "sri-not-observed": (0, "not observed: subresource integrity needs the HTML body, which is not read"),
    },
    "x-content-type-options": {
        "x-content-type-options-nosniff": (0, "X-Content-Type-Options: nosniff"),
        "x-content-type-options-not-implemented": (-5, "X-Content-Type-Options not implemented"),
        "x-content-type-options-header-invalid": (-5, "X-Content-Type-Options is not nosniff"),
    },
    "x-frame-options": {
        "x-frame-options-implemented-via-csp": (5, "framing restricted by CSP frame-ancestors"),
        "x-frame-options-sameorigin-or-deny": (0, "X-Frame-Options DENY or SAMEORIGIN"),
        "x-frame-options-not-implemented": (-20, "neither X-Frame-Options nor CSP frame-ancestors"),
        "x-frame-options-header-invalid": (-20, "X-Frame-Options invalid (ALLOW-FROM is ignored by browsers)"),
    },
    "cross-origin-resource-policy": {
        "corp-implemented-with-same-origin": (10, "Cross-Origin-Resource-Policy same-origin"),
        "corp-implemented-with-same-site": (10, "Cross-Origin-Resource-Policy same-site"),
        "corp-implemented-with-cross-origin": (0, "Cross-Origin-Resource-Policy cross-origin"),
        "corp-not-implemented": (0, "Cross-Origin-Resource-Policy not implemented"),
        "corp-header-invalid": (-5, "Cross-Origin-Resource-Policy invalid"),
    },
    "cross-origin-opener-policy": {
        "coop-implemented-with-same-origin": (10, "Cross-Origin-Opener-Policy same-origin"),
        "coop-implemented-with-same-origin-allow-popups": (10, "Cross-Origin-Opener-Policy same-origin-allow-popups"),
        "coop-implemented-with-noopener-allow-popups": (10, "Cross-Origin-Opener-Policy noopener-allow-popups"),
        "coop-implemented-with-unsafe-none": (0, "Cross-Origin-Opener-Policy unsafe-none"),
        "coop-not-implemented": (0, "Cross-Origin-Opener-Policy not implemented"),
        "coop-header-invalid": (-5, "Cross-Origin-Opener-Policy invalid or repeated"),
    },
    "cross-origin-embedder-policy": {
        "coep-implemented-with-require-corp": (10, "Cross-Origin-Embedder-Policy require-corp"),
        "coep-implemented-with-credentialless": (10, "Cross-Origin-Embedder-Policy credentialless"),
        "coep-implemented-with-unsafe-none": (0, "Cross-Origin-Embedder-Policy unsafe-none"),
        "coep-not-implemented": (0, "Cross-Origin-Embedder-Policy not implemented"),
        "coep-header-invalid": (-5, "Cross-Origin-Embedder-Policy invalid or repeated"),
    },
}
TESTS: tuple[str, ...] = tuple(RESULTS)
# Reported beside the score, not in it: the Observatory (1.4.x) has no COOP or COEP test, so an
# Observatory-compatible score cannot count them. Their table values only rank the results.
UNSCORED = frozenset({"cross-origin-opener-policy", "cross-origin-embedder-policy"})
NOT_OBSERVED = {"redirection": "redirection-not-observed", "subresource-integrity": "sri-not-observed"}
# The Observatory's passing results besides the positive ones (its per-test `pass`).
_PASSING = frozenset({
    "csp-implemented-with-unsafe-inline-in-style-src-only",
    "csp-implemented-with-insecure-scheme-in-passive-content-only",
    "cookies-not-found", "cookies-secure-with-httponly-sessions",
    "cross-origin-resource-sharing-not-implemented",
    "cross-origin-resource-sharing-implemented-with-public-access",
    "cross-origin-resource-sharing-implemented-with-restricted-access",
    "referrer-policy-not-implemented", "hsts-implemented-max-age-at-least-six-months",
    "x-content-type-options-nosniff", "x-frame-options-sameorigin-or-deny",
    "corp-implemented-with-cross-origin", "corp-not-implemented",
    "coop-implemented-with-unsafe-none", "coop-not-implemented",
    "coep-implemented-with-unsafe-none", "coep-not-implemented",
    *NOT_OBSERVED.values(),
})
# Weak results say "nothing seen here"; they stand only when no response said more.
WEAK = frozenset({"cookies-not-found", "hsts-not-implemented-no-https", "cross-origin-resource-sharing-not-implemented"})

GRADE_HEADERS: frozenset[str] = frozenset({
    "content-type", "content-security-policy", "content-security-policy-report-only", "set-cookie",
    "strict-transport-security", "referrer-policy", "x-content-type-options", "x-frame-options",
    "cross-origin-resource-policy", "cross-origin-opener-policy", "cross-origin-embedder-policy",
    "access-control-allow-origin", "access-control-allow-credentials",
})
GRADES = ((100, "A+"), (90, "A"), (85, "A-"), (80, "B+"), (70, "B"), (65, "B-"), (60, "C+"),
          (50, "C"), (45, "C-"), (40, "D+"), (30, "D"), (25, "D-"), (0, "F"))
GRADE_ORDER: tuple[str, ...] = tuple(g for _, g in GRADES)


@dataclass(frozen=True, slots=True)
class TestResult:
    """One test's result on one response (or, aggregated, on one host)."""

    test: str
    result: str

    @property
    def weight(self) -> int:
        """The result's modifier in the table: what ranks results, scored or not."""
        return RESULTS[self.test][self.result][0]

    @property
    def modifier(self) -> int:
        """What the result adds to the score: nothing for a test the Observatory does not score."""
        return 0 if self.test in UNSCORED else self.weight

    @property
    def passed(self) -> bool:
        return self.weight > 0 or self.result in _PASSING

    def as_dict(self, observed: bool = True) -> dict:
        return {
            "test": self.test, "result": self.result, "modifier": self.modifier, "pass": self.passed,
            "observed": observed and self.test not in NOT_OBSERVED, "scored": self.test not in UNSCORED,
            "description": RESULTS[self.test][self.result][1],
        }


@dataclass(frozen=True, slots=True)
class ResponseGrade:
    """The tests' results on one response; `echoed_origin` is a request Origin the response
    echoed with credentials (CORS: universal access needs two of them per host)."""

    html: bool
    outcomes: tuple[TestResult, ...]
    echoed_origin: str | None = None


def scored(status: int) -> bool:
    """2xx, 401 and 403, as the Observatory scores. It follows redirects and scores where they
    lead, so a 3xx is never what it grades; error pages say little about a site."""
    return 200 <= status < 300 or status in (401, 403)


def letter(points: int) -> str:
    """Observatory GRADE_CHART: round down to a multiple of 5, capped at 100."""
    points = min(max(points, 0), 100)
    points -= points % 5
    for floor, grade in GRADES:
        if points >= floor:
            return grade
    return "F"


def score(modifiers: Sequence[int]) -> int:
    """100 plus the penalties; bonuses only if that is at least 90 (MINIMUM_SCORE_FOR_EXTRA_CREDIT)."""
    base = 100 + sum(m for m in modifiers if m < 0)
    if base >= MINIMUM_SCORE_FOR_EXTRA_CREDIT:
        base += sum(m for m in modifiers if m > 0)
    return max(base, 0)


