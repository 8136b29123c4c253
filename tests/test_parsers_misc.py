"""Referrer-Policy, X-Frame-Options, RFC 8941 Items and generic directive-list tests."""

from __future__ import annotations

import sys
from pathlib import Path

_ADDON = str(Path(__file__).resolve().parents[1] / "addon")
if _ADDON not in sys.path:  # the package is not necessarily pip-installed
    sys.path.insert(0, _ADDON)

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from headeraudit.parsers import (  # noqa: E402
    POLICIES,
    FrameOptions,
    ReferrerPolicy,
    SfItem,
    Token,
    parse_directives,
    parse_item,
    parse_referrer_policy,
    parse_token_header,
    parse_xfo,
)

_TEXT = st.one_of(
    st.text(),
    st.binary().map(lambda b: b.decode("latin-1")),
    st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.text(alphabet=st.sampled_from(list(' \t,;="\\:?*-.01239abcdeilnorsuwyADENY')), max_size=40),
)


def codes(items) -> list[str]:
    return [p.code for p in items]


# --- Referrer-Policy (W3C Referrer Policy §8.1) -------------------------------------------------


def test_referrer_unknown_token_is_skipped():
    # §8.1: only recognised tokens set the policy; "whimsy" is ignored.
    assert parse_referrer_policy(["no-referrer, whimsy"]) == ReferrerPolicy("no-referrer", ("whimsy",))


def test_referrer_last_recognised_token_wins():
    # §8.1: each recognised token overwrites the policy, so the last one is effective.
    assert parse_referrer_policy(["origin-when-cross-origin, no-referrer, unsafe-url"]).policy == "unsafe-url"


def test_referrer_two_lines_form_one_list():
    rp = parse_referrer_policy(["no-referrer", "strict-origin-when-cross-origin, foo"])
    assert rp == ReferrerPolicy("strict-origin-when-cross-origin", ("foo",))


def test_referrer_tokens_are_compared_literally_per_spec():
    # The spec compares tokens as-is; Chromium/WebKit lowercase first (see module docstring).
    rp = parse_referrer_policy(["No-Referrer"])
    assert rp == ReferrerPolicy(None, ("No-Referrer",))


def test_referrer_empty_and_absent():
    assert parse_referrer_policy([]) == ReferrerPolicy(None, ())
    assert parse_referrer_policy(["", " , ,"]) == ReferrerPolicy(None, ())


def test_referrer_policies_constant_has_the_eight_policies():
    assert len(POLICIES) == 8 and "strict-origin-when-cross-origin" in POLICIES


@settings(max_examples=200, deadline=None)
@given(st.lists(_TEXT, max_size=3))
def test_referrer_property_never_raises_and_is_deterministic(lines):
    rp = parse_referrer_policy(lines)
    assert rp == parse_referrer_policy(lines)
    assert rp.policy is None or rp.policy in POLICIES


# --- X-Frame-Options (HTML "check a navigation response's adherence to X-Frame-Options") ---------


@pytest.mark.parametrize(
    "lines, state, problem_codes",
    [
        ([], "absent", []),
        ([""], "absent", []),
        (["  "], "absent", []),
        (["DENY"], "deny", []),
        (["sameorigin"], "sameorigin", []),
        (["SAMEORIGIN, SAMEORIGIN"], "sameorigin", ["xfo.repeated"]),  # the set dedupes
        (["DENY", "deny"], "deny", ["xfo.repeated"]),
        (["DENY, SAMEORIGIN"], "conflict", ["xfo.conflict"]),  # >1 member incl. a known one
        (["deny", "foo"], "conflict", ["xfo.conflict"]),
        (["DENY,"], "conflict", ["xfo.conflict"]),  # the empty member counts
        (["foo, bar"], "invalid", ["xfo.invalid"]),  # >1 unknown members: ignored
        (["ALLOWALL"], "allowall", ["xfo.allowall"]),
        (["ALLOW-FROM https://a.example"], "invalid", ["xfo.allow_from"]),
        (["nonsense"], "invalid", ["xfo.invalid"]),
        (['"DENY"'], "invalid", ["xfo.invalid"]),  # quotes are kept by "get, decode, and split"
    ],
)
def test_xfo_states(lines, state, problem_codes):
    fo = parse_xfo(lines)
    assert fo.state == state
    assert codes(fo.problems) == problem_codes


def test_xfo_values_are_distinct_lowercased_in_order():
    assert parse_xfo(["SameOrigin", "DENY, sameorigin"]).values == ("sameorigin", "deny")


def test_xfo_conflict_is_not_fatal():
    assert not parse_xfo(["deny", "sameorigin"]).problems[0].fatal


