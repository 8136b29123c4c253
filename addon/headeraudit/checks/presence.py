"""Whether a header is there, and how often: present, absent, at_most_once."""

from __future__ import annotations

from typing import Any

from ..text import clip_evidence
from .base import Check
from .spec import expect_true


class Present(Check):
    kind = "present"
    judges_absence = True

    def run(self, facts, name, memory):
        return [] if facts.values(name) else [("missing", "")]


class Absent(Check):
    kind = "absent"

    def run(self, facts, name, memory):
        return [(clip_evidence(v), "") for v in dict.fromkeys(facts.values(name))]


class AtMostOnce(Check):
    kind = "at_most_once"

    def run(self, facts, name, memory):
        values = facts.values(name)
        if len(values) > 1:
            return [(clip_evidence(" | ".join(values)), f"header sent {len(values)} times")]
        return []


def compile_present(arg: Any, line: int | None) -> Check:
    expect_true(arg, "present", line)
    return Present()


def compile_absent(arg: Any, line: int | None) -> Check:
    expect_true(arg, "absent", line)
    return Absent()


def compile_at_most_once(arg: Any, line: int | None) -> Check:
    expect_true(arg, "at_most_once", line)
    return AtMostOnce()
