"""Findings aggregated across flows, with bounded memory.

ZAP's lesson (zaproxy #2717: 572 identical alerts): a proxy sees the same problem on
every response of a host. One entry per (host, rule, header, evidence, message) with a
count, first/last seen and a few example URLs; the first sighting is what gets logged.
The store is capped: past the cap new entries are counted as dropped, never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .checks import printable
from .model import SEVERITIES, Finding

MAX_EXAMPLES = 3
URL_MAX = 300
OTHER_HOSTS = "(other hosts)"


@dataclass(slots=True)
class Entry:
    finding: Finding
    host: str
    count: int
    first_seen: float
    last_seen: float
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            **self.finding.as_dict(),
            "host": self.host,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "examples": list(self.examples),
        }


@dataclass(slots=True)
class HostStats:
    flows: int = 0
    by_severity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))


class FindingStore:
    def __init__(self, max_entries: int = 20_000, max_hosts: int = 10_000) -> None:
        self.max_entries = max_entries
        self.max_hosts = max_hosts
        self.clear()

    def clear(self) -> None:
        self.entries: dict[tuple[str, str, str, str, str], Entry] = {}
        self.hosts: dict[str, HostStats] = {}
        self.flows_audited = 0
        self.occurrences = 0
        self.dropped = 0

    def _host(self, host: str) -> tuple[str, HostStats]:
        stats = self.hosts.get(host)
        if stats is None:
            if len(self.hosts) >= self.max_hosts:
                host = OTHER_HOSTS
                stats = self.hosts.get(host)
            if stats is None:
                stats = self.hosts[host] = HostStats()
        return host, stats

    def record(self, host: str, url: str | Callable[[], str], findings: Iterable[Finding], now: float) -> list[Finding]:
        """Count a flow's findings; return those seen for the first time (to be logged).

        `url` may be a callable: building a URL costs, and it is only needed while an entry
        still collects examples."""
        host, stats = self._host(printable(host))
        stats.flows += 1
        self.flows_audited += 1
        new: list[Finding] = []
        for finding in findings:
            self.occurrences += 1
            key = (host, finding.rule, finding.header, finding.evidence, finding.message)
            entry = self.entries.get(key)
            if entry is None:
                if len(self.entries) >= self.max_entries:
                    self.dropped += 1
                    continue
                entry = self.entries[key] = Entry(finding, host, 0, now, now)
                stats.by_severity[finding.severity] += 1
                new.append(finding)
            entry.count += 1
            entry.last_seen = now
            if len(entry.examples) < MAX_EXAMPLES:
                if callable(url):
                    url = url()
                example = printable(url[:URL_MAX])
                if example not in entry.examples:
                    entry.examples.append(example)
        return new

    def sorted_entries(self) -> list[Entry]:
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        return sorted(self.entries.values(), key=lambda e: (-rank[e.finding.severity], -e.count, e.host, e.finding.rule))

    def totals(self) -> dict[str, int]:
        totals = dict.fromkeys(SEVERITIES, 0)
        for entry in self.entries.values():
            totals[entry.finding.severity] += 1
        return totals
