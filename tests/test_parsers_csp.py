"""Content-Security-Policy parser tests (CSP Level 3, https://www.w3.org/TR/CSP3/)."""

from __future__ import annotations

import sys
from pathlib import Path

_ADDON = str(Path(__file__).resolve().parents[1] / "addon")
if _ADDON not in sys.path:  # the package is not necessarily pip-installed
    sys.path.insert(0, _ADDON)

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from headeraudit.parsers import FALLBACKS, Policy, allows, parse_csp, scheme_of  # noqa: E402


def one(value: str) -> Policy:
    (policy,) = parse_csp([value])
    return policy


def codes(p: Policy) -> list[str]:
    return [x.code for x in p.problems]


# --- splitting into policies (§2.2.2) ---------------------------------------------------


def test_csp_comma_joined_policies_become_separate_policies():
    # §2.2.2: the header is a list of serialized policies; each is enforced, none merged.
    a, b = parse_csp(["script-src 'self', object-src 'none'"])
    assert a.directives == {"script-src": ("'self'",)}
    assert b.directives == {"object-src": ()}
    assert a.raw == "script-src 'self'" and b.raw == "object-src 'none'"


def test_csp_separate_lines_become_separate_policies():
    policies = parse_csp(["default-src 'self'", "img-src *"])
    assert [p.raw for p in policies] == ["default-src 'self'", "img-src *"]


def test_csp_empty_policies_are_dropped():
    assert parse_csp([]) == ()
    assert parse_csp([""]) == ()
    assert parse_csp([" , ,"]) == ()
    assert [p.raw for p in parse_csp(["a-src x, , b-src y"])] == ["a-src x", "b-src y"]


def test_csp_bare_string_is_treated_as_one_line():
    # A str is a Sequence[str]; it must not be read character by character.
    assert [p.raw for p in parse_csp("default-src 'none'")] == ["default-src 'none'"]  # type: ignore[arg-type]


# --- directives (§2.2.1) ------------------------------------------------------------------


def test_csp_directive_names_are_lowercased():
    p = one("SCRIPT-SRC 'SELF' HTTPS:; Default-Src *")
    assert p.directives == {"script-src": ("'self'", "https:"), "default-src": ("*",)}
    assert p.has("script-src") and p.has("Script-Src")


def test_csp_repeated_directive_first_wins_with_problem():
    # §2.2.1 step 2.5: a later duplicate is ignored.
    p = one("script-src 'none'; script-src *")
    assert p.directives["script-src"] == ()
    assert codes(p) == ["directive.repeated"] and "script-src" in p.problems[0].detail


def test_csp_trailing_colon_directive_name_is_invalid_and_skipped():
    # §2.2 directive-name = 1*( ALPHA / DIGIT / "-" ); "script-src:" is not one.
    p = one("script-src: 'self'; default-src 'none'")
    assert not p.has("script-src") and not p.has("script-src:")
    assert codes(p) == ["directive.invalid_name"]
    assert p.effective("script-src") == ()


def test_csp_unknown_directive_is_kept_with_problem():
    p = one("foo-bar baz QUX")
    assert p.directives == {"foo-bar": ("baz", "QUX")}
    assert codes(p) == ["directive.unknown"]


def test_csp_deprecated_directives_are_flagged():
    p = one("block-all-mixed-content; plugin-types application/pdf; referrer no-referrer; report-uri /r")
    assert codes(p) == ["directive.deprecated"] * 3
    assert p.has("report-uri") and p.directives["plugin-types"] == ("application/pdf",)


def test_csp_non_ascii_directive_is_skipped_per_2_2_1():
    # §2.2.1 step 2.2: "if token is not an ASCII string, continue": the directive is dropped
    # (so script-src then falls back to default-src), the rest of the policy still applies.
    p = one("default-src 'self'; script-src https://ex\u00e4mple.com; img-src *")
    assert not p.has("script-src") and p.has("img-src")
    assert codes(p) == ["syntax.non_ascii"]
    assert p.effective("script-src") == ("'self'",)


def test_csp_control_character_is_reported_and_its_token_dropped():
    p = one("script-src 'self' https://a.com\x00")
    assert p.directives["script-src"] == ("'self'",)
    assert codes(p) == ["syntax.non_ascii", "source.invalid"]