def test_xfo_quoted_comma_does_not_split():
    # Fetch "get, decode, and split" keeps quoted strings (with their commas) whole.
    fo = parse_xfo(['"deny, sameorigin"'])
    assert fo.values == ('"deny, sameorigin"',) and fo.state == "invalid"


@settings(max_examples=200, deadline=None)
@given(st.lists(_TEXT, max_size=3))
def test_xfo_property_never_raises_and_is_deterministic(lines):
    fo = parse_xfo(lines)
    assert isinstance(fo, FrameOptions) and fo == parse_xfo(lines)
    assert fo.state in {"deny", "sameorigin", "conflict", "allowall", "invalid", "absent"}


# --- RFC 8941 Items ---------------------------------------------------------------------------


def test_sf_token_with_params():
    item = parse_item('same-origin; report-to="default"; x; y=?0')
    assert item == SfItem(Token("same-origin"), (("report-to", "default"), ("x", True), ("y", False)))
    assert isinstance(item.value, Token) and not isinstance(item.params[0][1], Token)


def test_sf_repeated_param_overwrites_in_place():
    # §4.2.3.2: a repeated key overwrites the value; order follows the first occurrence.
    assert parse_item("a;x=1;y=2;x=3").params == (("x", 3), ("y", 2))


@pytest.mark.parametrize(
    "text, value",
    [
        ("42", 42),  # §3.3.1
        ("-42", -42),
        ("0042", 42),
        ("999999999999999", 999999999999999),  # 15 digits is the maximum
        ("4.5", 4.5),  # §3.3.2
        ("-0.125", -0.125),
        ("123456789012.123", 123456789012.123),  # 12 integer + 3 fractional digits
        ('"hello world"', "hello world"),  # §3.3.3
        (r'"say \"hi\" \\ bye"', 'say "hi" \\ bye'),
        ('""', ""),
        ("foo123/456", Token("foo123/456")),  # §3.3.4
        ("*foo:bar", Token("*foo:bar")),
        (":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:", b"pretend this is binary content."),  # §3.3.5
        (":aGk:", b"hi"),  # padding may be omitted (§4.2.7)
        ("::", b""),
        ("?1", True),  # §3.3.6
        ("?0", False),
        ("  foo  ", Token("foo")),  # leading/trailing SP discarded (§4.2)
    ],
)
def test_sf_rfc8941_bare_items(text, value):
    item = parse_item(text)
    assert item.value == value and type(item.value) is type(value)


@pytest.mark.parametrize(
    "text",
    [
        "",  # empty item
        "1234567890123456",  # integer > 15 digits
        "1234567890123.0",  # decimal with > 12 integer digits
        "1.2345",  # > 3 fractional digits
        "1.",  # ends with "."
        "-",  # sign alone
        "- 1",
        '"unterminated',
        '"bad \\x escape"',  # only \" and \\ may be escaped
        '"tab\tinside"',  # controls not allowed in strings
        '"caf\u00e9"',  # non-ASCII field value
        ":not base64!:",
        ":aGk",  # unterminated byte sequence
        "?2",
        "?",
        "a, b",  # a List, not an Item
        "foo;",  # parameter without key
        "foo;Key=1",  # keys are lowercase
        "foo bar",  # junk after the item
        "\tfoo",  # only SP is discarded, not HTAB
        "@123",  # Date is RFC 9651, not RFC 8941
    ],
)
def test_sf_rfc8941_failures_raise_value_error(text):
    with pytest.raises(ValueError):
        parse_item(text)


def test_sf_token_header_accepts_allowed_token_with_params():
    assert parse_token_header(['same-origin; report-to="coop"'], {"same-origin"}) == ("same-origin", ())


def test_sf_token_header_quoted_string_is_not_a_token():
    value, problems = parse_token_header(['"same-origin"'], {"same-origin"})
    assert value is None and codes(problems) == ["sf.not_token"] and problems[0].fatal


def test_sf_token_header_two_lines_are_invalid():
    # RFC 8941 §4.2: lines are combined with ", ", which is not a single Item: ignore the field.
    value, problems = parse_token_header(["same-origin", "same-origin"], {"same-origin"})
    assert value is None and codes(problems) == ["sf.invalid"] and problems[0].fatal


def test_sf_token_header_unknown_token_is_returned_with_problem():
    value, problems = parse_token_header(["same-site"], {"same-origin", "cross-origin"})
    assert value == "same-site" and codes(problems) == ["sf.unknown_value"]


