"""A host's grade: the worst result of each test over its scored responses.

A proxy sees many responses per host, not one front page. A host is graded from its HTML
responses if it served any, else from all of them; of the statuses only 2xx, 401 and 403 are
scored (tables.scored). Each test takes the WORST result: a site is as good as its weakest
page. "No cookies" and "no HTTPS seen" count only when no response said more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .tables import TESTS, WEAK, ResponseGrade, TestResult, letter, score

UNIVERSAL_CORS_ORIGINS = 2


@dataclass(slots=True)
class _Worst:
    responses: int = 0
    worst: dict[str, TestResult] = field(default_factory=dict)
    last: tuple[TestResult, ...] = ()  # the results merged last: a site's responses repeat them

    def add(self, outcomes: tuple[TestResult, ...]) -> None:
        self.responses += 1
        if outcomes is self.last:
            return
        self.last = outcomes
        worst = self.worst
        for outcome in outcomes:
            known = worst.get(outcome.test)
            if known is not outcome and (known is None or _worse(outcome, known)):
                worst[outcome.test] = outcome


def _worse(new: TestResult, old: TestResult) -> bool:
    new_weak, old_weak = new.result in WEAK, old.result in WEAK
    if new_weak != old_weak:
        return old_weak  # anything said beats "nothing seen"
    return new.weight < old.weight


class HostGrade:
    """Worst outcome per test over one host's scored responses (HTML ones preferred)."""

    __slots__ = ("_html", "_other", "_echoed")

    def __init__(self) -> None:
        self._html = _Worst()
        self._other = _Worst()
        self._echoed: set[str] = set()

    def add(self, graded: ResponseGrade) -> None:
        if graded.echoed_origin is not None and len(self._echoed) < UNIVERSAL_CORS_ORIGINS:
            self._echoed.add(graded.echoed_origin)
        (self._html if graded.html else self._other).add(graded.outcomes)

    @property
    def responses(self) -> int:
        return self._html.responses + self._other.responses

    def outcomes(self) -> list[TestResult]:
        source = self._html if self._html.responses else self._other
        out = []
        for test in TESTS:
            outcome = source.worst.get(test)
            if outcome is None:
                continue
            if test == "cross-origin-resource-sharing" and len(self._echoed) >= UNIVERSAL_CORS_ORIGINS:
                outcome = TestResult(test, "cross-origin-resource-sharing-implemented-with-universal-access")
            out.append(outcome)
        return out

    def summary(self) -> dict | None:
        outcomes = self.outcomes()
        if not outcomes:
            return None
        points = score([o.modifier for o in outcomes])
        return {
            "score": points, "grade": letter(points),
            "responses": self._html.responses or self._other.responses,
            "tests": [o.as_dict() for o in outcomes],
        }
