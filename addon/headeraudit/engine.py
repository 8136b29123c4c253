"""Rules x facts -> findings.

Per response, each rule whose `when` holds runs its check on each of its headers. The engine
keeps no cache: a proxy sees the same headers again and again, and the adapter's one memo of
whole outcomes (mitm/memo.py) is what makes that cheap. The only state here is the memory of
stateful checks (CORS reflection), which lives as long as the engine's owner wants it to.
"""

from __future__ import annotations

from typing import Any

from .facts import Facts
from .model import Finding
from .rules import Ruleset
from .text import clip_evidence, escape_controls


class Engine:
    def __init__(self, ruleset: Ruleset, memory: dict[str, dict[str, Any]] | None = None) -> None:
        """`memory`: a previous engine's memory of stateful checks, kept across a reload."""
        self.ruleset = ruleset
        self.memory: dict[str, dict[str, Any]] = {rule.id: {} for rule in ruleset.rules if rule.check.stateful}
        for rule_id, state in (memory or {}).items():
            if rule_id in self.memory:
                self.memory[rule_id] = state

    def evaluate(self, facts: Facts) -> tuple[Finding, ...]:
        """The findings of one response, in ruleset order; the same mistake made many times in
        one value ("a=b;" * 25000) is one finding, not thousands of identical ones."""
        found: dict[Finding, None] = {}
        no_memory: dict[str, Any] = {}
        for rule in self.ruleset.rules:
            if not rule.when.matches(facts):
                continue
            check = rule.check
            memory = self.memory.get(rule.id, no_memory)
            for header, name in rule.judged(facts.headers):
                for evidence, detail in check.run(facts, name, memory):
                    message = f"{rule.message} ({clip_evidence(detail)})" if detail else rule.message
                    found[Finding(rule.id, rule.severity, header, message, escape_controls(evidence))] = None
        return tuple(found)
