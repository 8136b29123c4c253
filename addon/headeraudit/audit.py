"""One response in, one Outcome out: the whole judgement, free of any proxy type.

facts (parsed once) -> engine (findings) and grade (test results) -> in fix mode the fixer's
rewrite, applied to the same lines and judged again -> the annotation a proxy puts on the flow.
The adapter keeps Outcomes in its memo; tests and saved traffic take this same path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .canonical import CANONICAL, CANONICAL_CHECKS
from .engine import Engine
from .facts import Facts
from .fixes import Fixer, Planned
from .grade import GRADE_HEADERS, ResponseGrade, grade_response
from .model import SEVERITIES, SEVERITY_RANK, Finding, FixOutcome, Outcome, RawLine, Response
from .limits import LONG_LINE, MAX_FIELDS, MAX_HEADER_BYTES, MAX_HEADER_LINES, first_lines, within_limits
from .rules import Ruleset
from .text import clip_evidence, terminal_safe

COMMENT_PREFIX = "headeraudit: "
# Auditor._read's markers: a line no verdict reads; the CORS line select() looks into.
_SKIP: Any = object()
_CREDENTIALS: Any = object()
FIX_COMMENT_PREFIX = "headeraudit fixed: "
FINDING_COMMENT_PREFIX = "headeraudit ["  # "headeraudit [HIGH] csp-unsafe-inline: Content-Security-Policy: …"
COMMENT_FINDINGS = 12  # finding lines in a flow comment; the rest are counted
COMMENT_EVIDENCE = 200  # characters of evidence per line
WOULD_FIX_COMMENT_PREFIX = "headeraudit would fix: "
MARKERS = {
    "critical": ":fire:",
    "high": ":red_circle:",
    "medium": ":orange_circle:",
    "low": ":yellow_circle:",
    "info": ":large_blue_circle:",
}


@dataclass(frozen=True)
class AuditSettings:
    """What the auditor is asked to do (the adapter parses these from its options)."""

    fix: bool = False
    min_severity: str = "info"
    fix_opt_in: bool = False
    csp_report_endpoint: str | None = None  # fix mode: preview the CSP report-only, reports to this path


# What select() returns: the judged lines, whether the outcome depends on the request, and the
# lower-case names of the headers not judged whole. A plain tuple: it is built on every response.
Selected = tuple[tuple[RawLine, ...], bool, tuple[str, ...]]


def summarise(findings: Sequence[Finding]) -> str:
    """The flow comment: 'headeraudit: 2 high, 1 medium — hsts-missing, csp-unsafe-inline', then
    a line per finding with its evidence, worst first (mitmweb shows comments, not metadata)."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        counts[finding.severity] += 1
    parts = [f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s]]
    rules = dict.fromkeys(terminal_safe(f.rule) for f in findings)
    lines = [f"{COMMENT_PREFIX}{', '.join(parts)} — {', '.join(rules)}"]
    worst_first = sorted(findings, key=lambda f: -SEVERITY_RANK[f.severity])
    for finding in worst_first[:COMMENT_FINDINGS]:
        evidence = clip_evidence(finding.evidence, COMMENT_EVIDENCE)
        lines.append(terminal_safe(f"{FINDING_COMMENT_PREFIX}{finding.severity.upper()}] {finding.rule}: {finding.header}: {evidence}"))
    if len(findings) > COMMENT_FINDINGS:
        lines.append(f"{FINDING_COMMENT_PREFIX}…] and {len(findings) - COMMENT_FINDINGS} more (headeraudit.findings, the report)")
    return "\n".join(lines)


