"""Observatory-compatible score and letter grade, from the responses a proxy observes.

The MDN HTTP Observatory (mdn/mdn-http-observatory, src/grader/charts.js and
src/analyzer/tests/*.js) scores one site by fetching its front page: start at 100, add each
test's modifier; bonuses (positive modifiers) count only when the score without them is at
least 90; the grade is the score rounded down to a multiple of 5 (A+ at 100 and above).
The result names and modifiers below are the Observatory's.

What differs, and why (documented in README.md, "Grades"):
- A proxy sees many responses per host, not one front page. A host is graded from its HTML
  responses (text/html, application/xhtml+xml) if it served any, else from all of them; of
  the statuses only 2xx, 401 and 403 are scored (the Observatory follows redirects and scores
  where they lead, so a 3xx is never graded). Each test
  takes the WORST result among those responses: a site is as good as its weakest page.
  "No cookies" and "no HTTPS seen" count only when no response said more.
- Tests that traffic cannot show are reported as not observed and scored 0: redirection
  (nobody asked for http:// on purpose) and subresource integrity (bodies are not read).
  The HSTS preload list is not consulted, so the +5 "preloaded" bonus is never given.
- Where the Observatory departs from the specs, the specs win:
  - HSTS (RFC 6797): a non-numeric or repeated max-age makes the header invalid (the
    Observatory's parseInt passes "max-age=abc" as "at least six months");
  - CSP (CSP3 §2.2.2): several policies are each enforced, never merged; a weakness counts
    only when every enforced policy has it (a resource must pass them all). A repeated
    directive is not "invalid" (the first one wins), nor is 'strict-dynamic' without a nonce
    or hash (it then blocks parser-inserted scripts). CSP in <meta> is not seen (no bodies);
  - X-Frame-Options (HTML spec): ALLOW-FROM is ignored by browsers, so it is scored as an
    invalid header (-20), not as protection (0); conflicting DENY/SAMEORIGIN values block all
    framing and are scored as DENY;
  - CORS: the Observatory probes with its own Origin. A proxy only sees real requests, so a
    host is "universal access" once it echoes two different Origins with credentials (the
    same evidence as rule cors-origin-reflected-credentials), else restricted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .checks import cached_csp, cached_hsts, parse_cookie
from .parsers.referrer import parse_referrer_policy
from .parsers.sf import parse_token_header
from .parsers.xfo import parse_xfo

__all__ = [
    "GRADE_HEADERS", "TESTS", "HostGrade", "Outcome", "ResponseGrade",
    "grade_response", "letter", "score", "scored",
]

MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90
SIX_MONTHS = 15_552_000  # the Observatory's "white lie" for six months
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

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
_WEAK = frozenset({"cookies-not-found", "hsts-not-implemented-no-https", "cross-origin-resource-sharing-not-implemented"})

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
class Outcome:
    """One test's result on one response (or, aggregated, on one host)."""

    test: str
    result: str

    @property
    def modifier(self) -> int:
        return RESULTS[self.test][self.result][0]

    @property
    def passed(self) -> bool:
        return self.modifier > 0 or self.result in _PASSING

    def as_dict(self, observed: bool = True) -> dict:
        return {
            "test": self.test, "result": self.result, "modifier": self.modifier, "pass": self.passed,
            "observed": observed and self.test not in NOT_OBSERVED, "description": RESULTS[self.test][self.result][1],
        }


@dataclass(frozen=True, slots=True)
class ResponseGrade:
    """The tests' outcomes on one response; `echoed_origin` is a request Origin the response
    echoed with credentials (CORS: universal access needs two of them per host)."""

    html: bool
    outcomes: tuple[Outcome, ...]
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


# ---------------------------------------------------------------- per-response tests

_BROAD = frozenset({"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"})
_UNSAFE_INLINE = frozenset({"'unsafe-inline'", "data:"})
_BROAD_OR_INLINE = _BROAD | _UNSAFE_INLINE
_NONCE_HASH = ("'nonce-", "'sha256-", "'sha384-", "'sha512-")
_UNRESTRICTED = ("*",)


