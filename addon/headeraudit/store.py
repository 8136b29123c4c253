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
from .grade import HostGrade, ResponseGrade
from .model import SEVERITIES, Finding

MAX_EXAMPLES = 3
URL_MAX = 300
OTHER_HOSTS = "(other hosts)"
NO_HOST = "(no host)"


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
    grade: HostGrade = field(default_factory=HostGrade)
    grade_after: HostGrade | None = None  # fix mode: the responses as fixed


@dataclass(slots=True)
class FixPreview:
    """One fixed (or, on saved traffic, fixable) response of a host: its headers before and after."""

    host: str
    url: str
    applied: bool
    before: list[tuple[str, str]]
    after: list[tuple[str, str]]

    def as_dict(self) -> dict:
        return {
            "host": self.host, "url": self.url, "applied": self.applied,
            "before": [[n, v] for n, v in self.before], "after": [[n, v] for n, v in self.after],
        }


@dataclass(slots=True)
class CspReport:
    """One distinct violation a browser reported to the addon's CSP report endpoint."""

    host: str
    document_uri: str
    directive: str
    blocked_uri: str
    sample: str
    disposition: str
    count: int = 0

    def as_dict(self) -> dict:
        return {
            "host": self.host, "document_uri": self.document_uri, "directive": self.directive,
            "blocked_uri": self.blocked_uri, "sample": self.sample, "disposition": self.disposition, "count": self.count,
        }


MAX_FIX_ENTRIES = 5_000
MAX_KNOWN_FIX_BYTES = 16 << 20  # the edits tuples record_fixes keeps for its fast path
MAX_CSP_REPORTS = 1_000
MAX_FIX_PREVIEWS = 200
PREVIEW_HEADERS = 60
PREVIEW_VALUE = 500


def _preview_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(printable(n[:100]), printable(v[:PREVIEW_VALUE])) for n, v in list(headers)[:PREVIEW_HEADERS]]


def _wants_example(entry: Entry) -> bool:
    """Collect example URLs early, then only at power-of-two counts: a finding that keeps
    recurring on one URL must not cost a URL build on every flow."""
    count = entry.count
    return len(entry.examples) < MAX_EXAMPLES and (count <= 8 or count & (count - 1) == 0)


def _flows_until_example(entries: list[Entry]) -> int:
    """How many more flows of the same findings until one of `entries` wants an example URL
    (its count reaches 1..8 or a power of two while it has room for one)."""
    budget = 1 << 62
    for entry in entries:
        if len(entry.examples) < MAX_EXAMPLES:
            nxt = entry.count + 1
            if nxt > 8 and nxt & (nxt - 1):
                nxt = 1 << nxt.bit_length()
            budget = min(budget, nxt - entry.count)
    return budget


@dataclass(slots=True)
class _Known:
    """A findings tuple already recorded for a host. Its flows are counted here and folded into
    the entries in batches (on read, or when an entry wants an example URL), so a repeated
    response costs the same however many findings it has."""

    findings: tuple[Finding, ...]
    stats: HostStats
    entries: list[Entry]
    budget: int
    pending: int = 0
    last_seen: float = 0.0

    def fold(self) -> None:
        if self.pending:
            for entry in self.entries:
                # An entry can be shared with other tuples (and the slow path): counts add up;
                # last_seen is the latest of them.
                entry.count += self.pending
                if self.last_seen > entry.last_seen:
                    entry.last_seen = self.last_seen
            self.pending = 0


@dataclass(slots=True)
class Repeat:
    """What the store counts for a flow that repeats one it has recorded (the same findings
    tuple on the same host, the same fix edits and grade outcomes), gathered once so that
    counting it again touches only these. Valid while the store's epoch is unchanged."""

    known: _Known
    fixes: list | None  # the record_fixes entry of its edits, when fixed
    grade_after: HostGrade | None  # fix mode: the host's grade as fixed ...
    graded_after: ResponseGrade | None  # ... and this response's outcomes in it
    epoch: int


def _add_example(entry: Entry, url: str | Callable[[], str]) -> str:
    if callable(url):
        url = url()
    example = printable(url[:URL_MAX])
    if example and example not in entry.examples:
        entry.examples.append(example)
    return url


