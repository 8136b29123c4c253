"""Caches bounded in bytes as well as in entries.

Header values are attacker-controlled and mitmproxy does not bound their size (its HTTP/1
reader has a FIXME for it), so a cache of a few thousand entries keyed by values could hold
gigabytes: distinct 30 KB values made the addon keep ~480 MB after 1 500 responses before
these bounds. Sizes are counted when an entry is stored (a miss), never on a hit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def size_of(item: Any) -> int:
    """Characters or bytes in a str/bytes, or in the str/bytes of a (nested) tuple: what grows."""
    if isinstance(item, (str, bytes)):
        return len(item)
    if isinstance(item, tuple):
        return sum(map(size_of, item))
    return 8


class BoundedCache(dict):
    """A dict that forgets everything when it would pass `max_entries` or `max_bytes` (sizes as
    told by put). An entry bigger than an eighth of the byte budget is not kept at all."""

    __slots__ = ("max_entries", "max_bytes", "held")

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        super().__init__()
        self.max_entries, self.max_bytes, self.held = max_entries, max_bytes, 0

    def put(self, key: Any, value: Any, size: int) -> Any:
        """Store value under key if it fits (clearing first when full); return value."""
        if size <= self.max_bytes >> 3:
            if len(self) >= self.max_entries or self.held + size > self.max_bytes:
                self.clear()
            self[key] = value
            self.held += size
        return value

    def clear(self) -> None:
        super().clear()
        self.held = 0


class SharedBudget:
    """One byte budget over many small dicts (a value cache per rule and header, a rewrite cache
    per fix plan): each keeps at most `per_cache` entries, and past `max_bytes` together
    `clear_all` empties them all. An entry bigger than an eighth of the budget is not kept."""

    __slots__ = ("max_bytes", "per_cache", "clear_all", "held")

    def __init__(self, max_bytes: int, per_cache: int, clear_all: Callable[[], None]) -> None:
        self.max_bytes, self.per_cache, self.clear_all, self.held = max_bytes, per_cache, clear_all, 0

    def put(self, cache: dict, key: Any, value: Any, size: int) -> Any:
        """Store value under key in cache if it fits; return value."""
        if size <= self.max_bytes >> 3:
            if len(cache) >= self.per_cache:
                cache.clear()
            self.held += size
            if self.held > self.max_bytes:
                self.clear()
                self.held = size
            cache[key] = value
        return value

    def clear(self) -> None:
        self.clear_all()
        self.held = 0
