"""X-Content-Type-Options per Fetch ("determine nosniff", #determine-nosniff).

Get, decode and split the header (all lines joined with ", ", split on commas outside quoted
strings, HTTP whitespace trimmed); nosniff is on when the FIRST value is an ASCII
case-insensitive match for "nosniff". So `nosniff, nosniff`, two `nosniff` lines and even
`nosniff, junk` enforce it, and `junk, nosniff` does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._text import OWS, as_lines, ascii_lower, shown, split_outside_quotes
from .problems import Problem

__all__ = ["ContentTypeOptions", "parse_xcto"]


@dataclass(frozen=True, slots=True)
class ContentTypeOptions:
    """`nosniff`: whether a browser enforces it; `problems` say why not, or what is odd."""

    nosniff: bool
    values: tuple[str, ...]
    problems: tuple[Problem, ...]


def parse_xcto(values: Sequence[str]) -> ContentTypeOptions:
    """Evaluate all X-Content-Type-Options lines as Fetch does; never raises."""
    lines = as_lines(values)
    if not lines:
        return ContentTypeOptions(False, (), ())
    split = tuple(v.strip(OWS) for v in split_outside_quotes(", ".join(lines), ","))
    if ascii_lower(split[0]) == "nosniff":
        return ContentTypeOptions(True, split, ())
    if any(ascii_lower(v) == "nosniff" for v in split):
        problem = Problem("xcto.not_first", f"nosniff is not the first value ({shown(', '.join(split))}): Fetch reads only the first")
    else:
        problem = Problem("xcto.invalid", f"{shown(split[0])} is not nosniff")
    return ContentTypeOptions(False, split, (problem,))
