"""Small text helpers shared by the header parsers (stdlib only, never raise).

Header values arrive as already-decoded `str`; these helpers only slice and compare,
so they work on any code point (including lone surrogates from surrogateescape).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Quoted-string (RFC 9110 §5.6.4), possibly unterminated: the "unrolled loop" form keeps the
# match linear on 100 KB inputs. re.S so a backslash may escape any character, even CR/LF.
_QUOTED = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)(")?', re.S)
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)

# RFC 9110 §5.6.2 tchar.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# Only ASCII letters are folded: RFC "case-insensitive" means ASCII case-insensitive, and
# str.lower() would map e.g. KELVIN SIGN (U+212A) to "k".
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

OWS = " \t"  # RFC 9110 §5.6.3 optional whitespace (also Fetch's "HTTP tab or space")

_CLIP = 60


def ascii_lower(s: str) -> str:
    """Lowercase ASCII letters only (fast path for pure-ASCII strings)."""
    return s.lower() if s.isascii() else s.translate(_ASCII_LOWER)


def shown(s: str, limit: int = _CLIP) -> str:
    """repr() of at most `limit` characters, for one-line problem details on huge values."""
    if len(s) > limit:
        return repr(s[:limit]) + f"…(+{len(s) - limit} chars)"
    return repr(s)


def as_lines(values: Sequence[str] | str) -> Sequence[str]:
    """Accept a bare string where a sequence of header lines is expected.

    A `str` is itself a Sequence[str] (of characters); treating it as lines would be a silent
    mis-parse, so wrap it instead.
    """
    if isinstance(values, str):
        return (values,)
    return values


def split_outside_quotes(s: str, sep: str) -> list[str]:
    """Split on `sep` except inside quoted-strings; quotes stay in the pieces verbatim.

    This is Fetch's "get, decode, and split" tokenisation (quoted commas do not split) and is
    also how `;` lists with quoted values are delimited. Unterminated quotes run to the end.
    Linear time: the next separator / quote positions are cached, never rescanned.
    """
    if '"' not in s:
        return s.split(sep)
    out: list[str] = []
    start = 0
    d = s.find(sep)
    q = s.find('"')
    while d != -1:
        if q != -1 and q < d:
            end = _QUOTED.match(s, q).end()  # type: ignore[union-attr]  # always matches at '"'
            q = s.find('"', end)
            if d < end:
                d = s.find(sep, end)
            continue
        out.append(s[start:d])
        start = d + len(sep)
        d = s.find(sep, start)
    out.append(s[start:])
    return out


def unquote(s: str) -> tuple[str, bool]:
    """Unescape a quoted-string that starts at s[0] == '"'.

    Returns (content, ok); ok is False when the quote is unterminated or text follows it.
    """
    m = _QUOTED.match(s)
    if m is None:  # not starting with a quote
        return s, False
    inner = m.group(1)
    if "\\" in inner:
        inner = _QUOTED_PAIR.sub(r"\1", inner)
    return inner, m.group(2) is not None and m.end() == len(s)
