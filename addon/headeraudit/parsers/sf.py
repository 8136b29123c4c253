"""RFC 8941 Structured Field Items, for Item-valued headers such as COOP, COEP and CORP.

Only Items are parsed (§4.2.3); Lists and Dictionaries are not needed by these headers.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ._text import as_lines, shown
from .problems import Problem

__all__ = ["SfItem", "Token", "parse_item", "parse_sf_token", "parse_token_header", "unknown_token"]

# §4.2.4: sign, integer part, optional "." and fraction; length limits are checked after.
_NUMBER = re.compile(r"-?([0-9]+)(?:(\.)([0-9]*))?")
# §4.2.5: unescaped chars %x20-21 / %x23-5B / %x5D-7E, escapes only \" and \\.
_STRING = re.compile(r'"([\x20\x21\x23-\x5b\x5d-\x7e]*(?:\\["\\][\x20\x21\x23-\x5b\x5d-\x7e]*)*)"')
_STRING_ESCAPE = re.compile(r'\\(["\\])')
# §4.2.6: ( ALPHA / "*" ) *( tchar / ":" / "/" )
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
# §4.2.7: base64 alphabet between colons; padding may be omitted (§4.2.7 recipient note).
_BYTES = re.compile(r":([A-Za-z0-9+/]*)(=*):")
# §4.2.3.3: key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")


class Token(str):
    """A bare-item Token, distinct from a String with the same characters (§3.3.4 vs §3.3.3)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Token({str.__repr__(self)})"


@dataclass(frozen=True, slots=True)
class SfItem:
    """A bare item and its parameters, in order (a repeated key keeps its first position)."""

    value: object
    params: tuple[tuple[str, object], ...]


def _fail(message: str, pos: int) -> ValueError:
    return ValueError(f"{message} at offset {pos}")


def _bare_item(s: str, i: int) -> tuple[object, int]:
    """§4.2.3.1 Parsing a Bare Item; returns (value, next offset)."""
    c = s[i : i + 1]
    if c == "-" or "0" <= c <= "9":
        m = _NUMBER.match(s, i)
        if m is None:
            raise _fail("'-' not followed by a digit", i)
        whole, dot, frac = m.groups()
        if dot is None:
            if len(whole) > 15:
                raise _fail("integer has more than 15 digits", i)
            return int(m.group()), m.end()
        if len(whole) > 12:
            raise _fail("decimal has more than 12 integer digits", i)
        if not frac:
            raise _fail("decimal ends with '.'", i)
        if len(frac) > 3:
            raise _fail("decimal has more than 3 fractional digits", i)
        return float(m.group()), m.end()
    if c == '"':
        m = _STRING.match(s, i)
        if m is None:
            raise _fail("invalid or unterminated string", i)
        inner = m.group(1)
        return (_STRING_ESCAPE.sub(r"\1", inner) if "\\" in inner else inner), m.end()
    if c == ":":
        m = _BYTES.match(s, i)
        if m is None:
            raise _fail("invalid or unterminated byte sequence", i)
        core, pad = m.groups()
        if len(pad) > 2 or len(core) % 4 == 1 or (pad and (len(core) + len(pad)) % 4):
            raise _fail("invalid base64 in byte sequence", i)
        try:
            return binascii.a2b_base64(core + "=" * (-len(core) % 4)), m.end()
        except binascii.Error as exc:  # pragma: no cover - the checks above should preclude it
            raise _fail(f"invalid base64 ({exc})", i) from None
    if c == "?":
        b = s[i + 1 : i + 2]
        if b == "1":
            return True, i + 2
        if b == "0":
            return False, i + 2
        raise _fail("boolean must be ?0 or ?1", i)
    m = _TOKEN.match(s, i)
    if m is not None:
        return Token(m.group()), m.end()
    if not c:
        raise _fail("empty item", i)
    raise _fail(f"unexpected character {c!r}", i)


def parse_item(text: str) -> SfItem:
    """RFC 8941 §4.2 with field_type "item"; raises ValueError when parsing fails.

    This is the one parser here that raises: "fail parsing" is the RFC's own outcome, and the
    caller must then ignore the whole field (§4.2).
    """
    if not text.isascii():
        raise ValueError("field value is not ASCII")  # §4.2 step 1
    n = len(text)
    i = 0
    while i < n and text[i] == " ":
        i += 1
    value, i = _bare_item(text, i)
    params: dict[str, object] = {}
    # §4.2.3.2 Parsing Parameters.
    while i < n and text[i] == ";":
        i += 1
        while i < n and text[i] == " ":
            i += 1
        m = _KEY.match(text, i)
        if m is None:
            raise _fail("invalid parameter key", i)
        key = m.group()
        i = m.end()
        pvalue: object = True
        if i < n and text[i] == "=":
            pvalue, i = _bare_item(text, i + 1)
        params[key] = pvalue  # a repeated key overwrites the value, keeping its position
    while i < n and text[i] == " ":
        i += 1
    if i != n:
        raise _fail(f"unexpected {shown(text[i:], 20)} after the item", i)
    return SfItem(value, tuple(params.items()))


def parse_sf_token(values: Sequence[str]) -> tuple[str | None, tuple[Problem, ...]]:
    """Parse an Item header whose value must be a token; never raises. (token, ()) when it is
    one; (None, problems) when the header is not a structured Item or not a token.

    Field lines are combined with ", " first (RFC 8941 §4.2), so a header sent twice is not an
    Item and fails: per the spec, and as browsers do for COOP/COEP, it is then ignored entirely.
    Parameters (e.g. `; report-to="default"`) are accepted. No lines at all returns (None, ()).
    """
    lines = as_lines(values)
    if not lines:
        return None, ()
    text = ", ".join(lines)
    try:
        item = parse_item(text)
    except ValueError as exc:
        return None, (Problem("sf.invalid", f"not a structured Item ({exc}): {shown(text)}", True),)
    if not isinstance(item.value, Token):
        value = repr(item.value)
        value = value if len(value) <= 60 else value[:60] + "…"
        return None, (Problem("sf.not_token", f"value {value} is not a token", True),)
    return str(item.value), ()


def parse_token_header(values: Sequence[str], allowed: Collection[str]) -> tuple[str | None, tuple[Problem, ...]]:
    """parse_sf_token, plus a fatal problem when the token is not one of `allowed`."""
    token, problems = parse_sf_token(values)
    if token is not None and token not in allowed:
        return token, (unknown_token(token),)
    return token, problems


def unknown_token(token: str) -> Problem:
    return Problem("sf.unknown_value", f"unknown value {shown(token)}", True)