def test_csp_only_ascii_whitespace_separates_tokens():
    # Infra ASCII whitespace is TAB LF FF CR SPACE; VT is not, so "a\x0bb" is one (bad) token.
    p = one("img-src\ta.com\x0cb.com\x0bc.com")
    assert p.directives["img-src"] == ("a.com",)
    assert "source.invalid" in codes(p)


# --- source expressions (§2.3.1) ------------------------------------------------------------


def test_csp_keywords_and_schemes_are_lowercased_hosts_keep_case():
    p = one("script-src 'UNSAFE-EVAL' HTTPS: WSS://Example.COM:443/Path 'NONCE-AbCd==' 'SHA256-Zz+/='")
    assert p.directives["script-src"] == (
        "'unsafe-eval'",
        "https:",
        "wss://Example.COM:443/Path",
        "'nonce-AbCd=='",
        "'sha256-Zz+/='",
    )
    assert p.problems == ()


@pytest.mark.parametrize(
    "token",
    ["*", "*.example.com", "example.com.", "https://*.a.b:*", "a.com:8080/x/y", "data:", "web+foo:", "self"],
)
def test_csp_valid_host_and_scheme_sources_are_kept(token):
    # §2.3.1 host-source = [ scheme-part "://" ] host-part [ ":" port-part ] [ path-part ].
    p = one(f"img-src {token}")
    assert p.directives["img-src"] == (token,)


@pytest.mark.parametrize(
    "token",
    ["'unknown-kw'", "'nonce-'", "http://", "*.*.", ":443", "'sha256-!!!'", "'sha1-abc'", "'self", "a..b", "https://a.com:x", "http://[::1]"],
)
def test_csp_malformed_sources_are_skipped_with_problem(token):
    p = one(f"script-src 'self' {token}")
    assert p.directives["script-src"] == ("'self'",)
    assert codes(p) == ["source.invalid"]


def test_csp_unquoted_keyword_is_a_host_with_warning():
    # `self` without quotes is a valid host-source named "self" (§2.3.1), almost always a typo.
    p = one("script-src self none")
    assert p.directives["script-src"] == ("self", "none")
    assert codes(p) == ["source.unquoted_keyword", "source.unquoted_keyword"]


def test_csp_none_with_other_sources_is_ignored():
    # §6.7.2 note: 'none' has no effect when other source expressions are present.
    p = one("script-src 'none' https://a.com")
    assert p.directives["script-src"] == ("https://a.com",)
    assert codes(p) == ["source.none_with_others"]


def test_csp_empty_source_list_means_nothing_allowed():
    # An empty source list is equivalent to 'none' (§6.7.2 note).
    p = one("default-src")
    assert p.directives["default-src"] == ()
    assert p.effective("img-src") == ()
    assert not allows(p, "img-src", "*")


# --- fallback lists (§6.8.3) --------------------------------------------------------------


def test_csp_fallback_script_src_elem_to_script_src_to_default_src():
    assert FALLBACKS["script-src-elem"] == ("script-src-elem", "script-src", "default-src")
    p = one("default-src 'self'")
    assert p.effective("script-src-elem") == ("'self'",)
    p = one("default-src 'self'; script-src https:")
    assert p.effective("script-src-elem") == ("https:",)
    p = one("default-src 'self'; script-src https:; script-src-elem 'none'")
    assert p.effective("script-src-elem") == ()


def test_csp_fallback_worker_src_chain():
    assert FALLBACKS["worker-src"] == ("worker-src", "child-src", "script-src", "default-src")
    assert one("default-src a.com").effective("worker-src") == ("a.com",)
    assert one("default-src a.com; script-src b.com").effective("worker-src") == ("b.com",)
    assert one("default-src a.com; script-src b.com; child-src c.com").effective("worker-src") == ("c.com",)


def test_csp_fallback_frame_src_via_child_src():
    assert one("default-src a.com; child-src c.com").effective("frame-src") == ("c.com",)


@pytest.mark.parametrize("name", ["frame-ancestors", "form-action", "base-uri", "sandbox", "report-to"])
def test_csp_navigation_and_document_directives_do_not_fall_back(name):
    # §6.8.3 returns no fallback for these: default-src does not govern them.
    p = one("default-src 'none'")
    assert p.effective(name) is None
    assert allows(p, name, "*")


