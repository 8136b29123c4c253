"""Set-Cookie parser tests (RFC 6265bis §5.6 parsing, §5.1.1 dates, §4.1.3 prefixes)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

_ADDON = str(Path(__file__).resolve().parents[1] / "addon")
if _ADDON not in sys.path:  # the package is not necessarily pip-installed
    sys.path.insert(0, _ADDON)

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from headeraudit.parsers import SetCookie, parse_set_cookie  # noqa: E402

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
OCT21 = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)


def codes(items) -> list[str]:
    return [p.code for p in items]


def test_cookie_full_line_parses_every_attribute():
    c = parse_set_cookie(
        "id=a3fWa; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Max-Age=3600; Domain=.Example.COM; "
        "Path=/app; Secure; HttpOnly; SameSite=Lax; Partitioned"
    )
    assert (c.name, c.value) == ("id", "a3fWa")
    assert c.secure and c.httponly and c.samesite == "lax"
    assert c.domain == "example.com"  # §5.6.3: leading "." removed, lowercased
    assert c.path == "/app" and c.expires == OCT21 and c.max_age == 3600
    assert c.problems == ()


def test_cookie_without_equals_has_empty_name():
    # §5.6 step 3: no "=" => name-string empty, value-string is the whole pair.
    c = parse_set_cookie("  justavalue ; Secure")
    assert (c.name, c.value, c.secure) == ("", "justavalue", True)
    assert codes(c.problems) == ["cookie.no_equals"] and not c.problems[0].fatal


def test_cookie_value_keeps_everything_after_first_equals_and_is_trimmed():
    c = parse_set_cookie(" a = b=c ")
    assert (c.name, c.value) == ("a", "b=c")


def test_cookie_quoted_value_keeps_its_quotes():
    # §5.6 does not strip DQUOTEs: they are part of the cookie-value (RFC 6265 §4.1.1).
    assert parse_set_cookie('a="q v"; Path=/').value == '"q v"'


def test_cookie_attribute_names_are_case_insensitive():
    c = parse_set_cookie("a=b; SECURE; httponly; sAmEsItE=STRICT; PATH=/; mAx-AgE=5")
    assert c.secure and c.httponly and c.samesite == "strict" and c.path == "/" and c.max_age == 5


def test_cookie_flags_are_set_even_with_a_value():
    # §5.6.5/§5.6.6: Secure and HttpOnly ignore their attribute-value.
    c = parse_set_cookie("a=b; Secure=false; HttpOnly=0")
    assert c.secure and c.httponly


def test_cookie_last_attribute_wins():
    # §5.7: "the last attribute in the cookie-attribute-list with an attribute-name of X".
    c = parse_set_cookie("a=b; Path=/one; SameSite=Strict; Path=/two; SameSite=None; Domain=a.com; Domain=b.com")
    assert (c.path, c.samesite, c.domain) == ("/two", "none", "b.com")


def test_cookie_ignored_attribute_does_not_override_earlier_valid_one():
    # An unparseable Expires / Max-Age is ignored (§5.6.1, §5.6.2), so it never gets appended.
    c = parse_set_cookie("a=b; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Expires=soon; Max-Age=7; Max-Age=x")
    assert c.expires == OCT21 and c.max_age == 7
    assert codes(c.problems) == ["expires.invalid", "max_age.invalid"]


def test_cookie_samesite_is_stored_lowercased_raw():
    assert parse_set_cookie("a=b; SameSite").samesite == ""
    c = parse_set_cookie("a=b; SameSite=Bogus")
    assert c.samesite == "bogus" and codes(c.problems) == ["samesite.invalid"]
    assert parse_set_cookie("a=b").samesite is None


def test_cookie_empty_domain_is_ignored():
    # §5.6.3: "the user agent SHOULD ignore the cookie-av entirely" if the value is empty.
    assert parse_set_cookie("a=b; Domain=").domain is None


def test_cookie_path_not_starting_with_slash_means_default_path():
    # §5.6.4: such a value is replaced by the default-path, so Path is effectively absent.
    c = parse_set_cookie("a=b; Path=foo")
    assert c.path is None and codes(c.problems) == ["path.invalid"]


def test_cookie_expires_in_past_is_deletion():
    c = parse_set_cookie("a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    assert c.expires == datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert c.is_deletion(NOW)
    assert not parse_set_cookie("a=b; Expires=Fri, 01 Jan 2100 00:00:00 GMT").is_deletion(NOW)


def test_cookie_max_age_zero_or_negative_is_deletion():
    # §5.6.2: delta-seconds <= 0 => expiry-time is the earliest representable date.
    assert parse_set_cookie("a=b; Max-Age=0").is_deletion(NOW)
    assert parse_set_cookie("a=b; Max-Age=-1").max_age == -1
    assert parse_set_cookie("a=b; Max-Age=-1").is_deletion(NOW)
    assert not parse_set_cookie("a=b; Max-Age=10").is_deletion(NOW)


def test_cookie_max_age_beats_expires():
    # §5.7: Max-Age takes precedence over Expires whatever their order.
    assert not parse_set_cookie("a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=100").is_deletion(NOW)
    assert parse_set_cookie("a=b; Max-Age=0; Expires=Fri, 01 Jan 2100 00:00:00 GMT").is_deletion(NOW)


def test_cookie_is_deletion_accepts_naive_now_as_utc():
    c = parse_set_cookie("a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    assert c.is_deletion(datetime(2000, 1, 1))


def test_cookie_no_expiry_is_not_deletion():
    assert not parse_set_cookie("a=b").is_deletion(NOW)


@pytest.mark.parametrize("bad", ["+5", "5s", "1.5", "", "-", "--1"])
def test_cookie_max_age_must_be_optional_minus_and_digits(bad):
    # §5.6.2: first char DIGIT or "-", the rest DIGITs, else the cookie-av is ignored.
    c = parse_set_cookie(f"a=b; Max-Age={bad}")
    assert c.max_age is None and codes(c.problems) == ["max_age.invalid"]


@pytest.mark.parametrize(
    "text",
    [
        "Wed, 21 Oct 2015 07:28:00 GMT",  # RFC 1123 (IMF-fixdate)
        "Wednesday, 21-Oct-15 07:28:00 GMT",  # RFC 850, two-digit year
        "Wed Oct 21 07:28:00 2015",  # asctime
        "21 oct 2015 7:28:0",  # one-digit time fields, lowercase month
        "Wed, 21-October-2015 07:28:00 UTC",  # long month name: only the first 3 letters count
    ],
)
def test_cookie_date_formats(text):
    # §5.1.1: tokens are classified as time / day / month / year, in any order.
    assert parse_set_cookie(f"a=b; Expires={text}").expires == OCT21


def test_cookie_two_digit_years():
    # §5.1.1: 70-99 => 19xx, 00-69 => 20xx.
    assert parse_set_cookie("a=b; Expires=Thu, 01-Jan-70 00:00:00 GMT").expires.year == 1970
    assert parse_set_cookie("a=b; Expires=Sat, 01-Jan-69 00:00:00 GMT").expires.year == 2069
    assert parse_set_cookie("a=b; Expires=Sat, 01-Jan-00 00:00:00 GMT").expires.year == 2000


@pytest.mark.parametrize(
    "text",
    [
        "Wed, 31 Feb 2015 07:28:00 GMT",  # date does not exist
        "Wed, 21 Oct 1600 07:28:00 GMT",  # year < 1601
        "Wed, 21 Oct 2015 24:00:00 GMT",  # hour > 23
        "Wed, 21 Oct 2015 GMT",  # no time
        "tomorrow",
        "",
    ],
)
def test_cookie_unparseable_expires_is_ignored(text):
    c = parse_set_cookie(f"a=b; Expires={text}")
    assert c.expires is None and codes(c.problems) == ["expires.invalid"]


# --- prefixes (§4.1.3) ------------------------------------------------------------------------


def test_prefix_secure_requires_secure():
    assert codes(parse_set_cookie("__Secure-a=1").prefix_problems()) == ["prefix.secure_missing"]
    assert parse_set_cookie("__Secure-a=1; Secure").prefix_problems() == ()


def test_prefix_host_requires_secure_root_path_and_no_domain():
    assert parse_set_cookie("__Host-a=1; Secure; Path=/").prefix_problems() == ()
    problems = parse_set_cookie("__Host-a=1; Path=/x; Domain=example.com").prefix_problems()
    assert codes(problems) == ["prefix.secure_missing", "prefix.path_not_root", "prefix.domain_present"]
    assert all(p.fatal and "__Host-a" in p.detail for p in problems)
    assert codes(parse_set_cookie("__Host-a=1; Secure").prefix_problems()) == ["prefix.path_not_root"]


def test_prefix_matching_is_case_insensitive():
    # 6265bis matches prefixes case-insensitively ("__host-" is a __Host- cookie).
    assert codes(parse_set_cookie("__host-a=1; Secure; Path=/; Domain=a.com").prefix_problems()) == [
        "prefix.domain_present"
    ]
    assert codes(parse_set_cookie("__SECURE-a=1").prefix_problems()) == ["prefix.secure_missing"]


def test_prefix_http_requires_secure_and_httponly():
    assert codes(parse_set_cookie("__Http-a=1").prefix_problems()) == [
        "prefix.secure_missing",
        "prefix.httponly_missing",
    ]
    assert parse_set_cookie("__Http-a=1; Secure; HttpOnly").prefix_problems() == ()


def test_prefix_host_http_requires_host_rules_plus_httponly():
    assert codes(parse_set_cookie("__Host-Http-a=1; Secure; Path=/").prefix_problems()) == ["prefix.httponly_missing"]
    assert parse_set_cookie("__Host-Http-a=1; Secure; Path=/; HttpOnly").prefix_problems() == ()
    assert codes(parse_set_cookie("__host-http-a=1; HttpOnly; Path=/").prefix_problems()) == ["prefix.secure_missing"]


def test_prefix_nameless_cookie_spoofing_a_prefix_is_rejected():
    # 6265bis storage model: an empty name with a value starting "__Host-" is ignored.
    assert codes(parse_set_cookie("__Host-a; Secure; Path=/").prefix_problems()) == ["prefix.nameless"]


def test_prefix_unprefixed_cookie_has_no_prefix_problems():
    assert parse_set_cookie("_Host-a=1").prefix_problems() == ()


# --- hostile input ----------------------------------------------------------------------------


def test_cookie_control_characters_make_the_line_ignored():
    # §5.6 step 1: CTLs other than HTAB abort the algorithm; HTAB is allowed.
    c = parse_set_cookie("a=b\x00c; Secure")
    assert codes(c.problems) == ["cookie.control_chars"] and c.problems[0].fatal
    assert parse_set_cookie("a=b;\tSecure").problems == ()


def test_cookie_empty_name_and_value_is_ignored():
    for line in ("", "=", " ; Secure", "=;Path=/"):
        assert "cookie.empty" in codes(parse_set_cookie(line).problems), line


def test_cookie_huge_value_is_too_large_but_parses():
    # §5.6: name + value over 4096 octets => the UA ignores the cookie.
    c = parse_set_cookie("a=" + "x" * 100_000 + "; Secure")
    assert c.secure and codes(c.problems) == ["cookie.too_large"]
    assert all(len(p.detail) < 200 for p in c.problems)


def test_cookie_attribute_value_over_1024_octets_is_ignored():
    c = parse_set_cookie("a=b; Path=/" + "p" * 1100)
    assert c.path is None and codes(c.problems) == ["attribute.too_long"]


def test_cookie_never_comma_splits():
    c = parse_set_cookie("a=b, c=d; Secure")
    assert (c.name, c.value) == ("a", "b, c=d")


_TEXT = st.one_of(
    st.text(),
    st.binary().map(lambda b: b.decode("latin-1")),
    st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.text(alphabet=st.sampled_from(list(" \t;=,-:_ aSecurHtpOnlyMxgDmi0123456789JanOctGMT")), max_size=80),
)


@settings(max_examples=200, deadline=None)
@given(_TEXT)
def test_cookie_property_never_raises_and_is_deterministic(line):
    c = parse_set_cookie(line)
    assert isinstance(c, SetCookie)
    assert c == parse_set_cookie(line)
    c.prefix_problems()
    c.is_deletion(NOW)
    c.is_deletion(NOW + timedelta(days=1))
    assert c.expires is None or c.expires.tzinfo is timezone.utc


# RFC 6265bis §5.7 (storage model), the Domain attribute: refused when it is a public suffix
# other than the host itself, or when the host does not domain-match it (§5.1.3). The Public
# Suffix List's private section counts too (github.io), as in browsers.
DOMAINS = [
    ("example.com", "www.example.com", None),  # a parent domain: fine
    ("www.example.com", "www.example.com", None),  # the host itself
    ("EXAMPLE.com", "shop.Example.COM", None),  # case-insensitive
    ("example.com.", "www.example.com", None),  # a trailing dot is no difference
    ("other.example", "www.example.com", "does not match"),  # another site
    ("ample.com", "www.example.com", "does not match"),  # a suffix of the name, not of a label
    ("sub.www.example.com", "www.example.com", "does not match"),  # a child of the host
    ("com", "www.example.com", "public suffix"),
    ("co.uk", "shop.example.co.uk", "public suffix"),
    ("github.io", "alice.github.io", "public suffix"),  # PSL private section
    ("github.io", "github.io", None),  # the suffix is the host: a host-only cookie
    ("0.1", "127.0.0.1", "does not match"),  # no suffix match on an IP address
    ("127.0.0.1", "127.0.0.1", None),
    ("xn--bcher-kva.example", "bücher.example", None),  # the host as A-labels (§5.1.2)
]


@pytest.mark.parametrize("domain, host, reason", DOMAINS)
def test_a_domain_attribute_the_host_may_not_set_is_refused(domain, host, reason):
    from headeraudit.parsers.cookies import domain_rejection
    why = domain_rejection(domain, host)
    assert (why is None) if reason is None else (why is not None and reason in why), why


def test_a_refused_cookie_is_reported_and_not_judged_as_a_live_cookie():
    from auditing import assess
    from headeraudit.audit import Auditor
    from headeraudit.rules import load_ruleset
    auditor = Auditor(load_ruleset())
    outcome = assess(auditor, [("Content-Type", "text/html"), ("Set-Cookie", "sessionid=1; Domain=evil.example; Path=/")],
                     host="www.example.com")
    fired = {(f.rule, f.evidence) for f in outcome.findings}
    assert ("cookie-domain-rejected", "sessionid") in fired
    assert not {r for r, _ in fired} & {"cookie-no-secure", "cookie-no-httponly", "cookie-samesite-missing"}
    assert {r.test: r.result for r in outcome.grade.outcomes}["cookies"] == "cookies-not-found"
    accepted = assess(auditor, [("Content-Type", "text/html"), ("Set-Cookie", "sessionid=1; Domain=example.com; Path=/")],
                      host="www.example.com")
    assert "cookie-no-secure" in {f.rule for f in accepted.findings}
    assert "cookie-domain-rejected" not in {f.rule for f in accepted.findings}
