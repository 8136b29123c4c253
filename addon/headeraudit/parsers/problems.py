"""A parse problem: a stable code plus the text that shows it.

Parsers never raise on bad input; they return what they could parse and a tuple of
problems. `fatal` says whether a user agent would ignore the whole header because of it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    code: str  # stable, dotted: "max_age.missing", "directive.repeated"
    detail: str  # one line naming the evidence, e.g. "max-age repeated"
    fatal: bool = False
