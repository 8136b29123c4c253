"""The Observatory's tests on one response, read from the same facts the rules read.

Where a test asks what a rule asks (does the CSP allow inline script or 'unsafe-eval', is
nosniff in force, is this a session cookie, did the host echo an Origin with credentials),
it reads the same fact (facts.py), so a rule and the grade never disagree. Where the
Observatory departs from the specs, the specs win (README.md, "Grades"):
- HSTS (RFC 6797): a non-numeric or repeated max-age makes the header invalid (the
  Observatory's parseInt passes "max-age=abc" as "at least six months");
- CSP (CSP3 §2.2.2): several policies are each enforced, never merged: a source counts as
  allowed only if every policy allows it. A repeated directive is not "invalid" (the first one
  wins), nor is 'strict-dynamic' without a nonce or hash (it then blocks parser-inserted
  scripts); 'strict-dynamic' voids host and scheme sources and 'unsafe-inline' with or
  without a nonce (CSP3 §8.2); 'unsafe-eval' counts in script-src only (in style-src it does
  nothing); object-src data: is as unsafe as a broad source (a plugin runs code from a data:
  URL). CSP in <meta> is not seen (bodies are not read);
- X-Frame-Options (HTML standard): ALLOW-FROM is ignored by browsers, so it is scored as an
  invalid header (-20), not as protection (0); conflicting DENY/SAMEORIGIN values block all
  framing and are scored as DENY;
- X-Content-Type-Options (Fetch): the first value of the comma-split list decides;
- cookies: a session cookie is one the ruleset's session_cookie_pattern names (the
  Observatory: a name containing "sess" or "login"); a nameless cookie counts (RFC 6265bis
  §5.6 stores it), a line the browser ignores does not;
- CORS: the Observatory probes with its own Origin. A proxy only sees real requests, so a
  host is "universal access" once it echoes two different Origins with credentials (the
  same evidence as rule cors-origin-reflected-credentials), else restricted.
"""

from __future__ import annotations

from ..facts import CSP, CSP_REPORT_ONLY, Facts
from ..parsers.csp import KNOWN_DIRECTIVES, Policy
from .tables import NOT_OBSERVED, SIX_MONTHS, ResponseGrade, TestResult, scored

BROAD = ("ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*")
INLINE = ("'unsafe-inline'", "data:")
INSECURE = ("http:", "ftp:")
PASSIVE = ("img-src", "media-src")


def _script_tokens(policy: Policy) -> frozenset[str]:
    """The script sources the browser honours: with 'strict-dynamic', none of the host and scheme
    sources (CSP3 §8.2)."""
    sources = policy.effective_sources("script-src")
    if sources is None:
        return frozenset({"*"})
    if sources.strict_dynamic:
        return frozenset(t for t in sources.tokens if t.startswith("'"))
    return sources.tokens


def _insecure_active(policy: Policy) -> bool:
    tokens = set(_script_tokens(policy))
    for name, sources in policy.sources.items():
        if name not in PASSIVE and name != "script-src":
            tokens |= sources.tokens
    return any(t.startswith(INSECURE) for t in tokens)


def _insecure_passive(policy: Policy) -> bool:
    for name in PASSIVE:
        sources = policy.effective_sources(name)
        if sources is not None and any(t.startswith(INSECURE) for t in sources.tokens):
            return True
    return False


def _csp(facts: Facts) -> str:
    policies = facts.policies()
    if not policies:
        if any(line.strip() for line in facts.values(CSP)):
            return "csp-header-invalid"
        if facts.present(CSP_REPORT_ONLY):
            return "csp-not-implemented-but-reporting-enabled"
        return "csp-not-implemented"
    if not any(KNOWN_DIRECTIVES.intersection(p.directives) for p in policies):  # only unknown names: nothing restricted
        return "csp-header-invalid"

    def allowed(directive: str, sources: tuple[str, ...]) -> bool:
        return any(facts.csp_allows(directive, source) for source in sources)

    https = facts.https
    # <script> elements are governed by script-src-elem, event handlers by script-src-attr, each
    # falling back to script-src (CSP3 §6.1.2-3): the rules read all three, and so does the grade.
    if (allowed("script-src", (*INLINE, *BROAD)) or allowed("script-src-elem", (*INLINE, *BROAD))
            or allowed("script-src-attr", ("'unsafe-inline'",)) or allowed("object-src", (*BROAD, "data:"))):
        return "csp-implemented-with-unsafe-inline"
    # Mixed content: a weakness only if no enforced policy closes it.
    if https and all(_insecure_active(p) for p in policies):
        return "csp-implemented-with-insecure-scheme"
    if facts.csp_allows("script-src", "'unsafe-eval'"):
        return "csp-implemented-with-unsafe-eval"
    if https and all(_insecure_passive(p) for p in policies):
        return "csp-implemented-with-insecure-scheme-in-passive-content-only"
    if allowed("style-src", (*INLINE, *BROAD)):
        return "csp-implemented-with-unsafe-inline-in-style-src-only"
    if any(p.directives.get("default-src") == () for p in policies):
        return "csp-implemented-with-no-unsafe-default-src-none"
    return "csp-implemented-with-no-unsafe"


def _hsts(facts: Facts) -> str:
    if not facts.https:
        return "hsts-not-implemented-no-https"
    parsed = facts.parsed("hsts", "strict-transport-security")
    if parsed is None:
        return "hsts-not-implemented"
    if not parsed.valid or parsed.max_age is None:
        return "hsts-header-invalid"
    if parsed.max_age < SIX_MONTHS:
        return "hsts-implemented-max-age-less-than-six-months"
    return "hsts-implemented-max-age-at-least-six-months"


