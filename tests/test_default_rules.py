"""Verdicts of the default ruleset, one edge case per test, citing the spec or the peer it corrects."""

from __future__ import annotations

import pytest

from auditing import assess, decoded, facts, findings, fix_auditor
from headeraudit.audit import Auditor
from headeraudit.rules import load_ruleset

GOOD_DOCUMENT = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"),
    ("Content-Security-Policy", "default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "geolocation=()"),
]


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset()


@pytest.fixture
def engine(ruleset):
    return Auditor(ruleset)


def rules(engine, headers, *, scheme="https", status=200, base=(), method="GET", request_headers=(), host="www.example.com"):
    found = findings(engine, [*base, *headers], scheme=scheme, host=host, method=method, status=status,
                     request_headers=request_headers)
    return {f.rule for f in found}


def doc(engine, replace: dict[str, str | None] | None = None, extra=(), **kw):
    """The good document with some headers replaced (None removes)."""
    replace = {k.lower(): v for k, v in (replace or {}).items()}
    headers = [(n, replace.get(n.lower(), v)) for n, v in GOOD_DOCUMENT if replace.get(n.lower(), v) is not None]
    return rules(engine, [*headers, *extra], **kw)


def test_good_document_has_no_findings(engine):
    assert doc(engine) == set()


# ---------------------------------------------------------------- HSTS (RFC 6797)


def test_hsts_two_years_with_preload_passes_unlike_drheader_exact_match(engine):
    assert not {r for r in doc(engine) if r.startswith("hsts")}


def test_hsts_missing_only_on_https(engine):
    assert "hsts-missing" in doc(engine, {"Strict-Transport-Security": None})
    assert "hsts-missing" not in doc(engine, {"Strict-Transport-Security": None}, scheme="http")


def test_hsts_over_plain_http_is_ignored_by_browsers_rfc6797_8_1(engine):
    found = doc(engine, scheme="http")
    assert "hsts-on-http" in found and "hsts-missing" not in found


def test_hsts_directive_names_are_case_insensitive_and_quoted_max_age_is_valid_rfc6797_6_1(engine):
    assert not {r for r in doc(engine, {"Strict-Transport-Security": 'MAX-AGE="31536000"; INCLUDESUBDOMAINS'}) if r.startswith("hsts")}


def test_hsts_non_numeric_max_age_is_invalid_not_merely_low_observatory_passes_it(engine):
    found = doc(engine, {"Strict-Transport-Security": "max-age=abc; includeSubDomains"})
    assert "hsts-invalid" in found and "hsts-max-age-low" not in found


def test_hsts_repeated_directive_makes_header_invalid_rfc6797_6_1(engine):
    assert "hsts-invalid" in doc(engine, {"Strict-Transport-Security": "max-age=31536000; max-age=63072000"})


def test_hsts_without_max_age_is_invalid(engine):
    assert "hsts-invalid" in doc(engine, {"Strict-Transport-Security": "includeSubDomains; preload"})


def test_hsts_short_max_age_and_missing_subdomains(engine):
    found = doc(engine, {"Strict-Transport-Security": "max-age=86400"})
    assert {"hsts-max-age-low", "hsts-no-subdomains"} <= found and "hsts-invalid" not in found


def test_hsts_several_lines_first_wins_rfc6797_8_1(engine):
    found = doc(engine, extra=[("Strict-Transport-Security", "garbage")])
    assert "hsts-multiple" in found and "hsts-invalid" not in found
    found = rules(engine, [("Strict-Transport-Security", "garbage"), ("Strict-Transport-Security", "max-age=63072000")])
    assert {"hsts-multiple", "hsts-invalid"} <= found


def test_redirects_are_not_judged_by_default(engine):
    assert rules(engine, [("Location", "/next")], status=301) == set()
    assert rules(engine, [], status=304) == set()
    assert rules(engine, [], status=101) == set()


# ---------------------------------------------------------------- CSP (CSP3)


