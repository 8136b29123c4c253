"""X-Frame-Options parser (HTML Living Standard, "check a navigation response's adherence to
`X-Frame-Options`", in the navigation chapter, #the-x-frame-options-header).

The algorithm: get, decode and split the header (Fetch: all lines joined by ", ", split on
commas outside quotes, HTTP whitespace trimmed), ASCII-lowercase each value into a SET, then
- more than one member and any of deny/allowall/sameorigin among them: block all framing;
- more than one member otherwise: ignore the header;
- deny / sameorigin: enforce; anything else (allowall, allow-from …, junk): ignore.
An empty member counts: "DENY," yields {"deny", ""} and therefore blocks all framing.
The HTML algorithm also skips XFO entirely when an enforced CSP has frame-ancestors; that is a
cross-header decision left to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._text import OWS, as_lines, ascii_lower, shown, split_outside_quotes
from .problems import Problem

__all__ = ["FrameOptions", "parse_xfo"]

_KNOWN = frozenset({"deny", "sameorigin", "allowall"})


@dataclass(frozen=True, slots=True)
class FrameOptions:
    """`state` is one of "deny", "sameorigin", "conflict", "allowall", "invalid", "absent"."""

    values: tuple[str, ...]
    state: str
    problems: tuple[Problem, ...]


def parse_xfo(values: Sequence[str]) -> FrameOptions:
    """Evaluate all X-Frame-Options lines as the HTML algorithm does; never raises."""
    lines = as_lines(values)
    if not lines:
        return FrameOptions((), "absent", ())
    # Fetch "get": combine the lines with ", "; "split": comma-split outside quoted strings.
    raw = [v.strip(OWS) for v in split_outside_quotes(", ".join(lines), ",")]
    distinct = tuple(dict.fromkeys(ascii_lower(v) for v in raw))
    problems: list[Problem] = []
    if len(raw) > len(distinct):
        problems.append(Problem("xfo.repeated", f"value repeated: {shown(', '.join(raw))}"))

    if len(distinct) > 1:
        if _KNOWN.intersection(distinct):
            problems.append(Problem("xfo.conflict", f"conflicting values {shown(', '.join(distinct))}: all framing blocked"))
            return FrameOptions(distinct, "conflict", tuple(problems))
        problems.append(Problem("xfo.invalid", f"values {shown(', '.join(distinct))} are not recognised"))
        return FrameOptions(distinct, "invalid", tuple(problems))

    value = distinct[0]
    if value == "":
        return FrameOptions((), "absent", ())
    if value in ("deny", "sameorigin"):
        return FrameOptions(distinct, value, tuple(problems))
    if value == "allowall":
        problems.append(Problem("xfo.allowall", "ALLOWALL disables the protection"))
        return FrameOptions(distinct, "allowall", tuple(problems))
    if value.startswith("allow-from"):
        problems.append(Problem("xfo.allow_from", f"{shown(value)} is obsolete and ignored; use CSP frame-ancestors"))
    else:
        problems.append(Problem("xfo.invalid", f"{shown(value)} is not DENY or SAMEORIGIN"))
    return FrameOptions(distinct, "invalid", tuple(problems))