def test_csp_effective_is_none_when_nothing_restricts():
    assert one("img-src *").effective("script-src") is None


# --- allows() -------------------------------------------------------------------------------


def test_allows_unrestricted_directive_allows_everything():
    p = one("img-src 'self'")
    assert allows(p, "script-src", "'unsafe-eval'")
    assert allows(p, "script-src", "'unsafe-inline'")
    assert allows(p, "script-src", "data:")


def test_allows_unsafe_inline_ignored_with_nonce():
    # §6.7.3.3 "does a source list allow all inline behavior": a nonce disables 'unsafe-inline'.
    p = one("script-src 'unsafe-inline' 'nonce-abc123'")
    assert not allows(p, "script-src", "'unsafe-inline'")
    assert allows(one("script-src 'unsafe-inline'"), "script-src", "'unsafe-inline'")


def test_allows_unsafe_inline_ignored_with_hash():
    p = one("style-src 'unsafe-inline' 'sha256-AAAA'")
    assert not allows(p, "style-src-attr", "'unsafe-inline'")


def test_allows_strict_dynamic_ignores_hosts_self_and_unsafe_inline():
    # §8.2 'strict-dynamic': host- and scheme-sources, 'self' and 'unsafe-inline' are ignored.
    p = one("script-src 'strict-dynamic' 'self' https: * 'unsafe-inline' 'unsafe-eval'")
    for source in ("'self'", "https:", "*", "'unsafe-inline'"):
        assert not allows(p, "script-src", source), source
    assert allows(p, "script-src", "'unsafe-eval'")
    assert allows(p, "script-src-elem", "'strict-dynamic'")


def test_allows_strict_dynamic_in_default_src_applies_to_scripts_only():
    p = one("default-src 'strict-dynamic' 'self' https:")
    assert not allows(p, "script-src-elem", "https:")
    assert not allows(p, "worker-src", "'self'")
    assert allows(p, "img-src", "https:")  # not a script directive: literal match


def test_allows_star_does_not_allow_data_or_blob_or_keywords():
    # CSP3 "does url match expression": "*" excludes data:, blob:, filesystem: and keywords.
    p = one("img-src *")
    assert allows(p, "img-src", "*")
    assert not allows(p, "img-src", "data:")
    assert not allows(p, "img-src", "blob:")
    assert not allows(p, "img-src", "'unsafe-inline'")
    assert allows(one("img-src * data:"), "img-src", "data:")


def test_allows_is_case_insensitive():
    p = one("script-src 'UNSAFE-EVAL' DATA:")
    assert allows(p, "SCRIPT-SRC", "'unsafe-eval'")
    assert allows(p, "script-src", "Data:")


def test_scheme_of_scheme_and_host_sources():
    assert scheme_of("HTTP:") == "http"
    assert scheme_of("http://a.com") == "http"
    assert scheme_of("ws://x") == "ws"
    assert scheme_of("a.com") is None
    assert scheme_of("'self'") is None
    assert scheme_of("*") is None


def test_csp_huge_policy_does_not_crash():
    big = "script-src " + " ".join(f"h{i}.example.com" for i in range(10_000)) + " " + "x" * 100_000
    (p,) = parse_csp([big])
    assert len(p.directives["script-src"]) == 10_001


_TEXT = st.one_of(
    st.text(),
    st.binary().map(lambda b: b.decode("latin-1")),
    st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.text(alphabet=st.sampled_from(list(" \t;,:'*./-abcdefimnorstuwxy0123456789=+")), max_size=80),
)


@settings(max_examples=200, deadline=None)
@given(_TEXT, _TEXT)
def test_csp_property_never_raises_and_is_deterministic(a, b):
    policies = parse_csp([a, b])
    assert policies == parse_csp([a, b])
    for p in policies:
        for name in ("script-src-elem", "img-src", "frame-ancestors"):
            p.effective(name)
            assert isinstance(allows(p, name, "'unsafe-inline'"), bool)
        for tokens in p.directives.values():
            for token in tokens:
                scheme_of(token)
