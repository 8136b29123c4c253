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


# An attacker-written CSP can name thousands of unknown directives: each is a finding, and each
# finding an entry, a log line and a report row. Past this many per rule and response, the rest
# are one finding.
MAX_FINDINGS_PER_RULE = 10
MORE = "(more)"


class Engine:
    def __init__(self, ruleset: Ruleset, memory: dict[str, dict[str, Any]] | None = None) -> None:
        """`memory`: a previous engine's memory of stateful checks, kept across a reload."""
        self.ruleset = ruleset
        self._messages = {rule.id: rule.message for rule in ruleset.rules}
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
                violations = check.run(facts, name, memory)
                for evidence, detail in dict.fromkeys(violations) if len(violations) > 1 else violations:
                    message = f"{rule.message} ({clip_evidence(detail)})" if detail else rule.message
                    found[Finding(rule.id, rule.severity, header, message, escape_controls(evidence))] = None
        return tuple(found)

    def capped(self, findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
        """At most MAX_FINDINGS_PER_RULE findings of each rule; the rest as one with evidence
        MORE. What is shown and counted, not what fix mode fixes (it fixes them all)."""
        counts: dict[str, int] = {}
        for finding in findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
        if max(counts.values(), default=0) <= MAX_FINDINGS_PER_RULE:
            return findings
        kept: dict[Finding, None] = {}
        shown: dict[str, int] = {}
        for finding in findings:
            n = shown[finding.rule] = shown.get(finding.rule, 0) + 1
            if n <= MAX_FINDINGS_PER_RULE:
                kept[finding] = None
            else:
                message = self._messages[finding.rule] + " (and more in this response)"
                kept[finding._replace(message=message, evidence=MORE)] = None
        return tuple(kept)
