"""How much of a response's headers is judged.

Header values are attacker-sized and mitmproxy does not bound them. Of each header, at most
MAX_HEADER_LINES lines and MAX_HEADER_BYTES bytes (after canonical.py) are judged: a longer
first line is cut at its last separator before the limit, later lines that do not fit are
left out, and the rule header-too-long reports it. This keeps one response's audit to a few
milliseconds whatever it holds (a 1 MB CSP of unknown directives took seconds).
"""

from __future__ import annotations

from collections.abc import Sequence

from .model import RawLine

MAX_HEADER_BYTES = 8 * 1024
MAX_HEADER_LINES = 64
LONG_LINE = 1024  # past this line length (or MAX_HEADER_LINES lines in all), select() counts per header
TOO_LONG = f"more than {MAX_HEADER_BYTES // 1024} KiB or {MAX_HEADER_LINES} lines"  # header-too-long's evidence
MAX_FIELDS = 256  # past this many lines in a response, select() first keeps each header's first lines
_CUT_AT = (b";", b",", b" ")


def _prefix(value: bytes, limit: int) -> bytes:
    """At most `limit` bytes of a value, ending before its last separator (so a policy keeps
    whole source expressions, a list whole members) where the prefix has one."""
    head = value[:limit]
    at = max(head.rfind(separator) for separator in _CUT_AT)
    return head[:at] if at > 0 else head


def within_limits(lines: list[RawLine]) -> tuple[list[RawLine], tuple[str, ...]]:
    """The lines with each header's first MAX_HEADER_LINES lines and MAX_HEADER_BYTES bytes."""
    used: dict[bytes, tuple[int, int]] = {}  # name -> (lines, bytes) kept
    kept: list[RawLine] = []
    cut: set[bytes] = set()
    for name, value in lines:
        if name in cut:  # what is judged of a header is a prefix of its lines
            continue
        count, size = used.get(name, (0, 0))
        if count == 0 and len(value) > MAX_HEADER_BYTES:
            value = _prefix(value, MAX_HEADER_BYTES)
            cut.add(name)
        elif count >= MAX_HEADER_LINES or size + len(value) > MAX_HEADER_BYTES:
            cut.add(name)
            continue
        used[name] = (count + 1, size + len(value))
        kept.append((name, value))
    return kept, tuple(sorted(n.decode("latin-1") for n in cut))


def first_lines(fields: Sequence[RawLine]) -> list[RawLine]:
    """Each header's first MAX_HEADER_LINES + 1 lines (one more than is judged, so that
    within_limits sees the header was cut), before anything else is done with them."""
    seen: dict[bytes, int] = {}
    kept = []
    for name, value in fields:
        key = name.lower()
        count = seen.get(key, 0)
        if count <= MAX_HEADER_LINES:
            seen[key] = count + 1
            kept.append((name, value))
    return kept
