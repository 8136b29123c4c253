"""Findings aggregated across flows, with bounded memory: plain counts.

ZAP's lesson (zaproxy #2717: 572 identical alerts): a proxy sees the same problem on
every response of a host. One entry per host and finding (rule, header, evidence, message) with a
count, first/last seen and a few example URLs; the first sighting is what gets logged.
The store is capped: past the cap new entries are counted as dropped, never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .grade import HostGrade
from .model import SEVERITIES, SEVERITY_RANK, Finding, Outcome
from .text import escape_controls

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
    by_rule: dict[str, int] = field(default_factory=dict)  # distinct entries per rule, for the fair shares
    entries: int = 0
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


# Fair shares: one host, or one rule on one host, cannot take the store. A finding past its share
# is counted in one entry of its rule and header on that host, evidence MORE.
MAX_PER_HOST = 200
MAX_PER_HOST_AND_RULE = 20
MORE = "(more)"
MORE_MESSAGE = "further distinct findings of this rule on this host, counted together"
MAX_FIX_ENTRIES = 5_000
MAX_CSP_REPORTS = 1_000
MAX_FIX_PREVIEWS = 200
PREVIEW_HEADERS = 60
PREVIEW_VALUE = 500


def _preview_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(escape_controls(n[:100]), escape_controls(v[:PREVIEW_VALUE])) for n, v in list(headers)[:PREVIEW_HEADERS]]


def _add_example(entry: Entry, url: str | Callable[[], str]) -> str:
    if callable(url):
        url = url()
    example = escape_controls(url[:URL_MAX])
    if example and example not in entry.examples:
        entry.examples.append(example)
    return url


class FindingStore:
    def __init__(self, max_entries: int = 20_000, max_hosts: int = 10_000) -> None:
        self.max_entries = max_entries
        self.max_hosts = max_hosts
        self.clear()

    def clear(self) -> None:
        # (host, finding) -> Entry: one per host, rule, header, evidence and message
        self.entries: dict[tuple[str, Finding], Entry] = {}
        self.hosts: dict[str, HostStats] = {}
        self.flows_audited = 0
        self.occurrences = 0
        self.dropped = 0  # occurrences (of findings, fixes, CSP reports) past a cap: counted, not kept
        self.fixes: dict[tuple[str, str, str, bool], int] = {}  # (host, edit label, rule, applied) -> flows
        self.csp_reports: dict[tuple[str, str, str, str, str], CspReport] = {}
        self.fix_previews: dict[str, FixPreview] = {}

    def record(self, host: str, url: str | Callable[[], str], outcome: Outcome, now: float,
               applied: bool = False) -> list[Finding]:
        """Count one flow: its findings, grade results and (fix mode) edits; return the findings
        its host shows for the first time (to be logged). `url` may be a callable: building a
        URL costs, and it is only needed while an entry still collects examples. `applied`:
        whether the edits were made (a live flow) or only previewed (saved traffic)."""
        host, stats = self._host(host)
        stats.flows += 1
        self.flows_audited += 1
        if outcome.grade is not None:
            stats.grade.add(outcome.grade)
        if outcome.grade_after is not None:
            if stats.grade_after is None:
                stats.grade_after = HostGrade()
            stats.grade_after.add(outcome.grade_after)
        new: list[Finding] = []
        entries = self.entries
        self.occurrences += len(outcome.findings)
        for finding in outcome.findings:
            key = (host, finding)
            entry = entries.get(key)
            if entry is None:
                entry = self._new_entry(host, stats, finding, now)
                if entry is None:
                    self.dropped += 1
                    continue
                if entry.count == 0:
                    new.append(entry.finding)
            count = entry.count = entry.count + 1
            if now > entry.last_seen:  # saved flows need not come in time order
                entry.last_seen = now
            elif now < entry.first_seen:
                entry.first_seen = now
            # Example URLs: the first flows', then at power-of-two counts (a URL costs to build).
            if len(entry.examples) < MAX_EXAMPLES and (count <= MAX_EXAMPLES or not count & (count - 1)):
                url = _add_example(entry, url)
        if outcome.fix is not None:
            for label, rule in outcome.fix.counted:
                fix_key = (host, label, rule, applied)
                if fix_key in self.fixes or len(self.fixes) < MAX_FIX_ENTRIES:
                    self.fixes[fix_key] = self.fixes.get(fix_key, 0) + 1
                else:
                    self.dropped += 1
        return new

    def _new_entry(self, host: str, stats: HostStats, finding: Finding, now: float) -> Entry | None:
        """The entry a finding not seen on this host before is counted in: its own, or past the
        host's or the rule's share, its rule's MORE entry; None when the store is full."""
        shared = stats.entries < MAX_PER_HOST and stats.by_rule.get(finding.rule, 0) < MAX_PER_HOST_AND_RULE
        if not shared:
            finding = finding._replace(message=MORE_MESSAGE, evidence=MORE)
            entry = self.entries.get((host, finding))
            if entry is not None:
                return entry
        if len(self.entries) >= self.max_entries:
            return None
        if shared:
            stats.by_rule[finding.rule] = stats.by_rule.get(finding.rule, 0) + 1
        entry = self.entries[(host, finding)] = Entry(finding, host, 0, now, now)
        stats.entries += 1
        stats.by_severity[finding.severity] += 1
        return entry

    def wants_fix_preview(self, host: str) -> bool:
        """False once the host has its before/after example (or the cap is reached): the
        caller can skip building what record_fix_preview would take."""
        return host not in self.fix_previews and len(self.fix_previews) < MAX_FIX_PREVIEWS

    def record_fix_preview(self, host: str, url: str, applied: bool, before: Iterable[tuple[str, str]],
                           after: Iterable[tuple[str, str]]) -> None:
        """Keep the first fixed response of each host, for the report's before/after diff."""
        host, _ = self._host(host)
        if self.wants_fix_preview(host):
            self.fix_previews[host] = FixPreview(host, escape_controls(url[:URL_MAX]), applied,
                                                 _preview_headers(before), _preview_headers(after))

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

    def _host(self, host: str) -> tuple[str, HostStats]:
        """The host's name as reports show it, and its stats; past max_hosts, "(other hosts)"."""
        host = escape_controls(host) or NO_HOST  # e.g. an HTTP/1.0 request without Host: reports need a name
        stats = self.hosts.get(host)
        if stats is None:
            if len(self.hosts) >= self.max_hosts:
                host = OTHER_HOSTS
                stats = self.hosts.get(host)
            if stats is None:
                stats = self.hosts[host] = HostStats()
        return host, stats

    def sorted_entries(self) -> list[Entry]:
        return sorted(self.entries.values(), key=lambda e: (-SEVERITY_RANK[e.finding.severity], -e.count, e.host, e.finding.rule))

    def totals(self) -> dict[str, int]:
        totals = dict.fromkeys(SEVERITIES, 0)
        for entry in self.entries.values():
            totals[entry.finding.severity] += 1
        return totals
