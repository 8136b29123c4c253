"""The CI gate: does a run's report pass `headeraudit_fail_on` and `headeraudit_min_grade`?

Pure: it reads the report dict, so the verdict is exactly what the written reports say.
mitmdump cannot exit with it (its status is decided by mitmproxy, and `sys.exit` in an
addon's `done` skips the `done` of later addons such as `hardump`), so the addon hands the
verdict to whoever asked for it and the `headeraudit` command (cli.py) exits with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .grade.tables import GRADE_ORDER
from .model import SEVERITIES, SEVERITY_RANK, parse_severity

EXIT_OK = 0
EXIT_GATE_FAILED = 3
EXIT_NOTHING_AUDITED = 4  # no flow was audited: an empty file, or a filter that matched nothing
EXIT_FETCH_FAILED = 5  # `headeraudit scan`: a URL could not be fetched
NOTHING_AUDITED = "no flow was audited (an empty capture, or headeraudit_filter matched nothing)"


def parse_grade(text: str) -> str:
    """A letter grade as in the report (A+ … F), case-insensitive; ValueError lists them."""
    grade = str(text).strip().upper()
    if grade not in GRADE_ORDER:
        raise ValueError(f"unknown grade {text!r}; expected one of: {', '.join(GRADE_ORDER)}")
    return grade


def grade_below(grade: str, minimum: str) -> bool:
    return GRADE_ORDER.index(grade) > GRADE_ORDER.index(minimum)  # GRADE_ORDER is best first


@dataclass(frozen=True)
class Verdict:
    failures: tuple[str, ...]
    checked: tuple[str, ...]  # what was asked, for the summary ("fail_on=high", "min_grade=B")
    nothing_audited: bool = False  # a run that audited nothing fails whatever was asked

    @property
    def status(self) -> int:
        if self.nothing_audited:
            return EXIT_NOTHING_AUDITED
        return EXIT_OK if self.passed else EXIT_GATE_FAILED

    @property
    def passed(self) -> bool:
        return not self.failures

    def lines(self) -> list[str]:
        if not self.checked and not self.nothing_audited:
            return []
        if self.passed:
            return [f"gate passed ({', '.join(self.checked)})"]
        return [f"gate FAILED ({', '.join(self.checked)}):", *(f"  {line}" for line in self.failures)]


def evaluate(report: dict[str, Any], fail_on: str | None, min_grade: str | None) -> Verdict:
    """Failures: findings at or above `fail_on`; hosts graded below `min_grade` (the grade of
    what the server sent, not of the fix-mode preview)."""
    failures: list[str] = []
    checked: list[str] = []
    nothing_audited = report.get("summary", {}).get("flows_audited") == 0
    if nothing_audited:
        failures.append(NOTHING_AUDITED)
    if fail_on:
        fail_on = parse_severity(fail_on)
        checked.append(f"fail_on={fail_on}")
        at_or_above = [s for s in SEVERITIES if SEVERITY_RANK[s] >= SEVERITY_RANK[fail_on]]
        counts = {s: 0 for s in at_or_above}
        for finding in report.get("findings", ()):
            if finding["severity"] in counts:
                counts[finding["severity"]] += 1
        total = sum(counts.values())
        if total:
            detail = ", ".join(f"{counts[s]} {s}" for s in reversed(at_or_above) if counts[s])
            failures.append(f"{total} distinct finding{'s' if total != 1 else ''} at or above {fail_on} ({detail})")
        dropped = report.get("summary", {}).get("dropped", 0)
        if dropped and not total:
            failures.append(f"{dropped} findings were dropped (store full): their severities are unknown")
    if min_grade:
        min_grade = parse_grade(min_grade)
        checked.append(f"min_grade={min_grade}")
        for host in report.get("grades", {}).get("hosts", ()):
            if grade_below(host["grade"], min_grade):
                failures.append(f"{host['host']}: grade {host['grade']} (score {host['score']}) is below {min_grade}")
    return Verdict(tuple(failures), tuple(checked), nothing_audited)