class FindingStore:
    def __init__(self, max_entries: int = 20_000, max_hosts: int = 10_000) -> None:
        self.max_entries = max_entries
        self.max_hosts = max_hosts
        self.epoch = 0  # changes whenever a record a Repeat holds may be dropped
        self.clear()

    def clear(self) -> None:
        self.epoch += 1
        self._entries: dict[tuple[str, str, str, str, str], Entry] = {}
        self.hosts: dict[str, HostStats] = {}
        self.flows_audited = 0
        self.occurrences = 0
        self.dropped = 0
        self._fixes: dict[tuple[str, str, str, bool], int] = {}  # (host, edit label, rule, applied) -> flows
        # Fast path: (host as given, id of a findings tuple) -> its record, for the engine hands
        # out the same tuple for the same headers; the tuple is kept so its id cannot be reused
        # while cached.
        self._known: dict[tuple[str, int], _Known] = {}
        self._hosts_seen: dict[str, tuple[str, HostStats]] = {}  # host as given -> _host(printable(host))
        self.csp_reports: dict[tuple[str, str, str, str, str], CspReport] = {}
        self.fix_previews: dict[str, FixPreview] = {}
        self._known_fixes: dict[tuple[str, int, bool], list] = {}  # -> [edits tuple, its keys, flows not yet folded]
        self._known_fix_bytes = 0

    @property
    def entries(self) -> dict[tuple[str, str, str, str, str], Entry]:
        """(host, rule, header, evidence, message) -> Entry, with every flow counted."""
        for known in self._known.values():
            known.fold()
        return self._entries

    @property
    def fixes(self) -> dict[tuple[str, str, str, bool], int]:
        """(host, edit label, rule, applied) -> flows, with every flow counted."""
        self._fold_fixes()
        return self._fixes

    def _fold_fixes(self) -> None:
        for known in self._known_fixes.values():
            if known[2]:
                for key in known[1]:
                    self._fixes[key] += known[2]
                known[2] = 0

    def record_grade_after(self, host: str, graded: ResponseGrade) -> None:
        """Fix mode: the grade outcomes of a response as fixed (or unchanged, when nothing was)."""
        _, stats = self._seen_host(host)
        if stats.grade_after is None:
            stats.grade_after = HostGrade()
        stats.grade_after.add(graded)

    def wants_fix_preview(self, host: str) -> bool:
        """False once the host has its before/after example (or the cap is reached): the
        caller can skip building what record_fix_preview would take."""
        return host not in self.fix_previews and len(self.fix_previews) < MAX_FIX_PREVIEWS

    def record_fix_preview(self, host: str, url: str | Callable[[], str], applied: bool,
                           before: Iterable[tuple[str, str]],
                           after: Iterable[tuple[str, str]] | Callable[[], Iterable[tuple[str, str]]]) -> None:
        """Keep the first fixed response of each host, for the report's before/after diff.
        `url` and `after` may be callables: they are only needed the first time."""
        if not self.wants_fix_preview(host):
            return
        host, _ = self._seen_host(host)
        if host in self.fix_previews:
            return
        if callable(url):
            url = url()
        if callable(after):
            after = after()
        self.fix_previews[host] = FixPreview(host, printable(url[:URL_MAX]), applied, _preview_headers(before), _preview_headers(after))

    def record_fixes(self, host: str, edits: Iterable, applied: bool) -> None:
        host, _ = self._seen_host(host)
        # Fast path: the same edits tuple (the Fixer shares it) on the same host again, counted
        # here and folded into `fixes` on read.
        known = self._known_fixes.get((host, id(edits), applied)) if isinstance(edits, tuple) else None
        if known is not None and known[0] is edits:
            known[2] += 1
            return
        keys = []
        for edit in edits:
            key = (host, edit.label[:200], edit.rule, applied)  # Edit.label is printable
            if key in self._fixes or len(self._fixes) < MAX_FIX_ENTRIES:
                self._fixes[key] = self._fixes.get(key, 0) + 1
                keys.append(key)
            else:
                self.dropped += 1
        if isinstance(edits, tuple) and len(keys) == len(edits) and len(set(keys)) == len(keys):
            # The tuple is kept (its id must not be reused), and a cookie edit holds the whole
            # rewritten line: bounded in bytes as well as in entries.
            size = sum(len(edit.value or "") + len(edit.detail) for edit in edits) + 64
            if size > MAX_KNOWN_FIX_BYTES >> 3:
                return
            if len(self._known_fixes) >= 4096 or self._known_fix_bytes + size > MAX_KNOWN_FIX_BYTES:
                self._fold_fixes()
                self._known_fixes.clear()
                self._known_fix_bytes = 0
                self.epoch += 1
            self._known_fixes[(host, id(edits), applied)] = [edits, keys, 0]
            self._known_fix_bytes += size

    def record_csp_report(self, report: CspReport) -> bool:
        """Count a violation report; True the first time this violation is seen (to be logged)."""
        key = (report.host, report.document_uri, report.directive, report.blocked_uri, report.disposition)
        known = self.csp_reports.get(key)
        if known is None:
            if len(self.csp_reports) >= MAX_CSP_REPORTS:
                self.dropped += 1
                return False
            known = self.csp_reports[key] = report
        known.count += 1
        return known.count == 1

    def _seen_host(self, host: str) -> tuple[str, HostStats]:
        """_host(printable(host)), remembered per host as given (bounded)."""
        seen = self._hosts_seen.get(host)
        if seen is None:
            seen = self._host(printable(host))
            if len(self._hosts_seen) >= 4096:
                self._hosts_seen.clear()
            self._hosts_seen[host] = seen
        return seen

    def _host(self, host: str) -> tuple[str, HostStats]:
        stats = self.hosts.get(host)
        if stats is None and not host:
            host = NO_HOST  # e.g. an HTTP/1.0 request without Host: reports need a name
            stats = self.hosts.get(host)
        if stats is None:
            if len(self.hosts) >= self.max_hosts:
                host = OTHER_HOSTS
                stats = self.hosts.get(host)
            if stats is None:
                stats = self.hosts[host] = HostStats()
        return host, stats

    def record(self, host: str, url: str | Callable[[], str], findings: Iterable[Finding], now: float,
               graded: ResponseGrade | None = None) -> list[Finding]:
        """Count a flow's findings (and grade outcomes); return the findings seen for the first
        time (to be logged).

        `url` may be a callable: building a URL costs, and it is only needed while an entry
        still collects examples."""
        if isinstance(findings, tuple):
            known = self._known.get((host, id(findings)))
            if known is not None and known.findings is findings:
                self._count_known(known, now, graded)
                if known.pending >= known.budget:
                    known.fold()
                    for entry in known.entries:
                        if _wants_example(entry):
                            url = _add_example(entry, url)
                    known.budget = _flows_until_example(known.entries)
                return []
        given = host
        host, stats = self._seen_host(given)
        stats.flows += 1
        if graded is not None:
            stats.grade.add(graded)
        self.flows_audited += 1
        new: list[Finding] = []
        entries: list[Entry] = []
        for finding in findings:
            self.occurrences += 1
            key = (host, finding.rule, finding.header, finding.evidence, finding.message)
            entry = self._entries.get(key)
            if entry is None:
                if len(self._entries) >= self.max_entries:
                    self.dropped += 1
                    continue
                entry = self._entries[key] = Entry(finding, host, 0, now, now)
                stats.by_severity[finding.severity] += 1
                new.append(finding)
            entry.count += 1
            entry.last_seen = now
            entries.append(entry)
            if _wants_example(entry):
                url = _add_example(entry, url)
        # Remember the tuple when every finding has its own entry (nothing dropped, no two the same).
        if isinstance(findings, tuple) and len(entries) == len(findings) and len({id(e) for e in entries}) == len(entries):
            if len(self._known) >= 4096:
                for known in self._known.values():
                    known.fold()
                self._known.clear()
                self.epoch += 1
            self._known[(given, id(findings))] = _Known(findings, stats, entries, _flows_until_example(entries))
        return new

    def _count_known(self, known: _Known, now: float, graded: ResponseGrade | None) -> None:
        """One more flow of a findings tuple already recorded for its host (folded on read)."""
        stats = known.stats
        stats.flows += 1
        if graded is not None:
            stats.grade.add(graded)
        self.flows_audited += 1
        self.occurrences += len(known.findings)
        known.pending += 1
        known.last_seen = now

    def repeat(self, host: str, findings: tuple[Finding, ...], edits: tuple | None = None, applied: bool = False,
               graded_after: ResponseGrade | None = None) -> Repeat | None:
        """What count_repeat needs to count another flow like the one just recorded with these
        arguments (record, then record_fixes and record_grade_after when given edits and
        graded_after, as fix mode calls them); None if the store did not keep the records it
        would count into."""
        known = self._known.get((host, id(findings)))
        if known is None or known.findings is not findings:
            return None
        fixes = None
        if edits is not None:
            fixes = self._known_fixes.get((self._seen_host(host)[0], id(edits), applied))
            if fixes is None or fixes[0] is not edits:
                return None
        grade_after = None
        if graded_after is not None:
            grade_after = known.stats.grade_after
            if grade_after is None:
                return None
        return Repeat(known, fixes, grade_after, graded_after, self.epoch)

    def count_repeat(self, repeat: Repeat, now: float, graded: ResponseGrade | None) -> bool:
        """Count one more flow like `repeat`'s, as record (+ record_fixes, record_grade_after)
        would. False, with nothing counted, when the repeat is stale or the flow must go through
        record() because an entry wants its URL as an example."""
        known = repeat.known
        if repeat.epoch != self.epoch or known.pending + 1 >= known.budget:
            return False
        self._count_known(known, now, graded)
        if repeat.fixes is not None:
            repeat.fixes[2] += 1
        if repeat.grade_after is not None:
            repeat.grade_after.add(repeat.graded_after)
        return True

    def sorted_entries(self) -> list[Entry]:
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        return sorted(self.entries.values(), key=lambda e: (-rank[e.finding.severity], -e.count, e.host, e.finding.rule))

    def totals(self) -> dict[str, int]:
        totals = dict.fromkeys(SEVERITIES, 0)
        for entry in self.entries.values():
            totals[entry.finding.severity] += 1
        return totals