# cookies.js `goodness`: a later entry is worse and replaces an earlier one.
_COOKIE_ORDER = (
    "cookies-without-secure-flag-but-protected-by-hsts", "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts", "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag", "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
)
_COOKIE_RANK = {name: i for i, name in enumerate(_COOKIE_ORDER)}
_IGNORED_COOKIES = frozenset({"heroku-session-affinity"})


def _cookies(facts: Facts, hsts_ok: bool) -> str:
    worst = -1
    seen = samesite_missing = False
    https = facts.https

    def worse(result: str) -> None:
        nonlocal worst
        worst = max(worst, _COOKIE_RANK[result])

    for fact in facts.cookies():
        cookie = fact.parsed
        if not fact.stored or fact.deletion or cookie.name in _IGNORED_COOKIES:
            continue
        seen = True
        secure = cookie.secure and https  # "without Secure or set over HTTP"
        samesite = cookie.samesite
        if samesite is not None and (samesite not in ("strict", "lax", "none") or (samesite == "none" and not cookie.secure)):
            worse("cookies-samesite-flag-invalid")
        if not secure:
            worse("cookies-without-secure-flag-but-protected-by-hsts" if hsts_ok else "cookies-without-secure-flag")
        if "csrf" in cookie.name.lower() and samesite is None:
            worse("cookies-anticsrf-without-samesite-flag")
        if fact.session and not secure:
            worse("cookies-session-without-secure-flag-but-protected-by-hsts" if hsts_ok else "cookies-session-without-secure-flag")
        if fact.session and not cookie.httponly:
            worse("cookies-session-without-httponly-flag")
        if samesite is None:
            samesite_missing = True
    if not seen:
        return "cookies-not-found"
    if worst >= 0:
        return _COOKIE_ORDER[worst]
    return "cookies-secure-with-httponly-sessions" if samesite_missing else "cookies-secure-with-httponly-sessions-and-samesite"


_PRIVATE_REFERRERS = frozenset({"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"})


def _referrer(facts: Facts) -> str:
    parsed = facts.parsed("referrer-policy", "referrer-policy")
    if parsed is None:
        return "referrer-policy-not-implemented"
    if parsed.policy is None:
        return "referrer-policy-header-invalid"
    return "referrer-policy-private" if parsed.policy in _PRIVATE_REFERRERS else "referrer-policy-unsafe"


def _xcto(facts: Facts) -> str:
    parsed = facts.parsed("x-content-type-options", "x-content-type-options")
    if parsed is None:
        return "x-content-type-options-not-implemented"
    return "x-content-type-options-nosniff" if parsed.nosniff else "x-content-type-options-header-invalid"


def _xfo(facts: Facts) -> str:
    framing = facts.framing
    if framing == "csp":
        return "x-frame-options-implemented-via-csp"
    if framing == "anyone-despite-csp":  # X-Frame-Options ignored, and frame-ancestors admits all
        return "x-frame-options-not-implemented"
    parsed = facts.parsed("xfo", "x-frame-options")
    if parsed is None or parsed.state == "absent":
        return "x-frame-options-not-implemented"
    if parsed.state in ("deny", "sameorigin", "conflict"):
        return "x-frame-options-sameorigin-or-deny"
    return "x-frame-options-header-invalid"


_TOKENS = {
    "cross-origin-resource-policy": ("corp", frozenset({"same-origin", "same-site", "cross-origin"})),
    "cross-origin-opener-policy": ("coop", frozenset({"same-origin", "same-origin-allow-popups", "noopener-allow-popups", "unsafe-none"})),
    "cross-origin-embedder-policy": ("coep", frozenset({"require-corp", "credentialless", "unsafe-none"})),
}


def _token(facts: Facts, header: str) -> str:
    prefix, allowed = _TOKENS[header]
    parsed = facts.parsed("structured-token", header)
    if parsed is None:
        return f"{prefix}-not-implemented"
    token, problems = parsed
    if token is None or problems or token not in allowed:
        return f"{prefix}-header-invalid"
    return f"{prefix}-implemented-with-{token}"


def _cors(facts: Facts) -> str:
    allowed = facts.values("access-control-allow-origin")
    if not allowed:
        return "cross-origin-resource-sharing-not-implemented"
    if allowed[0].strip() == "*":
        return "cross-origin-resource-sharing-implemented-with-public-access"
    return "cross-origin-resource-sharing-implemented-with-restricted-access"


def grade_response(facts: Facts) -> ResponseGrade | None:
    """The tests' results on one response, or None when the Observatory would not score it."""
    if not scored(facts.status):
        return None
    csp = _csp(facts)
    hsts = _hsts(facts)
    results = (
        TestResult("content-security-policy", csp),
        TestResult("cookies", _cookies(facts, hsts == "hsts-implemented-max-age-at-least-six-months")),
        TestResult("cross-origin-resource-sharing", _cors(facts)),
        TestResult("redirection", NOT_OBSERVED["redirection"]),
        TestResult("referrer-policy", _referrer(facts)),
        TestResult("strict-transport-security", hsts),
        TestResult("subresource-integrity", NOT_OBSERVED["subresource-integrity"]),
        TestResult("x-content-type-options", _xcto(facts)),
        TestResult("x-frame-options", _xfo(facts)),
        *(TestResult(header, _token(facts, header)) for header in _TOKENS),
    )
    return ResponseGrade(facts.document, results, facts.cors_echoed_origin)