def test_sf_token_header_tokens_are_case_sensitive():
    assert codes(parse_token_header(["Same-Origin"], {"same-origin"})[1]) == ["sf.unknown_value"]


def test_sf_token_header_absent_and_empty():
    assert parse_token_header([], {"x"}) == (None, ())
    value, problems = parse_token_header([""], {"x"})
    assert value is None and codes(problems) == ["sf.invalid"]


@settings(max_examples=200, deadline=None)
@given(_TEXT)
def test_sf_property_only_value_error_and_deterministic(text):
    try:
        first = parse_item(text)
    except ValueError:
        with pytest.raises(ValueError):
            parse_item(text)
    else:
        assert first == parse_item(text)
    assert parse_token_header([text], {"same-origin"}) == parse_token_header([text], {"same-origin"})


# --- generic directive lists (RFC 9111 §5.2) ---------------------------------------------------


def test_directives_names_lowercased_values_and_flags():
    assert parse_directives(["No-Store, MAX-AGE=60, must-revalidate"]) == {
        "no-store": None,
        "max-age": "60",
        "must-revalidate": None,
    }


def test_directives_quoted_values_are_unquoted_and_may_contain_separator():
    # RFC 9111 §5.2: cache-directive = token [ "=" ( token / quoted-string ) ].
    d = parse_directives(['private="Set-Cookie, X-Foo", s-maxage="1\\"0"'])
    assert d == {"private": "Set-Cookie, X-Foo", "s-maxage": '1"0'}


def test_directives_first_occurrence_wins():
    # RFC 9111 §4.2.1: "either the first occurrence should be used or ... stale".
    assert parse_directives(["max-age=60, max-age=0", "MAX-AGE=5"]) == {"max-age": "60"}


def test_directives_empty_items_skipped_and_empty_value_kept():
    assert parse_directives([", ,a=, =x,"]) == {"a": ""}


def test_directives_semicolon_separator():
    assert parse_directives(["a=1; B; c=\"x;y\""], separator=";") == {"a": "1", "b": None, "c": "x;y"}


@settings(max_examples=200, deadline=None)
@given(st.lists(_TEXT, max_size=3), st.sampled_from([",", ";"]))
def test_directives_property_never_raises_and_is_deterministic(lines, sep):
    assert parse_directives(lines, sep) == parse_directives(lines, sep)


# RFC 9110 §10.2.4 Server = product *( RWS ( product / comment ) ): what names a release.
PRODUCTS = [
    ("nginx/1.25.3", ("nginx/1.25.3",)),
    ("Apache/2.4.41 (Ubuntu)", ("Apache/2.4.41", "(Ubuntu)")),  # a version and an OS comment
    ("Apache (Ubuntu)", ("(Ubuntu)",)),  # ServerTokens OS: the OS alone
    ("Microsoft-IIS/10.0", ("Microsoft-IIS/10.0",)),
    ("Apache 2.4", ("2.4",)),  # a bare version is a product token of digits
    ("Jetty(9.4.z-SNAPSHOT)", ("(9.4.z-SNAPSHOT)",)),  # a version inside a comment
    ("Werkzeug/3.0.1 Python/3.12.1", ("Werkzeug/3.0.1", "Python/3.12.1")),
    ("Apache/2.4 (Win64) OpenSSL/3.1", ("Apache/2.4", "OpenSSL/3.1", "(Win64)")),
    ("AmazonS3", ()),  # digits in a product name are no version
    ("hypercorn-h2", ()),
    ("ECS (dcb/7F83)", ()),  # a comment of opaque ids
    ("nginx", ()),
    ("cloudflare", ()),
    ("gws", ()),
    ("envoy/", ()),  # an empty product-version
    ("Apache (a (nested) comment) x/1", ("x/1",)),  # comments nest (§5.6.5)
    ("(unclosed comment 1.2", ("(unclosed comment 1.2)",)),
]


@pytest.mark.parametrize("value, disclosed", PRODUCTS)
def test_what_a_product_list_discloses(value, disclosed):
    from headeraudit.parsers.products import parse_products
    assert parse_products(value).disclosed() == disclosed


@pytest.mark.parametrize("value, fires", [("nginx/1.25.3", True), ("AmazonS3", False), ("ECS (dcb/7F83)", False),
                                          ("Apache (Debian)", True)])
def test_server_version_disclosure_reads_the_product_list(value, fires):
    from auditing import assess
    from headeraudit.audit import Auditor
    from headeraudit.rules import load_ruleset
    findings = assess(Auditor(load_ruleset()), [("Content-Type", "text/plain"), ("Server", value)]).findings
    assert ("server-version-disclosure" in {f.rule for f in findings}) is fires
