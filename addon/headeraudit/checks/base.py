"""What every compiled check is: a callable over a response's facts for one header."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, ClassVar

from ..facts import Facts

Violation = tuple[str, str]  # (evidence, detail)


class Check:
    """A compiled check. `run` gets the response's facts and the lower-cased name of the header
    the rule judges, and answers with violations. `memory` is the check's own state across
    responses, owned by the engine (empty for the stateless checks)."""

    kind: str = ""  # set by compile_check
    # Whether an absent header can be a violation; if not, the engine skips absent headers.
    judges_absence: bool = False
    # A stateful check remembers what it saw (CORS reflection): its rule keeps memory per engine.
    stateful: ClassVar[bool] = False

    def run(self, facts: Facts, name: str, memory: dict[str, Any]) -> list[Violation]:  # pragma: no cover
        raise NotImplementedError

    def state(self, memory: dict[str, Any], host: str, origin: str) -> Hashable | None:
        """A stateful check's answer to: what of `memory` does the verdict on a response of `host`
        echoing `origin` read, if running the check would not change `memory`? None when it would
        (or the check cannot say): the response must then be judged, not looked up."""
        return None
