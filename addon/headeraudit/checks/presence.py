"""Whether a header is there, how often and how long: present, absent, at_most_once, within_limits."""

from __future__ import annotations

from typing import Any

from ..limits import TOO_LONG
from ..text import clip_evidence
from .base import Check
from .spec import expect_true


class Present(Check):
    kind = "present"
    judges_absence = True

    def run(self, facts, name, memory):
        return [] if facts.present(name) else [("missing", "")]


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


class WithinLimits(Check):
    """Only a prefix of the header was judged (limits.py): what lies past it is unknown."""

    kind = "within_limits"

    def run(self, facts, name, memory):
        return [(TOO_LONG, "")] if name in facts.response.cut else []


def compile_present(arg: Any, line: int | None) -> Check:
    expect_true(arg, "present", line)
    return Present()


def compile_absent(arg: Any, line: int | None) -> Check:
    expect_true(arg, "absent", line)
    return Absent()


def compile_at_most_once(arg: Any, line: int | None) -> Check:
    expect_true(arg, "at_most_once", line)
    return AtMostOnce()


def compile_within_limits(arg: Any, line: int | None) -> Check:
    expect_true(arg, "within_limits", line)
    return WithinLimits()
