"""Generic `name[=value]` directive lists such as Cache-Control (RFC 9111 §5.2).

Cache-Control is `1#cache-directive` with `cache-directive = token [ "=" ( token /
quoted-string ) ]`; quoted values may contain the separator (`no-cache="Set-Cookie, Foo"`),
so splitting is quote-aware.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._text import OWS, as_lines, ascii_lower, split_outside_quotes, unquote

__all__ = ["parse_directives"]


def parse_directives(values: Sequence[str], separator: str = ",") -> dict[str, str | None]:
    """Map lowercased directive names to their value (quoted-string unescaped) or None.

    The FIRST occurrence wins: with several values for one directive, RFC 9111 §4.2.1 says
    "either the first occurrence should be used or the response should be considered stale".
    Empty items are skipped; never raises.
    """
    out: dict[str, str | None] = {}
    if not separator:
        separator = ","
    for line in as_lines(values):
        for item in split_outside_quotes(line, separator):
            name, eq, value = item.partition("=")
            name = ascii_lower(name.strip(OWS))
            if not name or name in out:
                continue
            if not eq:
                out[name] = None
                continue
            value = value.strip(OWS)
            if value.startswith('"'):
                value = unquote(value)[0]
            out[name] = value
    return out