def test_csp_missing_only_on_html_documents(engine):
    assert "csp-missing" in doc(engine, {"Content-Security-Policy": None})
    json_api = rules(engine, [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")])
    assert "csp-missing" not in json_api and "frame-protection-missing" not in json_api


def test_csp_script_src_star_is_broad_although_drheader_passes_it(engine):
    found = doc(engine, {"Content-Security-Policy": "default-src 'self'; script-src *; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"})
    assert "csp-broad-source" in found


def test_csp_scheme_sources_in_object_src_are_broad(engine):
    found = doc(engine, {"Content-Security-Policy": "default-src 'self'; object-src https:; base-uri 'self'; frame-ancestors 'none'"})
    assert "csp-broad-source" in found


def test_csp_unsafe_inline_is_ignored_with_a_nonce_csp3_6_7_3_3(engine):
    policy = "script-src 'nonce-r4nd0mvalue' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    assert "csp-unsafe-inline" not in doc(engine, {"Content-Security-Policy": policy})
    assert "csp-unsafe-inline" in doc(engine, {"Content-Security-Policy": policy.replace("'nonce-r4nd0mvalue' ", "")})


def test_csp_unsafe_inline_is_ignored_with_a_hash(engine):
    policy = "script-src 'sha256-q1qUW8HUb1OCzkjHdWsrIDaj9xYHNBaXVh3RBZeSNbA=' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    assert "csp-unsafe-inline" not in doc(engine, {"Content-Security-Policy": policy})


def test_csp_strict_dynamic_ignores_host_and_scheme_sources_csp3(engine):
    policy = "script-src 'nonce-abcdefgh12' 'strict-dynamic' https: 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    found = doc(engine, {"Content-Security-Policy": policy})
    assert "csp-broad-source" not in found and "csp-unsafe-inline" not in found


def test_csp_two_policies_are_each_enforced_not_merged_csp3_2_2_2(engine):
    """A second, stricter policy blocks inline script even though the first allows it."""
    loose = "script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    strict = "script-src 'self'"
    assert "csp-unsafe-inline" not in doc(engine, {"Content-Security-Policy": loose}, extra=[("Content-Security-Policy", strict)])
    assert "csp-unsafe-inline" not in doc(engine, {"Content-Security-Policy": f"{loose}, {strict}"})
    assert "csp-unsafe-inline" in doc(engine, {"Content-Security-Policy": loose})


def test_csp_unsafe_eval(engine):
    found = doc(engine, {"Content-Security-Policy": "default-src 'self' 'unsafe-eval'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"})
    assert "csp-unsafe-eval" in found


def test_csp_default_src_without_value_means_none(engine):
    found = doc(engine, {"Content-Security-Policy": "default-src; base-uri 'none'; frame-ancestors 'none'"})
    assert not {"csp-no-script-src", "csp-no-object-src", "csp-broad-source"} & found


def test_csp_without_script_restriction_is_one_finding_not_three(engine):
    found = doc(engine, {"Content-Security-Policy": "img-src 'self'; base-uri 'self'; frame-ancestors 'none'"})
    assert {"csp-no-script-src", "csp-no-object-src"} <= found
    assert not {"csp-unsafe-inline", "csp-unsafe-eval", "csp-broad-source"} & found


def test_csp_frame_ancestors_does_not_fall_back_to_default_src(engine):
    policy = "default-src 'self'; base-uri 'self'"
    assert "frame-protection-missing" in doc(engine, {"Content-Security-Policy": policy})
    assert "frame-protection-missing" not in doc(engine, {"Content-Security-Policy": policy}, extra=[("X-Frame-Options", "DENY")])


def test_csp_base_uri_does_not_fall_back(engine):
    assert "csp-no-base-uri" in doc(engine, {"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"})


def test_csp_repeated_directive_first_wins_and_is_reported_csp3_2_2_1(engine):
    policy = "default-src 'self'; script-src 'self'; script-src 'unsafe-inline'; base-uri 'self'; frame-ancestors 'none'"
    found = doc(engine, {"Content-Security-Policy": policy})
    assert "csp-invalid" in found and "csp-unsafe-inline" not in found


def test_csp_malformed_source_is_reported_not_fatal(engine):
    found = doc(engine, {"Content-Security-Policy": "default-src 'self' 'bogus-keyword'; base-uri 'self'; frame-ancestors 'none'"})
    assert "csp-invalid" in found


def test_csp_report_only_is_evaluated_separately(engine):
    found = doc(engine, {"Content-Security-Policy": None}, extra=[("Content-Security-Policy-Report-Only", "script-src 'unsafe-inline'")])
    assert "csp-report-only-only" in found and "csp-missing" not in found and "csp-unsafe-inline" not in found


def test_csp_http_source_on_https_page(engine):
    policy = "default-src 'self'; img-src http://cdn.example.com; base-uri 'self'; frame-ancestors 'none'"
    assert "csp-http-source" in doc(engine, {"Content-Security-Policy": policy})
    assert "csp-http-source" not in doc(engine, {"Content-Security-Policy": policy}, scheme="http")


# ---------------------------------------------------------------- framing (HTML spec)


@pytest.mark.parametrize(
    "values, invalid",
    [
        (["DENY"], False),
        (["sameorigin"], False),
        (["SAMEORIGIN", "SAMEORIGIN"], False),
        (["ALLOW-FROM https://a.example"], True),
        (["DENY, SAMEORIGIN"], True),
        (["DENY", "SAMEORIGIN"], True),
        (["allowall"], True),
        (["nonsense"], True),
    ],
)
def test_xfo_values_per_html_spec(engine, values, invalid):
    found = doc(engine, {"Content-Security-Policy": "default-src 'self'; base-uri 'self'"}, extra=[("X-Frame-Options", v) for v in values])
    assert ("xfo-invalid" in found) is invalid
    assert "frame-protection-missing" not in found


# ---------------------------------------------------------------- nosniff, referrer


def test_xcto_value(engine):
    assert "xcto-invalid" in doc(engine, {"X-Content-Type-Options": "yes"})
    assert "xcto-invalid" not in doc(engine, {"X-Content-Type-Options": "NoSniff"})
    assert "xcto-missing" in rules(engine, [("Content-Type", "image/png")])


@pytest.mark.parametrize(
    "value, expected",
    [
        ("no-referrer, whimsy", set()),  # unknown tokens are skipped, the last known one wins
        ("origin-when-cross-origin, no-referrer, unsafe-url", {"referrer-policy-unsafe"}),
        ("unsafe-url, strict-origin-when-cross-origin", set()),
        ("whimsy", {"referrer-policy-invalid"}),
        ("no-referrer-when-downgrade", {"referrer-policy-unsafe"}),
    ],
)
def test_referrer_policy_last_recognised_token_wins(engine, value, expected):
    assert {r for r in doc(engine, {"Referrer-Policy": value}) if r.startswith("referrer")} == expected


# ---------------------------------------------------------------- cookies (RFC 6265bis)


def cookie_rules(engine, *lines, scheme="https"):
    return {r for r in doc(engine, extra=[("Set-Cookie", line) for line in lines], scheme=scheme) if r.startswith("cookie") or r.startswith("cache")}


def test_cookie_secure_required_on_https_only(engine):
    assert "cookie-no-secure" in cookie_rules(engine, "prefs=1; SameSite=Lax")
    assert "cookie-no-secure" not in cookie_rules(engine, "prefs=1; SameSite=Lax", scheme="http")


def test_cookie_httponly_required_for_session_cookies_only(engine):
    assert "cookie-no-httponly" in cookie_rules(engine, "sessionid=abc; Secure; SameSite=Lax")
    assert "cookie-no-httponly" not in cookie_rules(engine, "theme=dark; Secure; SameSite=Lax")
    assert "cookie-no-httponly" not in cookie_rules(engine, "csrftoken=abc; Secure; SameSite=Lax")


def test_cookie_deletion_is_not_judged(engine):
    assert cookie_rules(engine, "sessionid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/") == set()
    assert cookie_rules(engine, "sessionid=; Max-Age=0") == set()


def test_cookie_expires_with_comma_is_not_split(engine):
    found = cookie_rules(engine, "sessionid=abc; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Secure; HttpOnly; SameSite=Strict")
    assert found == {"cache-sensitive-cacheable"}


def test_cookie_samesite_none_without_secure(engine):
    assert "cookie-samesite-none-insecure" in cookie_rules(engine, "id=1; SameSite=None", scheme="http")
    assert "cookie-samesite-none-insecure" not in cookie_rules(engine, "id=1; SameSite=None; Secure")


def test_cookie_attributes_are_case_insensitive(engine):
    assert cookie_rules(engine, "theme=1; SECURE; samesite=LAX") == set()


def test_cookie_prefix_rules(engine):
    assert "cookie-prefix-invalid" in cookie_rules(engine, "__Host-id=1; Secure; Path=/app; SameSite=Lax")
    assert "cookie-prefix-invalid" in cookie_rules(engine, "__Secure-id=1; SameSite=Lax", scheme="http")
    assert "cookie-prefix-invalid" not in cookie_rules(engine, "__Host-id=1; Secure; Path=/; SameSite=Lax")


def test_cookie_without_equals_does_not_crash(engine):
    assert "cookie-samesite-missing" in cookie_rules(engine, "lonelyvalue")


def test_session_cookie_without_no_store_is_cacheable(engine):
    assert "cache-sensitive-cacheable" in cookie_rules(engine, "sessionid=1; Secure; HttpOnly; SameSite=Lax")
    secure = doc(engine, extra=[("Set-Cookie", "sessionid=1; Secure; HttpOnly; SameSite=Lax"), ("Cache-Control", "private, no-store")])
    assert "cache-sensitive-cacheable" not in secure
    assert "cache-sensitive-cacheable" not in cookie_rules(engine, "theme=1; Secure; SameSite=Lax")


# ---------------------------------------------------------------- CORS


def test_cors_wildcard_and_null(engine):
    api = [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")]
    assert "cors-wildcard" in rules(engine, [*api, ("Access-Control-Allow-Origin", "*")])
    assert "cors-null-origin" in rules(engine, [*api, ("Access-Control-Allow-Origin", "null")])


def test_cors_reflection_needs_two_different_origins_on_one_host(engine):
    api = [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"), ("Access-Control-Allow-Credentials", "true")]

    def echo(origin, host="api.example.com"):
        return rules(engine, [*api, ("Access-Control-Allow-Origin", origin)], request_headers=[("Origin", origin)], host=host)

    assert "cors-origin-reflected-credentials" not in echo("https://partner.example")
    assert "cors-origin-reflected-credentials" not in echo("https://partner.example")  # an allow-listed partner
    assert "cors-origin-reflected-credentials" not in echo("https://evil.example", host="other.example.com")
    assert "cors-origin-reflected-credentials" in echo("https://evil.example")


def test_cors_echo_without_credentials_is_not_reflection(engine):
    api = [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")]
    for origin in ("https://a.example", "https://b.example"):
        found = rules(engine, [*api, ("Access-Control-Allow-Origin", origin)], request_headers=[("Origin", origin)])
    assert "cors-origin-reflected-credentials" not in found


# ---------------------------------------------------------------- COOP / COEP / CORP (RFC 8941 tokens)


@pytest.mark.parametrize(
    "header, values, invalid",
    [
        ("Cross-Origin-Opener-Policy", ["same-origin"], False),
        ("Cross-Origin-Opener-Policy", ['same-origin; report-to="coop"'], False),
        ("Cross-Origin-Opener-Policy", ['"same-origin"'], True),  # a string, not a token
        ("Cross-Origin-Opener-Policy", ["same-origin", "same-origin"], True),  # two lines are not one Item
        ("Cross-Origin-Opener-Policy", ["bogus"], True),
        ("Cross-Origin-Embedder-Policy", ["credentialless"], False),
        ("Cross-Origin-Embedder-Policy", ["require-corp;"], True),  # a bare ';' is not a parameter
        ("Cross-Origin-Resource-Policy", ["same-site"], False),
        ("Cross-Origin-Resource-Policy", ["Same-Origin"], True),  # tokens are case-sensitive
    ],
)
def test_cross_origin_policies_as_structured_tokens(engine, header, values, invalid):
    rule = {"Cross-Origin-Opener-Policy": "coop-invalid", "Cross-Origin-Embedder-Policy": "coep-invalid", "Cross-Origin-Resource-Policy": "corp-invalid"}[header]
    assert (rule in doc(engine, extra=[(header, v) for v in values])) is invalid


# ---------------------------------------------------------------- deprecated and disclosing headers


@pytest.mark.parametrize(
    "header, value, rule",
    [
        ("X-XSS-Protection", "1; mode=block", "xxss-enabled"),
        ("Feature-Policy", "camera 'none'", "feature-policy-deprecated"),
        ("Expect-CT", "max-age=0", "expect-ct-deprecated"),
        ("Public-Key-Pins-Report-Only", 'pin-sha256="x"; max-age=1', "hpkp-deprecated"),
        ("Server", "nginx/1.25.3", "server-version-disclosure"),
        ("X-Powered-By", "PHP/8.2.1", "tech-disclosure"),
        ("X-AspNet-Version", "4.0.30319", "tech-disclosure"),
    ],
)
def test_deprecated_and_disclosing_headers(engine, header, value, rule):
    assert rule in doc(engine, extra=[(header, value)])


def test_plain_server_name_and_xxss_zero_pass(engine):
    assert doc(engine, extra=[("Server", "nginx"), ("X-XSS-Protection", "0")]) == set()


def test_disclosure_is_reported_on_redirects_too(engine):
    assert "tech-disclosure" in rules(engine, [("X-Powered-By", "Express")], status=302)


# ---------------------------------------------------------------- malformed input never raises


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("Content-Type", "")],
        [("Content-Type", "text/html"), ("Content-Security-Policy", "\udcff\udcfe;;;")],
        [("Content-Type", "text/html"), ("Strict-Transport-Security", "x" * 100_000)],
        [("Content-Type", "text/html"), ("Strict-Transport-Security", "max-age=" + "9" * 5000)],  # str(int) limit
        [("Content-Type", "text/html"), ("Strict-Transport-Security", "max-age=" + "0" * 5000 + "1")],
        [("Content-Type", "text/html")] + [("Set-Cookie", f"c{i}") for i in range(300)],
        [("Content-Type", "text/html"), ("Set-Cookie", ""), ("Set-Cookie", ";;=;")],
        [("Content-Type", "text/html"), ("Access-Control-Allow-Origin", "")],
    ],
)
def test_malformed_headers_never_raise(engine, headers):
    rules(engine, headers, request_headers=[("Origin", "")])


def test_checks_that_skip_absent_headers_really_say_nothing_about_them(ruleset):
    """The engine only runs such checks when their header is present."""
    absent = facts(ruleset, [], request_headers=[("Origin", "https://a")])
    for rule in ruleset.rules:
        if not rule.check.judges_absence:
            assert rule.check.run(absent, rule.keys[0], {}) == [], rule.id
        else:
            assert rule.check.run(absent, rule.keys[0], {}), rule.id


def test_findings_come_in_rule_order_whatever_the_header_order(engine):
    forward = [("Content-Type", "text/html"), ("Server", "a/1"), ("X-Powered-By", "b")]
    a = [f.rule for f in findings(engine, forward, scheme="http", host="h")]
    b = [f.rule for f in findings(engine, forward[::-1], scheme="http", host="h")]
    assert a == b


def test_a_value_repeating_one_mistake_gives_one_finding_not_thousands(engine):
    """Found by the fuzz tests: 'a=b;' * 25000 used to give 24 999 identical hsts-invalid findings."""
    value = "max-age=31536000; " + "a=b;" * 25000
    found = findings(engine, [("Content-Type", "text/html"), ("Strict-Transport-Security", value)], host="h.example")
    hsts = [f for f in found if f.header == "Strict-Transport-Security"]
    assert hsts and len(hsts) == len(set(hsts))


def test_header_names_fold_ascii_case_only(ruleset):
    """RFC 9110 §5.1: names are ASCII tokens. 'SET-COO\\u212aIE' (Kelvin sign) is not Set-Cookie,
    though Python's str.lower() folds it to 'set-cookie' (found by the fuzz tests)."""
    headers = [("Content-Type", "text/html"), ("SET-COO\u212aIE", "sessionid=1")]
    outcome = assess(fix_auditor(ruleset), headers, host="h.example")
    assert not [f for f in outcome.findings if f.rule.startswith("cookie-")]
    fixed = decoded(outcome.fix.rewrite.apply(outcome_lines(headers)))
    assert ("SET-COO\u212aIE", "sessionid=1") in fixed  # not a cookie: left alone


def outcome_lines(headers):
    from auditing import encoded

    return encoded(headers)


# CSP3 §2.3.1: a host-source whose host-part is "*" matches every host, whatever its scheme,
# port or path; `*://*` is no source expression (no scheme wildcard) and is dropped.
WILDCARDS = [
    ("script-src https://*; object-src 'none'", "csp-broad-source", "script-src: https://*"),
    ("script-src http://*:*; object-src 'none'", "csp-broad-source", "script-src: http://*:*"),
    ("script-src 'self'; object-src *:443", "csp-broad-source", "object-src: *:443"),
    ("default-src https://*/static/", "csp-broad-source", "default-src: https://*/static/"),
    ("script-src 'self'; object-src 'none'; base-uri *", "csp-broad-source", "base-uri: *"),
    ("script-src 'self'; object-src 'none'; base-uri https:", "csp-broad-source", "base-uri: https:"),
    ("frame-ancestors *", "csp-frame-ancestors-broad", "frame-ancestors: *"),
    ("frame-ancestors 'self' https:", "csp-frame-ancestors-broad", "frame-ancestors: https:"),
    ("frame-ancestors https://*", "csp-frame-ancestors-broad", "frame-ancestors: https://*"),
]


@pytest.mark.parametrize("csp, rule, evidence", WILDCARDS)
def test_wildcard_hosts_and_schemes_are_broad(engine, csp, rule, evidence):
    findings = assess(engine, [("Content-Type", "text/html"), ("Content-Security-Policy", csp)]).findings
    assert (rule, evidence) in {(f.rule, f.evidence) for f in findings}


@pytest.mark.parametrize("csp", [
    "script-src https://*.example.com; object-src 'none'; base-uri 'self'; frame-ancestors https://*.example.com",
    "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'",
    "script-src *://*; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",  # dropped: nothing allowed
    # CSP3 §2.2.2: a second policy that restricts framing protects, whatever the first allows.
    "frame-ancestors *; script-src 'self'; object-src 'none'; base-uri 'none', frame-ancestors 'none'",
])
def test_sub_domain_wildcards_and_restricted_lists_are_not_broad(engine, csp):
    findings = assess(engine, [("Content-Type", "text/html"), ("Content-Security-Policy", csp)]).findings
    assert not {"csp-broad-source", "csp-frame-ancestors-broad", "frame-protection-missing"} & {f.rule for f in findings}


@pytest.mark.parametrize("csp, xfo, result", [
    ("frame-ancestors *", "DENY", "x-frame-options-not-implemented"),  # XFO ignored, CSP admits all
    ("frame-ancestors https://*", "SAMEORIGIN", "x-frame-options-not-implemented"),
    ("frame-ancestors 'none'", "ALLOWALL", "x-frame-options-implemented-via-csp"),  # XFO ignored, CSP protects
    ("script-src 'self'", "DENY", "x-frame-options-sameorigin-or-deny"),  # no frame-ancestors: XFO counts
])
def test_the_grade_ignores_x_frame_options_beside_frame_ancestors(engine, csp, xfo, result):
    outcome = assess(engine, [("Content-Type", "text/html"), ("Content-Security-Policy", csp), ("X-Frame-Options", xfo)])
    assert {r.test: r.result for r in outcome.grade.outcomes}["x-frame-options"] == result


# CSP Evaluator's SCRIPT_ALLOWLIST_BYPASS / OBJECT_ALLOWLIST_BYPASS, NONCE_LENGTH, IP_SOURCE,
# with CSP3 source matching (§6.7.2.8) and 'strict-dynamic' (§8.2).
DEPTH = [
    ("script-src 'self' ajax.googleapis.com; object-src 'none'", {("csp-allowlist-bypass", "script-src: ajax.googleapis.com")}),
    ("script-src https://*.googleapis.com; object-src 'none'", {("csp-allowlist-bypass", "script-src: https://*.googleapis.com")}),
    ("default-src cdnjs.cloudflare.com", {("csp-allowlist-bypass", "default-src: cdnjs.cloudflare.com")}),  # via fallback
    # A path ending in "/" is a prefix; this one holds none of the known files.
    ("script-src cdnjs.cloudflare.com/ajax/libs/jquery/; object-src 'none'", set()),
    # 'strict-dynamic' with a nonce voids host sources: no bypass.
    ("script-src 'nonce-abcdefgh1234' 'strict-dynamic' ajax.googleapis.com; object-src 'none'", set()),
    # A JSONP endpoint that needs eval is a bypass only with 'unsafe-eval'.
    ("script-src www.google-analytics.com; object-src 'none'", set()),
    ("script-src www.google-analytics.com 'unsafe-eval'; object-src 'none'",
     {("csp-allowlist-bypass", "script-src: www.google-analytics.com")}),
    # A second enforced policy without the host blocks it (CSP3 §2.2.2).
    ("script-src ajax.googleapis.com; object-src 'none', script-src 'self'", set()),
    ("script-src 'self'; object-src vk.com", {("csp-allowlist-bypass", "object-src: vk.com")}),  # Flash
    ("script-src 'nonce-abc1234'; object-src 'none'", {("csp-nonce-short", "script-src: 'nonce-xxxxxxx'")}),
    ("script-src 'nonce-abcd1234'; object-src 'none'", set()),  # 8 characters: long enough
    ("script-src 'self' 10.0.0.1 https://192.168.1.1:8443; object-src 'none'",
     {("csp-ip-source", "script-src: 10.0.0.1"), ("csp-ip-source", "script-src: https://192.168.1.1:8443")}),
]


@pytest.mark.parametrize("csp, expected", DEPTH)
def test_csp_evaluator_depth(engine, csp, expected):
    findings = assess(engine, [("Content-Type", "text/html"), ("Content-Security-Policy", csp)]).findings
    got = {(f.rule, f.evidence) for f in findings if f.rule in ("csp-allowlist-bypass", "csp-nonce-short", "csp-ip-source")}
    assert got == expected


def test_every_bypass_entry_names_its_public_source():
    from headeraudit.csp_bypasses import known
    entries = known()
    assert len(entries) > 100 and {e.kind for e in entries} == {"jsonp", "angular", "flash"}
    assert all(e.source.startswith("CSP Evaluator ") and "github.com/google/csp-evaluator" in e.source for e in entries)


@pytest.mark.parametrize("csp, evidence", [
    # CSP3 §6.1.2: script-src-elem governs <script> elements, whatever script-src says.
    ("script-src 'nonce-abcdefgh12' 'strict-dynamic'; script-src-elem 'unsafe-inline'; object-src 'none'",
     "script-src-elem: 'unsafe-inline'"),
    # §6.1.3: script-src-attr governs event handlers.
    ("script-src 'self'; script-src-attr 'unsafe-inline'; object-src 'none'", "script-src-attr: 'unsafe-inline'"),
    # Falling back to script-src, one finding says it for all three.
    ("script-src 'unsafe-inline'; object-src 'none'", "script-src: 'unsafe-inline'"),
])
def test_inline_script_is_judged_where_the_browser_looks(engine, csp, evidence):
    outcome = assess(engine, [("Content-Type", "text/html"), ("Content-Security-Policy", csp)])
    inline = [f.evidence for f in outcome.findings if f.rule == "csp-unsafe-inline"]
    assert inline == [evidence]
    assert {r.test: r.result for r in outcome.grade.outcomes}["content-security-policy"] == "csp-implemented-with-unsafe-inline"
