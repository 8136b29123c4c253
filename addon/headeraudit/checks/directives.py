"""Directive lists: numeric bounds and required/forbidden directives; the effective Referrer-Policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..parsers.referrer import POLICIES as REFERRER_POLICIES
from ..text import clip_evidence
from .base import Check
from .spec import SpecError, expect_keys, expect_mapping, line_of, lower_list, str_list

HUGE = 10**30  # numbers beyond this are shown as "huge": str() of a 5,000-digit int raises (CPython >= 3.11)


@dataclass
class Directives(Check):
    """Numeric bounds and required/forbidden directives on a parsed directive list."""

    grammar: str  # hsts, comma or semicolon
    minimum: dict[str, int]
    maximum: dict[str, int]
    required: tuple[str, ...]
    forbidden: tuple[str, ...]
    judges_absence: bool = False  # `missing_header: fail`

    def _parse(self, facts, name) -> dict[str, Any] | None:
        if self.grammar == "hsts":
            hsts = facts.parsed("hsts", name)
            if not hsts.valid:
                return None  # an invalid header is the business of the `valid` check
            parsed: dict[str, Any] = {"max-age": hsts.max_age}  # an int, however long
            if hsts.include_subdomains:
                parsed["includesubdomains"] = None
            if hsts.preload:
                parsed["preload"] = None
            return parsed
        return facts.parsed(self.grammar, name)

    def run(self, facts, name, memory):
        if not facts.present(name):  # (an empty value too: it sets no directive)
            return [("missing", "")] if self.judges_absence else []
        values = facts.values(name)
        parsed = self._parse(facts, name)
        if parsed is None:
            return []
        evidence = values[0] if self.grammar == "hsts" else ", ".join(values)  # clipped once, if it is shown
        out = []
        for directive, bound in self.minimum.items():
            number = _int_or_none(parsed.get(directive))
            if number is None or number < bound:
                shown = "missing" if directive not in parsed else clip_evidence(
                    str(parsed[directive]) if number is None or number < HUGE else "huge", 40)
                out.append((evidence, f"{directive} is {shown}, below {bound}"))
        for directive, bound in self.maximum.items():
            number = _int_or_none(parsed.get(directive))
            if number is not None and number > bound:
                out.append((evidence, f"{directive} is {number if number < HUGE else 'huge'}, above {bound}"))
        missing = [d for d in self.required if d not in parsed]
        if missing:
            out.append((evidence, "missing directive " + ", ".join(missing)))
        present = [d for d in self.forbidden if d in parsed]
        if present:
            out.append((evidence, "forbidden directive " + ", ".join(present)))
        return [(clip_evidence(evidence), detail) for evidence, detail in out] if out else out


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if value is None or not value.isdigit() or len(value) > 30:
        return None
    return int(value)


def compile_directives(arg: Any, line: int | None) -> Directives:
    spec = expect_mapping(arg, "directives", line)
    expect_keys(spec, ("grammar", "min", "max", "required", "forbidden"), "directives")
    grammar = spec.get("grammar", "comma")
    if grammar not in ("hsts", "comma", "semicolon"):
        raise SpecError("directives.grammar must be one of: hsts, comma, semicolon", line)
    bounds = {}
    for key in ("min", "max"):
        raw = expect_mapping(spec.get(key, {}), f"directives.{key}", line)
        for directive, number in raw.items():
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise SpecError(f"directives.{key}.{directive} must be a non-negative integer", line_of(raw, directive))
        bounds[key] = {str(d).lower(): v for d, v in raw.items()}
    if not any((bounds["min"], bounds["max"], spec.get("required"), spec.get("forbidden"))):
        raise SpecError("directives needs at least one of min, max, required, forbidden", line)
    return Directives(grammar, bounds["min"], bounds["max"], lower_list(spec, "required", "directives.required", line),
                      lower_list(spec, "forbidden", "directives.forbidden", line))


@dataclass
class ReferrerCheck(Check):
    """The effective policy (W3C Referrer Policy §8.1: the last recognised token) is forbidden."""

    forbidden: frozenset[str]

    def run(self, facts, name, memory):
        parsed = facts.parsed("referrer-policy", name)
        if parsed is not None and parsed.policy in self.forbidden:
            return [(clip_evidence(", ".join(facts.values(name))), f"effective policy is {parsed.policy}")]
        return []


def compile_referrer(arg: Any, line: int | None) -> ReferrerCheck:
    spec = expect_mapping(arg, "referrer_policy", line)
    expect_keys(spec, ("forbidden",), "referrer_policy")
    forbidden = frozenset(s.lower() for s in str_list(spec.get("forbidden"), "referrer_policy.forbidden", line))
    unknown = forbidden - REFERRER_POLICIES
    if unknown:
        raise SpecError(f"referrer_policy.forbidden: unknown policy {sorted(unknown)[0]!r}", line)
    return ReferrerCheck(forbidden)