def _policy_flags(policy, https: bool) -> dict[str, bool]:
    """The Observatory's CSP properties of ONE enforced policy (csp.js), on our parsed form."""
    def sources(name: str) -> set[str]:
        tokens = policy.effective(name)
        return {t.lower() for t in (_UNRESTRICTED if tokens is None else tokens)}

    script, style, obj = sources("script-src"), sources("style-src"), sources("object-src")
    for listed in (script, style):
        if any(t.startswith(_NONCE_HASH) for t in listed):
            listed.discard("'unsafe-inline'")  # CSP3 §6.7.3.3: ignored next to a nonce or hash
    if "'strict-dynamic'" in script and any(t.startswith(_NONCE_HASH) for t in script):
        script = {t for t in script if not (t.startswith(tuple(_BROAD)) or t in ("'self'", "'unsafe-inline'"))}
    active = set(script)
    for name, tokens in policy.directives.items():
        if name not in ("img-src", "media-src", "script-src"):
            active.update(t.lower() for t in tokens)
    passive = {t.lower() for name in ("img-src", "media-src") for t in (policy.effective(name) or ())}
    insecure = ("http:", "ftp:")
    default = policy.directives.get("default-src")
    return {
        "unsafe_inline": bool(script & _BROAD_OR_INLINE) or bool(obj & _BROAD),
        "insecure_active": https and any(t.startswith(insecure) for t in active),
        "unsafe_eval": "'unsafe-eval'" in script or "'unsafe-eval'" in style,
        "insecure_passive": https and any(t.startswith(insecure) for t in passive),
        "unsafe_style": bool(style & _BROAD_OR_INLINE),
        "default_none": default is not None and len(default) == 0,
        "anti_clickjacking": "frame-ancestors" in policy.directives
        and not {t.lower() for t in policy.directives["frame-ancestors"]} & _BROAD,
    }


def _csp(headers: Mapping[str, list[str]], https: bool) -> tuple[str, bool]:
    """(result, framing restricted by frame-ancestors)."""
    lines = headers.get("content-security-policy")
    policies = cached_csp(tuple(lines)) if lines else ()
    if not policies:
        if lines and any(line.strip() for line in lines):
            return "csp-header-invalid", False
        if headers.get("content-security-policy-report-only"):
            return "csp-not-implemented-but-reporting-enabled", False
        return "csp-not-implemented", False
    flags = [_policy_flags(p, https) for p in policies]
    if not any(p.directives for p in policies):
        return "csp-header-invalid", False

    def every(name: str) -> bool:  # a weakness exists only if no enforced policy closes it
        return all(f[name] for f in flags)

    framing = any(f["anti_clickjacking"] for f in flags)
    if every("unsafe_inline"):
        return "csp-implemented-with-unsafe-inline", framing
    if every("insecure_active"):
        return "csp-implemented-with-insecure-scheme", framing
    if every("unsafe_eval"):
        return "csp-implemented-with-unsafe-eval", framing
    if every("insecure_passive"):
        return "csp-implemented-with-insecure-scheme-in-passive-content-only", framing
    if every("unsafe_style"):
        return "csp-implemented-with-unsafe-inline-in-style-src-only", framing
    if any(f["default_none"] for f in flags):
        return "csp-implemented-with-no-unsafe-default-src-none", framing
    return "csp-implemented-with-no-unsafe", framing


def _hsts(headers: Mapping[str, list[str]], https: bool) -> str:
    if not https:
        return "hsts-not-implemented-no-https"
    lines = headers.get("strict-transport-security")
    if not lines:
        return "hsts-not-implemented"
    parsed = cached_hsts(lines[0])  # RFC 6797 §8.1: the first header field is processed
    if not parsed.valid or parsed.max_age is None:
        return "hsts-header-invalid"
    return "hsts-implemented-max-age-less-than-six-months" if parsed.max_age < SIX_MONTHS else "hsts-implemented-max-age-at-least-six-months"


# cookies.js `goodness`: a later entry is worse and replaces an earlier one.
_COOKIE_ORDER = (
    "cookies-without-secure-flag-but-protected-by-hsts", "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts", "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag", "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
)
_COOKIE_RANK = {name: i for i, name in enumerate(_COOKIE_ORDER)}
_IGNORED_COOKIES = frozenset({"heroku-session-affinity"})


