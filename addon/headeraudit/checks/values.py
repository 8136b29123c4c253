"""Checks on each line's value: equals, one_of, none_of, matches, not_matches; tokens; discloses_version."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..parsers.products import parse_products
from ..text import clip_evidence
from .base import Check
from .spec import SpecError, compile_regex, expect_keys, expect_mapping, expect_true, lower_list, str_list


@dataclass
class ValueTest(Check):
    """A predicate on each line's trimmed value; a line that fails it is a violation."""

    predicate: Callable[[str], bool]
    describe: str

    def run(self, facts, name, memory):
        return [(clip_evidence(v), self.describe) for v in dict.fromkeys(facts.values(name)) if not self.predicate(v.strip())]


def compile_value_test(kind: str, arg: Any, line: int | None, case_sensitive: bool) -> ValueTest:
    if kind in ("matches", "not_matches"):
        regex = compile_regex(arg, kind, line, 0 if case_sensitive else re.IGNORECASE)
        if kind == "matches":
            return ValueTest(lambda v: regex.search(v) is not None, f"value does not match {regex.pattern}")
        return ValueTest(lambda v: regex.search(v) is None, f"value matches {regex.pattern}")
    options = str_list(arg, kind, line)
    fold: Callable[[str], str] = (lambda s: s) if case_sensitive else str.lower
    listed = frozenset(fold(o.strip()) for o in options)
    shown = ", ".join(options)
    if kind == "equals":
        return ValueTest(lambda v: fold(v) in listed, f"expected {shown}")
    if kind == "one_of":
        return ValueTest(lambda v: fold(v) in listed, f"expected one of: {shown}")
    return ValueTest(lambda v: fold(v) not in listed, f"value must not be: {shown}")


@dataclass
class Tokens(Check):
    """Tokens of all lines split on `separator`: some required, some forbidden."""

    separator: str
    contains: tuple[str, ...]
    not_contains: tuple[str, ...]

    def run(self, facts, name, memory):
        values = facts.values(name)
        if not values:
            return []
        tokens = {t.strip().lower() for v in values for t in v.split(self.separator)}
        out = []
        evidence = clip_evidence(", ".join(values))
        missing = [t for t in self.contains if t not in tokens]
        if missing:
            out.append((evidence, "missing " + ", ".join(missing)))
        present = [t for t in self.not_contains if t in tokens]
        if present:
            out.append((evidence, "must not contain " + ", ".join(present)))
        return out


def compile_tokens(arg: Any, line: int | None) -> Tokens:
    spec = expect_mapping(arg, "tokens", line)
    expect_keys(spec, ("separator", "contains", "not_contains"), "tokens")
    separator = spec.get("separator", ",")
    if not isinstance(separator, str) or not separator:
        raise SpecError("tokens.separator must be a non-empty string", line)
    contains = lower_list(spec, "contains", "tokens.contains", line)
    not_contains = lower_list(spec, "not_contains", "tokens.not_contains", line)
    if not (contains or not_contains):
        raise SpecError("tokens needs contains or not_contains", line)
    return Tokens(separator, contains, not_contains)


class DisclosesVersion(Check):
    """The header names a software release (parsers/products.py), not merely a product."""

    kind = "discloses_version"

    def run(self, facts, name, memory):
        out = []
        for value in dict.fromkeys(facts.values(name)):
            disclosed = parse_products(value).disclosed()
            if disclosed:
                out.append((clip_evidence(value), f"discloses {clip_evidence(', '.join(disclosed), 80)}"))
        return out


def compile_discloses_version(arg: Any, line: int | None) -> DisclosesVersion:
    expect_true(arg, "discloses_version", line)
    return DisclosesVersion()
