"""Strict-Transport-Security parser tests (RFC 6797 §6.1)."""

from __future__ import annotations

import sys
from pathlib import Path

_ADDON = str(Path(__file__).resolve().parents[1] / "addon")
if _ADDON not in sys.path:  # the package is not necessarily pip-installed
    sys.path.insert(0, _ADDON)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from headeraudit.parsers import Hsts, parse_hsts  # noqa: E402


def codes(h: Hsts) -> list[str]:
    return [p.code for p in h.problems]


def test_hsts_typical_header_is_valid():
    h = parse_hsts("max-age=31536000; includeSubDomains; preload")
    assert (h.max_age, h.include_subdomains, h.preload, h.valid) == (31536000, True, True, True)
    assert h.problems == ()


def test_hsts_directive_names_are_case_insensitive():
    # §6.1: "directive names are case-insensitive".
    h = parse_hsts("MAX-AGE=1; INCLUDESUBDOMAINS; PreLoad")
    assert (h.max_age, h.include_subdomains, h.preload, h.valid) == (1, True, True, True)


def test_hsts_quoted_max_age_is_valid_per_rfc6797_grammar():
    # §6.1 directive-value = token | quoted-string (hstspreload.org is stricter; the RFC is not).
    h = parse_hsts('max-age="31536000"')
    assert h.valid and h.max_age == 31536000


def test_hsts_quoted_string_escape_is_unescaped_before_digit_check():
    # §6.1 quoted-string with quoted-pair: "\3" is the digit 3.
    assert parse_hsts(r'max-age="1\23"').max_age == 123
    h = parse_hsts(r'max-age="1\"2"')
    assert not h.valid and "max_age.invalid" in codes(h)


def test_hsts_semicolon_inside_quoted_value_does_not_split():
    h = parse_hsts('max-age=5; foo="a;b"')
    assert h.valid and h.max_age == 5 and codes(h) == ["directive.unknown"]


def test_hsts_ows_around_names_equals_and_values():
    # §6.1 uses implied *LWS between elements.
    h = parse_hsts("  max-age \t=\t 10 ;\tincludeSubDomains  ")
    assert h.valid and h.max_age == 10 and h.include_subdomains


def test_hsts_repeated_directive_is_fatal():
    # §6.1 "All directives MUST appear only once"; the UA ignores such a header.
    h = parse_hsts("max-age=1; max-age=2")
    assert not h.valid and "directive.repeated" in codes(h)


def test_hsts_repeated_directive_is_case_insensitive():
    h = parse_hsts("max-age=1; includeSubDomains; INCLUDESUBDOMAINS")
    assert not h.valid and codes(h) == ["directive.repeated"]


def test_hsts_missing_max_age_is_fatal():
    # §6.1.1: max-age is REQUIRED.
    h = parse_hsts("includeSubDomains; preload")
    assert not h.valid and codes(h) == ["max_age.missing"] and h.max_age is None


def test_hsts_empty_header_is_missing_max_age():
    h = parse_hsts("")
    assert not h.valid and codes(h) == ["max_age.missing"]


def test_hsts_max_age_without_value_is_invalid():
    for value in ("max-age", "max-age=", "max-age= ", 'max-age=""'):
        h = parse_hsts(value)
        assert not h.valid and codes(h) == ["max_age.invalid"], value
        assert h.max_age is None


def test_hsts_non_numeric_max_age_is_invalid():
    # §6.1.1 delta-seconds = 1*DIGIT: no sign, no fraction, no suffix.
    for value in ("+101", "12a", "-1", "1.5", "0x10", "١٢"):
        h = parse_hsts(f"max-age={value}")
        assert not h.valid and "max_age.invalid" in codes(h), value


def test_hsts_max_age_zero_is_valid_with_warning():
    # §6.1.1: zero means "cease regarding the host as a Known HSTS Host".
    h = parse_hsts("max-age=0")
    assert h.valid and h.max_age == 0 and codes(h) == ["max_age.zero"]
    assert not h.problems[0].fatal


def test_hsts_leading_zeros_are_valid():
    assert parse_hsts("max-age=00031536000").max_age == 31536000


def test_hsts_huge_max_age_keeps_exact_int():
    # delta-seconds has no upper bound in §6.1.1; beyond 4300 digits int(str) would raise.
    digits = "9" * 20000
    h = parse_hsts(f"max-age={digits}")
    assert h.valid and h.max_age == 10**20000 - 1


def test_hsts_leading_trailing_and_empty_directives_are_allowed():
    # §6.1: [ directive ] *( ";" [ directive ] ) lets every directive be empty.
    h = parse_hsts(";max-age=5;;includeSubDomains;")
    assert h.valid and h.max_age == 5 and h.include_subdomains and h.problems == ()


def test_hsts_unknown_directive_is_ignored_with_warning():
    # §6.1: "UAs MUST ignore any STS header field directives that are not recognized".
    h = parse_hsts("max-age=5; report-uri=x")
    assert h.valid and codes(h) == ["directive.unknown"]


def test_hsts_flag_directive_with_value_is_warning():
    # §6.1.2: includeSubDomains is valueless; preload likewise (hstspreload convention).
    h = parse_hsts("max-age=5; preload=1; includeSubDomains=yes")
    assert h.valid and h.preload and h.include_subdomains
    assert codes(h) == ["directive.unexpected_value", "directive.unexpected_value"]


def test_hsts_value_with_comma_from_joined_lines_is_invalid():
    # Two field lines joined by a proxy: the comma lands inside max-age's value (§8.1: only
    # one header is processed; this is not delta-seconds).
    h = parse_hsts("max-age=1, max-age=2")
    assert not h.valid and "max_age.invalid" in codes(h)


def test_hsts_curly_quotes_are_a_syntax_error():
    h = parse_hsts("max-age=\u201c31536000\u201d")
    assert not h.valid and "syntax" in codes(h)


def test_hsts_control_character_is_a_syntax_error():
    h = parse_hsts("max-age=5;\x00includeSubDomains")
    assert not h.valid and "syntax" in codes(h)


def test_hsts_non_token_directive_name_is_a_syntax_error():
    h = parse_hsts("max-age=5; =3")
    assert not h.valid and codes(h) == ["syntax"]


def test_hsts_unknown_directive_with_non_token_value_is_a_syntax_error():
    # §6.1 directive-value = token | quoted-string; "a b" is neither.
    h = parse_hsts("max-age=5; foo=a b")
    assert not h.valid and "syntax" in codes(h)


def test_hsts_unterminated_quote_is_invalid_not_a_crash():
    h = parse_hsts('max-age="123')
    assert not h.valid and "max_age.invalid" in codes(h)


def test_hsts_problem_details_are_single_line_and_short():
    h = parse_hsts("max-age=\n" + "x" * 100_000)
    assert not h.valid
    assert all("\n" not in p.detail and len(p.detail) < 200 for p in h.problems)


_TEXT = st.one_of(
    st.text(),
    st.binary().map(lambda b: b.decode("latin-1")),
    st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.text(alphabet=st.sampled_from(list(' \t;="\\,max-ge0123456789incldubDomSpr')), max_size=60),
)


@settings(max_examples=200, deadline=None)
@given(_TEXT)
def test_hsts_property_never_raises_and_is_deterministic(value):
    first = parse_hsts(value)
    assert first == parse_hsts(value)
    assert isinstance(first.valid, bool)
    assert first.valid == (not any(p.fatal for p in first.problems))
