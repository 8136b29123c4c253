"""Plain data shared by the core, the adapter and the reporters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .fixes import Edit, Rewrite
    from .grade.tables import ResponseGrade

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}

RawLine = tuple[bytes, bytes]  # a header field as received: (name, value), not always UTF-8


def parse_severity(text: str) -> str:
    """Normalise a severity name; ValueError names the accepted values."""
    name = str(text).strip().lower()
    if name not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {text!r}; expected one of: {', '.join(SEVERITIES)}")
    return name


@dataclass(frozen=True, slots=True)
class Response:
    """One response as the core sees it, free of any proxy type.

    `headers` are the raw lines the rules and fixes may read (a proxy may leave out the others).
    `request_origin` is the request's Origin header, or a callable returning it: only a
    credentialed CORS answer is compared with it, so a proxy need not look it up otherwise.
    """

    scheme: str
    host: str
    path: str
    method: str
    status: int
    headers: Sequence[RawLine]
    request_origin: str | None | Callable[[], str | None] = None
    flow: Any = field(default=None, repr=False)  # opaque, for `when.filter` predicates only
    live: bool = True  # a live response is rewritten in fix mode; a saved one only previewed
    cut: tuple[str, ...] = ()  # headers (lower case) of which only a prefix is in `headers` (audit.LIMITS)
    # When it was received (epoch seconds): what time-dependent verdicts (a cookie's Expires)
    # compare with, so saved traffic is judged as it was captured. None: now.
    time: float | None = None

    def origin(self) -> str | None:
        origin = self.request_origin() if callable(self.request_origin) else self.request_origin
        return None if origin is None else origin.strip()


class Finding(NamedTuple):
    """One rule violated by one response.

    `evidence` is what makes two findings of the same rule on the same host different
    (the offending value, a cookie name, "missing"); it is part of the dedup key, so it
    never carries per-request noise such as cookie values. A tuple: the store counts findings
    by (host, finding) on every flow, and a tuple's hash and equality are C-level.
    """

    rule: str
    severity: str
    header: str
    message: str
    evidence: str

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "header": self.header,
            "message": self.message,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class FixOutcome:
    """What fix mode does to a response: the rewrite of its lines and how it is described."""

    rewrite: Rewrite
    edits: tuple[Edit, ...]
    comment: str  # "headeraudit fixed: +Strict-Transport-Security, ..." ("would fix" when saved)
    edit_dicts: tuple[dict[str, Any], ...]  # flow metadata and reports; read-only, shared
    findings_after: tuple[dict[str, str], ...]  # the findings of the response as fixed
    counted: tuple[tuple[str, str], ...] = ()  # (edit label, rule) of each edit, as the store counts them


@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything that follows from one response: the proxy applies it to the flow and the
    store counts it. The same headers give an equal Outcome, so a proxy may keep one and hand
    it to every response like it (read-only: its dicts are shared by those flows)."""

    findings: tuple[Finding, ...]  # at or above the minimum severity
    grade: ResponseGrade | None  # the Observatory tests' results; None when not scored
    comment: str  # the flow comment: a summary line, then a line per finding; "" without findings
    marker: str  # the flow marker, "" without findings
    metadata: dict[str, Any] | None  # flow.metadata["headeraudit"], None without findings
    fix: FixOutcome | None = None  # fix mode, when something is fixed
    grade_after: ResponseGrade | None = None  # fix mode: the grade of the response as fixed
