"""Header values with what changes on every response and no verdict reads taken out.

Most dynamic sites send a fresh CSP nonce and a fresh session-cookie value on every response.
Judged as they are, every response would be new to the proxy's memo of outcomes, and every
nonce would make a new finding entry (csp-invalid's evidence holds the policy). Judged in the
form below, a site's responses are the same responses again, and the verdicts are unchanged:

- a CSP nonce's value becomes as many x's (its grammar and length are kept, which is all a
  check reads: CSP3 §2.3.1 base64-value, and CSP Evaluator's length check);
- a Set-Cookie value is dropped (`sid=abc; Secure` -> `sid=; Secure`): no check reads it and it
  never appears in evidence. Not when the value matters: a nameless cookie (its value is read
  for prefix spoofing, RFC 6265bis §5.7), a control character (the browser ignores the line,
  §5.6 step 1) or a name and value over 4096 octets (§5.6 step 5).

A header is only put in this form when every rule that reads it reads it through a check
that cannot tell the difference (CANONICAL_CHECKS); a rule matching the raw value with a
regular expression, say, sees the value as sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
_SEPARATORS = b"\t\n\f\r ;,"
MAX_NAME_VALUE = 4096  # octets, RFC 6265bis §5.6 step 5


def _nonce_end(value: bytes, start: int) -> int:
    """Where the base64-value of a nonce-source beginning at `start` (after "'nonce-") ends, or -1
    when what follows is not one (CSP3 §2.3.1: base64-value = 1*( ALPHA / DIGIT / "+" / "/" /
    "-" / "_" ) *2"=", then the closing quote)."""
    quote = value.find(b"'", start)
    if quote < 0:
        return -1
    digits = value[start:quote].rstrip(b"=")
    if not digits or quote - start - len(digits) > 2 or digits.translate(None, _BASE64):
        return -1
    return start + len(digits)


def canonical_csp(value: bytes) -> bytes:
    lowered = value.lower()  # the keyword is case-insensitive
    start = lowered.find(b"'nonce-")
    if start < 0:
        return value
    out: list[bytes] = []
    done = 0
    while start >= 0:
        end = _nonce_end(value, start + 7)
        quote = value.find(b"'", end) + 1 if end >= 0 else 0
        # A source expression of its own, not part of a host-source path holding "'nonce-".
        if end >= 0 and (not start or value[start - 1] in _SEPARATORS) and (quote == len(value) or value[quote] in _SEPARATORS):
            out += (value[done:start + 7], b"x" * (end - start - 7))
            done = end
        start = lowered.find(b"'nonce-", start + 7)
    out.append(value[done:])
    return b"".join(out)


# name "=" value, up to the first ";" or the end, neither holding a control character (§5.6 step 1).
_COOKIE_PAIR = re.compile(rb"[^=;\x00-\x08\x0a-\x1f\x7f]*=[^;\x00-\x08\x0a-\x1f\x7f]+(?=;|\Z)")


def canonical_cookie(value: bytes) -> bytes:
    m = _COOKIE_PAIR.match(value)
    if m is None or m.end() > MAX_NAME_VALUE:
        return value
    equals = value.index(b"=")
    if not value[:equals].strip(b" \t"):  # nameless
        return value
    return value[:equals + 1] + value[m.end():]


CANONICAL: dict[str, Callable[[bytes], bytes]] = {
    "content-security-policy": canonical_csp,
    "content-security-policy-report-only": canonical_csp,
    "set-cookie": canonical_cookie,
}
# The check kinds whose verdicts cannot tell a header from its canonical form. Evidence may
# show the canonical form (a nonce as x's), which keeps one entry per site, not per response.
CANONICAL_CHECKS: dict[str, frozenset[str]] = {
    "content-security-policy": frozenset({"csp", "valid", "present", "absent", "at_most_once"}),
    "content-security-policy-report-only": frozenset({"csp", "valid", "present", "absent", "at_most_once"}),
    "set-cookie": frozenset({"cookie", "present"}),
}