def _cookies(lines: list[str] | None, https: bool, hsts_ok: bool, now) -> str:
    worst = -1
    seen = False
    samesite_missing = False

    def worse(result: str) -> None:
        nonlocal worst
        worst = max(worst, _COOKIE_RANK[result])

    for line in lines or ():
        cookie = parse_cookie(line)
        if not cookie.name or cookie.name in _IGNORED_COOKIES or cookie.is_deletion(now):
            continue
        seen = True
        name = cookie.name.lower()
        session = "login" in name or "sess" in name
        secure = cookie.secure and https  # "without Secure or set over HTTP"
        if cookie.samesite is not None and (cookie.samesite not in ("strict", "lax", "none") or (cookie.samesite == "none" and not cookie.secure)):
            worse("cookies-samesite-flag-invalid")
        if not secure:
            worse("cookies-without-secure-flag-but-protected-by-hsts" if hsts_ok else "cookies-without-secure-flag")
        if "csrf" in name and cookie.samesite is None:
            worse("cookies-anticsrf-without-samesite-flag")
        if session and not secure:
            worse("cookies-session-without-secure-flag-but-protected-by-hsts" if hsts_ok else "cookies-session-without-secure-flag")
        if session and not cookie.httponly:
            worse("cookies-session-without-httponly-flag")
        if cookie.samesite is None:
            samesite_missing = True
    if not seen:
        return "cookies-not-found"
    if worst >= 0:
        return _COOKIE_ORDER[worst]
    return "cookies-secure-with-httponly-sessions" if samesite_missing else "cookies-secure-with-httponly-sessions-and-samesite"


def _referrer(lines: list[str] | None) -> str:
    if not lines:
        return "referrer-policy-not-implemented"
    policy = parse_referrer_policy(lines).policy
    if policy is None:
        return "referrer-policy-header-invalid"
    if policy in ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"):
        return "referrer-policy-private"
    return "referrer-policy-unsafe"


def _xcto(lines: list[str] | None) -> str:
    if not lines:
        return "x-content-type-options-not-implemented"
    # Fetch "determine nosniff": the first value of the combined, comma-split list.
    first = ",".join(lines).split(",", 1)[0].strip(" \t").lower()
    return "x-content-type-options-nosniff" if first == "nosniff" else "x-content-type-options-header-invalid"


def _xfo(lines: list[str] | None, frame_ancestors: bool) -> str:
    if frame_ancestors:  # CSP3 frame-ancestors overrides X-Frame-Options in browsers
        return "x-frame-options-implemented-via-csp"
    state = parse_xfo(lines or ()).state
    if state == "absent":
        return "x-frame-options-not-implemented"
    if state in ("deny", "sameorigin", "conflict"):
        return "x-frame-options-sameorigin-or-deny"
    return "x-frame-options-header-invalid"


def _token(lines: list[str] | None, prefix: str, allowed: frozenset[str]) -> str:
    if not lines:
        return f"{prefix}-not-implemented"
    token, problems = parse_token_header(lines, allowed)
    if token is None or problems:
        return f"{prefix}-header-invalid"
    return f"{prefix}-implemented-with-{token}"


_CORP = frozenset({"same-origin", "same-site", "cross-origin"})
_COOP = frozenset({"same-origin", "same-origin-allow-popups", "noopener-allow-popups", "unsafe-none"})
_COEP = frozenset({"require-corp", "credentialless", "unsafe-none"})


def _cors(headers: Mapping[str, list[str]], request_origin: Callable[[], str | None]) -> tuple[str, str | None]:
    acao = headers.get("access-control-allow-origin")
    if not acao:
        return "cross-origin-resource-sharing-not-implemented", None
    value = acao[0].strip()
    if value == "*":
        return "cross-origin-resource-sharing-implemented-with-public-access", None
    credentials = any(c.strip().lower() == "true" for c in headers.get("access-control-allow-credentials", ()))
    origin = request_origin() if credentials else None
    echoed = origin if origin and origin == value and origin.lower() != "null" else None
    return "cross-origin-resource-sharing-implemented-with-restricted-access", echoed


