"""Strict-Transport-Security parser (RFC 6797 §6.1).

Grammar (§6.1, implied *LWS between elements)::

    Strict-Transport-Security = [ directive ] *( ";" [ directive ] )
    directive       = directive-name [ "=" directive-value ]
    directive-name  = token
    directive-value = token | quoted-string

Note the grammar, not hstspreload.org, decides validity: `max-age="31536000"` is valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._text import OWS, TOKEN, ascii_lower, shown, split_outside_quotes, unquote
from .problems import Problem

__all__ = ["Hsts", "parse_hsts"]

# Anything but HTAB / SP / VCHAR cannot appear in the header grammar (no obs-text: RFC 6797
# predates it and user agents reject such values).
_OUTSIDE_GRAMMAR = re.compile(r"[^\t\x20-\x7e]")
_DIGITS = re.compile(r"[0-9]+")
# CPython refuses int(str) beyond 4300 digits (CVE-2020-10735); convert in chunks below it.
_INT_CHUNK = 4000


@dataclass(frozen=True, slots=True)
class Hsts:
    """One parsed Strict-Transport-Security value.

    `max_age` is kept even when the header is invalid (first occurrence) so reports can show it.
    """

    max_age: int | None
    include_subdomains: bool
    preload: bool
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        """True when a user agent would honour the header (no fatal problem)."""
        return not any(p.fatal for p in self.problems)


def _big_int(digits: str) -> int:
    """int() of an ASCII digit string of any length, without tripping the str->int limit."""
    digits = digits.lstrip("0") or "0"
    if len(digits) <= _INT_CHUNK:
        return int(digits)
    value = 0
    for i in range(0, len(digits), _INT_CHUNK):
        chunk = digits[i : i + _INT_CHUNK]
        value = value * 10 ** len(chunk) + int(chunk)
    return value


def parse_hsts(value: str) -> Hsts:
    """Parse one Strict-Transport-Security field value; never raises.

    Pass the first field line: §8.1 has the UA process only the first STS header. If a proxy
    folded several lines into one, the comma lands inside a directive value and makes it
    invalid (e.g. max-age value "1, max-age=2"), as it is for a user agent.

    `max_age` is exact however long the digit string; note that str() of an int over 4300
    digits raises ValueError in CPython >= 3.11 (sys.get_int_max_str_digits), so callers
    should compare it numerically rather than format it.
    """
    problems: list[Problem] = []
    m = _OUTSIDE_GRAMMAR.search(value)
    if m is not None:
        problems.append(
            Problem("syntax", f"character {m.group()!r} at offset {m.start()} is outside the grammar", True)
        )

    seen: set[str] = set()
    max_age: int | None = None
    include_subdomains = preload = False

    # §6.1: directives are separated by ";" and may be empty; quoted-strings may hold ";".
    for part in split_outside_quotes(value, ";"):
        part = part.strip(OWS)
        if not part:
            continue
        name, eq, raw = part.partition("=")
        name = name.rstrip(OWS)
        raw = raw.strip(OWS)
        if not TOKEN.fullmatch(name):
            problems.append(Problem("syntax", f"directive name {shown(name)} is not a token", True))
            continue
        lname = ascii_lower(name)

        # §6.1 directive-value = token | quoted-string.
        if raw.startswith('"'):
            val, ok = unquote(raw)
        else:
            val, ok = raw, bool(TOKEN.fullmatch(raw))

        if lname in seen:
            # §6.1: "All directives MUST appear only once"; §8.1 the UA ignores the header.
            problems.append(Problem("directive.repeated", f"{name} appears more than once", True))
            continue
        seen.add(lname)

        if lname == "max-age":
            # §6.1.1: max-age = delta-seconds = 1*DIGIT (after quoted-string unescaping).
            if eq and ok and _DIGITS.fullmatch(val):
                max_age = _big_int(val)
                if max_age == 0:
                    problems.append(Problem("max_age.zero", "max-age=0 tells the UA to forget this host"))
            else:
                value_text = shown(raw) if eq else "no value"
                problems.append(Problem("max_age.invalid", f"max-age value {value_text} is not delta-seconds", True))
        elif lname in ("includesubdomains", "preload"):
            if lname == "includesubdomains":
                include_subdomains = True
            else:
                preload = True
            if eq:
                # §6.1.2 includeSubDomains is valueless; preload comes from hstspreload, also valueless.
                problems.append(Problem("directive.unexpected_value", f"{name} takes no value, got {shown(raw)}"))
        else:
            # §6.1: "UAs MUST ignore any STS header field directives not recognized".
            problems.append(Problem("directive.unknown", f"unknown directive {shown(name)}"))

        if eq and not ok and lname != "max-age":
            problems.append(Problem("syntax", f"{name} value {shown(raw)} is neither token nor quoted-string", True))

    if "max-age" not in seen:
        problems.append(Problem("max_age.missing", "no max-age directive (§6.1.1 REQUIRED)", True))

    return Hsts(max_age, include_subdomains, preload, tuple(problems))
