"""`valid`: a header judged by its own grammar, chosen when the rule is compiled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..parsers.sf import unknown_token
from ..text import clip_evidence
from .base import Check, Violation
from .spec import SpecError, expect_keys, expect_mapping, str_list


EMPTY = "(empty)"  # the evidence of a header sent with an empty value


@dataclass
class Valid(Check):
    """Report what makes the header invalid; problems whose code is in `ignore` are not.

    An empty value (every line empty or whitespace) is invalid in every grammar here, and
    sets no policy: Facts reads such a header as absent (see Facts.empty), so the rule that
    asks for the header fires too."""

    ignore: frozenset[str] = frozenset()

    def run(self, facts, name, memory):
        if name in facts.empty:
            return [(EMPTY, "an empty value sets nothing, as if the header were absent")]
        return self.judge(facts, name)

    def judge(self, facts, name) -> list[Violation]:  # pragma: no cover
        raise NotImplementedError

    def joined(self, facts, name) -> str:
        return clip_evidence(", ".join(facts.values(name)))


class ValidHsts(Valid):
    def judge(self, facts, name):
        parsed = facts.parsed("hsts", name)
        if parsed is None:
            return []
        problems = [p for p in parsed.problems if p.fatal and p.code not in self.ignore]
        # Clip once: a 100 KB value can carry tens of thousands of problems.
        evidence = clip_evidence(facts.values(name)[0]) if problems else ""
        return [(evidence, p.detail) for p in problems]


class ValidCsp(Valid):
    def judge(self, facts, name):
        out: list[Violation] = []
        for policy in facts.policies(name):
            evidence = None
            for problem in policy.problems:
                if problem.code not in self.ignore:
                    if evidence is None:
                        evidence = clip_evidence(policy.raw)
                    out.append((evidence, problem.detail))
        return out


class ValidXfo(Valid):
    def judge(self, facts, name):
        parsed = facts.parsed("xfo", name)
        if parsed is None or parsed.state in ("deny", "sameorigin", "absent"):
            return []
        detail = next((p.detail for p in parsed.problems if p.code not in self.ignore), f"X-Frame-Options is {parsed.state}")
        return [(self.joined(facts, name), detail)]


class ValidXcto(Valid):
    def judge(self, facts, name):
        parsed = facts.parsed("x-content-type-options", name)
        if parsed is None or parsed.nosniff:
            return []
        return [(self.joined(facts, name), p.detail) for p in parsed.problems if p.code not in self.ignore][:1]


class ValidReferrer(Valid):
    def judge(self, facts, name):
        parsed = facts.parsed("referrer-policy", name)
        if parsed is None or parsed.policy is not None:
            return []
        return [(self.joined(facts, name), "no recognised referrer policy token; the header is ignored")]


@dataclass
class ValidToken(Valid):
    """An RFC 8941 Item that must be one of `allowed` tokens (COOP, COEP, CORP)."""

    allowed: tuple[str, ...] = ()

    def judge(self, facts, name):
        parsed = facts.parsed("structured-token", name)
        if parsed is None:
            return []
        token, problems = parsed
        if token is not None and token not in self.allowed:
            problems = (unknown_token(token),)
        return [(self.joined(facts, name), p.detail) for p in problems if p.code not in self.ignore]


GRAMMARS: dict[str, type[Valid]] = {
    "hsts": ValidHsts,
    "csp": ValidCsp,
    "xfo": ValidXfo,
    "x-content-type-options": ValidXcto,
    "referrer-policy": ValidReferrer,
    "structured-token": ValidToken,
}


def compile_valid(arg: Any, line: int | None) -> Valid:
    if isinstance(arg, str):
        arg = {"grammar": arg}
    spec = expect_mapping(arg, "valid", line)
    expect_keys(spec, ("grammar", "ignore", "allowed"), "valid")
    grammar = spec.get("grammar")
    if grammar not in GRAMMARS:
        raise SpecError(f"valid: unknown grammar {grammar!r}; expected one of: {', '.join(GRAMMARS)}", line)
    ignore = frozenset(str_list(spec["ignore"], "valid.ignore", line)) if "ignore" in spec else frozenset()
    if grammar == "structured-token":
        if "allowed" not in spec:
            raise SpecError("valid: grammar structured-token needs 'allowed' tokens", line)
        return ValidToken(ignore, tuple(t.lower() for t in str_list(spec["allowed"], "valid.allowed", line)))
    if "allowed" in spec:
        raise SpecError("valid: 'allowed' only applies to grammar structured-token", line)
    return GRAMMARS[grammar](ignore)