def grade_response(
    scheme: str, status: int, media_type: str, headers: Mapping[str, list[str]],
    request_origin: Callable[[], str | None], now,
) -> ResponseGrade | None:
    """The tests' outcomes on one response, or None when the Observatory would not score it.

    `headers` maps lower-cased names to their field lines; `request_origin` is called only
    when a credentialed CORS answer must be compared with the request's Origin."""
    if not scored(status):
        return None
    https = scheme == "https"
    csp, framing = _csp(headers, https)
    hsts = _hsts(headers, https)
    cors, echoed = _cors(headers, request_origin)
    outcomes = (
        Outcome("content-security-policy", csp),
        Outcome("cookies", _cookies(headers.get("set-cookie"), https, hsts == "hsts-implemented-max-age-at-least-six-months", now)),
        Outcome("cross-origin-resource-sharing", cors),
        Outcome("redirection", NOT_OBSERVED["redirection"]),
        Outcome("referrer-policy", _referrer(headers.get("referrer-policy"))),
        Outcome("strict-transport-security", hsts),
        Outcome("subresource-integrity", NOT_OBSERVED["subresource-integrity"]),
        Outcome("x-content-type-options", _xcto(headers.get("x-content-type-options"))),
        Outcome("x-frame-options", _xfo(headers.get("x-frame-options"), framing)),
        Outcome("cross-origin-resource-policy", _token(headers.get("cross-origin-resource-policy"), "corp", _CORP)),
        Outcome("cross-origin-opener-policy", _token(headers.get("cross-origin-opener-policy"), "coop", _COOP)),
        Outcome("cross-origin-embedder-policy", _token(headers.get("cross-origin-embedder-policy"), "coep", _COEP)),
    )
    return ResponseGrade(media_type in HTML_TYPES, outcomes, echoed)


# ---------------------------------------------------------------- per-host aggregation

UNIVERSAL_CORS_ORIGINS = 2


@dataclass(slots=True)
class _Worst:
    responses: int = 0
    worst: dict[str, Outcome] = field(default_factory=dict)

    def add(self, outcomes: tuple[Outcome, ...]) -> None:
        self.responses += 1
        worst = self.worst
        for outcome in outcomes:
            known = worst.get(outcome.test)
            if known is None or _worse(outcome, known):
                worst[outcome.test] = outcome


def _worse(new: Outcome, old: Outcome) -> bool:
    new_weak, old_weak = new.result in _WEAK, old.result in _WEAK
    if new_weak != old_weak:
        return old_weak  # anything said beats "nothing seen"
    return new.modifier < old.modifier


class HostGrade:
    """Worst outcome per test over one host's scored responses (HTML ones preferred)."""

    __slots__ = ("_html", "_other", "_last", "_echoed")

    def __init__(self) -> None:
        self._html = _Worst()
        self._other = _Worst()
        self._last: ResponseGrade | None = None
        self._echoed: set[str] = set()

    def add(self, graded: ResponseGrade) -> None:
        if graded.echoed_origin is not None and len(self._echoed) < UNIVERSAL_CORS_ORIGINS:
            self._echoed.add(graded.echoed_origin)
        target = self._html if graded.html else self._other
        if graded is self._last:  # the engine hands out the same object for the same headers
            target.responses += 1
            return
        self._last = graded
        target.add(graded.outcomes)

    @property
    def responses(self) -> int:
        return self._html.responses + self._other.responses

    def outcomes(self) -> list[Outcome]:
        source = self._html if self._html.responses else self._other
        out = []
        for test in TESTS:
            outcome = source.worst.get(test)
            if outcome is None:
                continue
            if test == "cross-origin-resource-sharing" and len(self._echoed) >= UNIVERSAL_CORS_ORIGINS:
                outcome = Outcome(test, "cross-origin-resource-sharing-implemented-with-universal-access")
            out.append(outcome)
        return out

    def summary(self) -> dict | None:
        outcomes = self.outcomes()
        if not outcomes:
            return None
        points = score([o.modifier for o in outcomes])
        return {
            "score": points, "grade": letter(points),
            "responses": self._html.responses or self._other.responses,
            "tests": [o.as_dict() for o in outcomes],
        }
