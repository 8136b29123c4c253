"""What the memo's key and the judgement leave out: values that change per response and that
no verdict reads (canonical.py). Each case names what makes the value matter or not."""

from __future__ import annotations

import pytest

from headeraudit.canonical import canonical_cookie, canonical_csp


@pytest.mark.parametrize(("value", "expected"), [
    # CSP3 §2.3.1 nonce-source: the value is base64; its length is kept (CSP Evaluator judges it).
    (b"script-src 'nonce-rAnd0m123' 'self'", b"script-src 'nonce-xxxxxxxxx' 'self'"),
    (b"script-src 'nonce-YWJj+/_-==' 'strict-dynamic'", b"script-src 'nonce-xxxxxxxx==' 'strict-dynamic'"),
    # The keyword is case-insensitive; each nonce of the policy, whatever separates them.
    (b"script-src 'NONCE-abc' 'NoNcE-de';style-src 'nonce-f',img-src 'self'", b"script-src 'NONCE-xxx' 'NoNcE-xx';style-src 'nonce-x',img-src 'self'"),
    # Not a nonce-source of its own: inside a host-source's path, or outside the base64 grammar.
    (b"img-src https://a.example/'nonce-abc'", b"img-src https://a.example/'nonce-abc'"),
    (b"script-src 'nonce-ab!c'", b"script-src 'nonce-ab!c'"),
    (b"default-src 'self'", b"default-src 'self'"),
])
def test_a_csp_nonce_value_becomes_xs_of_the_same_length(value, expected):
    assert canonical_csp(value) == expected
    assert canonical_csp(expected) == expected  # canonical is a fixed point


@pytest.mark.parametrize(("value", "expected"), [
    # RFC 6265bis: a cookie's value is read by no check and never shown as evidence.
    (b"sid=8f14e45f; Path=/; HttpOnly", b"sid=; Path=/; HttpOnly"),
    (b"sid=abc", b"sid="),
    (b" sid = a b ;Secure", b" sid =;Secure"),
    # §5.7: a nameless cookie's value is read (prefix spoofing): kept.
    (b"=__Secure-x; Secure", b"=__Secure-x; Secure"),
    (b"novalue; Secure", b"novalue; Secure"),
    # §5.6 step 1: a control character makes the browser ignore the line: kept, so it is seen.
    (b"sid=a\x01b; Secure", b"sid=a\x01b; Secure"),
    # §5.6 step 5: name and value over 4096 octets are ignored by the browser: kept.
    (b"sid=" + b"a" * 4096, b"sid=" + b"a" * 4096),
])
def test_a_cookie_value_is_dropped_unless_a_verdict_reads_it(value, expected):
    assert canonical_cookie(value) == expected
    assert canonical_cookie(expected) == expected