class Auditor:
    """A Ruleset and the settings, compiled once; `assess` is called per response."""

    def __init__(self, ruleset: Ruleset, settings: AuditSettings = AuditSettings(),
                 memory: dict[str, dict[str, Any]] | None = None) -> None:
        """`memory`: a previous auditor's memory of stateful checks (kept across reloads)."""
        self.ruleset = ruleset
        self.settings = settings
        self.engine = Engine(ruleset, memory)
        self.fixer = Fixer(ruleset, settings.fix_opt_in, settings.csp_report_endpoint) if settings.fix else None
        self._min_rank = SEVERITY_RANK[settings.min_severity]
        rules = ruleset.rules
        # The header lines an outcome depends on: what a rule, a `when` condition or the grade
        # reads, and in fix mode every line a fix may touch (its rewrite names them).
        self.read_headers: frozenset[str] = frozenset(
            {k for r in rules for k in r.keys} | {n for r in rules for n in (*r.when.present, *r.when.absent)}
            | GRADE_HEADERS | (self.fixer.touchable if self.fixer else frozenset())
        )
        # raw lower-case name -> how its lines are judged (None: as sent; else their canonical form)
        self._read: dict[bytes, Any] = {}
        for name in self.read_headers:
            kinds = {r.check.kind for r in rules if name in r.keys}
            canonical = CANONICAL.get(name) if kinds <= CANONICAL_CHECKS.get(name, frozenset()) else None
            self._read[name.encode("utf-8", "surrogateescape")] = canonical
        self._read[b"access-control-allow-credentials"] = _CREDENTIALS  # read by the grade, so always
        # Whether an outcome depends on the request's host and path besides the headers...
        self.reads_location = any(r.when.location for r in rules) or bool(self.fixer and self.fixer.needs_host)
        # ... or on the flow as a whole (a mitmproxy filter expression): then it is never kept.
        self.reads_flow = any(r.when.flow_filter is not None for r in rules)
        self._stateful = [(r.id, r.check) for r in rules if r.check.stateful]

    def state(self, host: str, origin: str) -> tuple | None:
        """What the stateful checks' memory decides about a response of `host` (lower case) that
        echoes `origin` with credentials, when judging it would leave that memory as it is; None
        when it would not (see Check.state). A proxy may key a memo of outcomes on it."""
        memory = self.engine.memory
        states = []
        for rule_id, check in self._stateful:
            state = check.state(memory[rule_id], host, origin)
            if state is None:
                return None
            states.append(state)
        return tuple(states)

    @property
    def memory(self) -> dict[str, dict[str, Any]]:
        return self.engine.memory

    def select(self, fields: Sequence[RawLine]) -> Selected:
        """The lines an outcome depends on (names in lower case, values in the form they are
        judged, see canonical.py, within MAX_HEADER_BYTES and MAX_HEADER_LINES), the headers
        cut to fit, and whether the outcome also depends on the request: a credentialed CORS
        answer is compared with the request's Origin (Facts.cors_echoed_origin)."""
        lines: list[RawLine] = []
        append, read = lines.append, self._read.get
        credentials = long = False
        if len(fields) > MAX_FIELDS:
            fields = first_lines(fields)
        for name, value in fields:
            name = name.lower()
            how = read(name, _SKIP)
            if how is _SKIP:
                continue
            if len(value) > LONG_LINE:
                long = True
                if len(value) > MAX_HEADER_BYTES:  # bounded before canonical.py reads it; cut below
                    value = value[:MAX_HEADER_BYTES + 1]
            if how is None:
                append((name, value))
            elif how is _CREDENTIALS:
                append((name, value))
                credentials = credentials or value.strip().lower() == b"true"
            else:
                append((name, how(value)))
        cut: tuple[str, ...] = ()
        if long or len(lines) > MAX_HEADER_LINES:
            lines, cut = within_limits(lines)
        depends_on_request = credentials and any(name == b"access-control-allow-origin" for name, _ in lines)
        return tuple(lines), depends_on_request, cut

    def facts(self, response: Response, now: datetime | None = None) -> Facts:
        return Facts(response, self.ruleset.session_cookie_pattern, now)

    def assess(self, response: Response) -> Outcome:
        """The Outcome of one response. Its lines may be all the response's or only those
        `select` returns: the outcome is the same."""
        lines, _, cut = self.select(response.headers)
        response = replace(response, headers=lines, cut=tuple(sorted({*response.cut, *cut})))
        facts = self.facts(response)
        findings = self.engine.evaluate(facts)
        grade = grade_response(facts)
        if self._min_rank:
            findings = tuple(f for f in findings if SEVERITY_RANK[f.severity] >= self._min_rank)
        fix, grade_after = None, None
        if self.fixer is not None:
            planned = self.fixer.plan(findings, facts, response.headers)
            grade_after = grade
            if planned is not None:
                fix, grade_after = self._fixed(response, planned)
        findings = self.engine.capped(findings)
        if not findings:
            return Outcome((), grade, "", "", None, fix, grade_after)
        worst = max(findings, key=lambda f: SEVERITY_RANK[f.severity]).severity
        metadata = {"findings": [f.as_dict() for f in findings], "max_severity": worst}
        return Outcome(findings, grade, summarise(findings), MARKERS[worst], metadata, fix, grade_after)

    def _fixed(self, response: Response, planned: Planned) -> tuple[FixOutcome, ResponseGrade | None]:
        """The fix and the grade of the response as fixed: the rewrite applied to the same lines
        and judged again (so fix closure is a property of this path, tested as such)."""
        facts = self.facts(replace(response, headers=planned.rewrite.apply(response.headers)))
        findings_after = self.engine.capped(self.engine.evaluate(facts))
        prefix = FIX_COMMENT_PREFIX if response.live else WOULD_FIX_COMMENT_PREFIX
        labels = [edit.label for edit in planned.edits]
        fix = FixOutcome(
            planned.rewrite, planned.edits, prefix + ", ".join(labels),
            tuple(edit.as_dict() for edit in planned.edits), tuple(f.as_dict() for f in findings_after),
            tuple((label[:200], edit.rule) for label, edit in zip(labels, planned.edits)),
        )
        return fix, grade_response(facts)
