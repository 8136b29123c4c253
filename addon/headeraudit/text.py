"""Making attacker-controlled text safe to keep, log and show.

Header values and host names come from the network. Two levels of escaping, with distinct
names because they answer different questions:

- `escape_controls` keeps evidence as data: C0/C1 controls (terminal escapes, CR/LF) and the
  lone surrogates that stand for undecodable bytes become \\xNN / \\uNNNN, so evidence encodes
  to UTF-8 (JSON report, -w flow files) and cannot drive a terminal. Tabs and format
  characters are data and stay.
- `terminal_safe` is for anything shown to a person (log lines, flow comments, reports):
  every character `str.isprintable` rejects becomes a visible escape, including bidi
  overrides that reorder a line ("Trojan Source", CVE-2021-42574), zero-width characters
  that hide text, and line/paragraph separators.
"""

from __future__ import annotations

import re
from typing import Any

EVIDENCE_MAX = 200

_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape(char: str) -> str:
    # unicode_escape gives \x1b, \n, \u202e; a lone surrogate needs backslashreplace.
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")


def escape_controls(text: str) -> str:
    """Controls and lone surrogates as visible escapes; everything else unchanged."""
    if text.isprintable() or _CONTROLS.search(text) is None:
        return text
    return _CONTROLS.sub(lambda m: _escape(m.group()), text)


def clip_evidence(text: str, limit: int = EVIDENCE_MAX) -> str:
    """Evidence is a dedup key and goes into logs: one bounded line with controls escaped."""
    if len(text) > limit:
        # Escape only the prefix that is kept (an escape is never shorter than its character):
        # escaping all of a 100 KB value of undecodable bytes costs ~0.1 s.
        return escape_controls(text[:limit])[: limit - 1] + "…"
    text = escape_controls(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def terminal_safe(value: Any) -> str:
    """Any value as one line of safe text: every non-printable character (controls, format
    characters, surrogates, separators, private-use and unassigned code points, spaces other
    than U+0020) becomes a visible escape, so nothing is lost and nothing acts."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)
