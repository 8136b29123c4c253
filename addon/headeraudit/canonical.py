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

import functools
import re
from collections.abc import Callable

# A nonce-source's base64-value and closing quote (CSP3 §2.3.1), after "'nonce-".
_NONCE_VALUE = re.compile(rb"([A-Za-z0-9+/_-]+)(?:={0,2})'")
_SEPARATORS = b"\t\n\f\r ;,"
MAX_NAME_VALUE = 4096  # octets, RFC 6265bis §5.6 step 5


def canonical_csp(value: bytes) -> bytes:
    lowered = value.lower()  # the keyword is case-insensitive
    start = lowered.find(b"'nonce-")
    if start < 0:
        return value
    out: list[bytes] = []
    done = 0
    while start >= 0:
        m = _NONCE_VALUE.match(value, start + 7)
        # A source expression of its own, not part of a host-source path holding "'nonce-".
        if m is not None and (not start or value[start - 1] in _SEPARATORS) and (
                m.end() == len(value) or value[m.end()] in _SEPARATORS):
            out += (value[done:start + 7], b"x" * (m.end(1) - m.start(1)))
            done = m.end(1)
        start = lowered.find(b"'nonce-", start + 7)
    out.append(value[done:])
    return b"".join(out)


_COOKIE_CTL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # RFC 6265bis §5.6 step 1


def canonical_cookie(value: bytes) -> bytes:
    pair, semicolon, attributes = value.partition(b";")
    name, equals, cookie_value = pair.partition(b"=")
    if not cookie_value or len(pair) > MAX_NAME_VALUE or not name.strip(b" \t") or _COOKIE_CTL.search(pair):
        return value
    return name + equals + semicolon + attributes


# A site whose headers repeat sends the same values again: their canonical forms are remembered
# (a third of a memo hit's cost otherwise). Values only, never a verdict; bounded in count and size.
RECENT_VALUES = 256
RECENT_VALUE_MAX = 4096
_csp_cached = functools.lru_cache(maxsize=RECENT_VALUES)(canonical_csp)
_cookie_cached = functools.lru_cache(maxsize=RECENT_VALUES)(canonical_cookie)


def _recent_csp(value: bytes) -> bytes:
    return _csp_cached(value) if len(value) <= RECENT_VALUE_MAX else canonical_csp(value)


def _recent_cookie(value: bytes) -> bytes:
    return _cookie_cached(value) if len(value) <= RECENT_VALUE_MAX else canonical_cookie(value)


CANONICAL: dict[str, Callable[[bytes], bytes]] = {
    "content-security-policy": _recent_csp,
    "content-security-policy-report-only": _recent_csp,
    "set-cookie": _recent_cookie,
}
# The check kinds whose verdicts cannot tell a header from its canonical form. Evidence may
# show the canonical form (a nonce as x's), which keeps one entry per site, not per response.
# within_limits reads how long the canonical form is (limits.py counts after this module).
CANONICAL_CHECKS: dict[str, frozenset[str]] = {
    "content-security-policy": frozenset({"csp", "valid", "present", "absent", "at_most_once", "within_limits"}),
    "content-security-policy-report-only": frozenset({"csp", "valid", "present", "absent", "at_most_once", "within_limits"}),
    "set-cookie": frozenset({"cookie", "present", "within_limits"}),
}
