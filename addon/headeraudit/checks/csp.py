"""`csp`: the policies of one CSP header judged as the browser enforces them.

CSP3 §2.2.2: several policies are each enforced, so a load is allowed only if every policy
allows it. A forbidden source is therefore a finding only when all policies let it through
(Facts.csp_allows); a required directive only when no policy has it after fallback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..parsers.csp import SOURCE_LIST_DIRECTIVES, Policy, scheme_of, source_scheme
from ..text import clip_evidence
from .base import Check, Violation
from .spec import SpecError, expect_keys, expect_mapping, str_list

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")


@dataclass
class CspCheck(Check):
    forbidden_sources: tuple[tuple[str, tuple[str, ...]], ...]
    forbidden_schemes: tuple[tuple[str, frozenset[str]], ...]
    required_directives: tuple[str, ...]
    judges_absence: bool = False  # `missing_header: fail`

    def run(self, facts, name, memory):
        policies = facts.policies(name)
        if not policies:
            return [("missing", "")] if self.judges_absence else []
        out: list[Violation] = []
        for directive in self.required_directives:
            if not facts.csp_restricts(directive, name):
                out.append((clip_evidence(" , ".join(p.raw for p in policies)), f"no policy restricts {directive}"))
        for directive, sources in self.forbidden_sources:
            if not facts.csp_restricts(directive, name):
                continue  # unrestricted: a required-directive rule (csp-no-script-src) says so once
            for source in sources:
                if facts.csp_allows(directive, source, name):
                    shown = _governing(policies, directive) or directive
                    via = f" (via {shown})" if shown != directive else ""
                    listed = _as_listed(policies, directive, source)
                    out.append((f"{shown}: {listed}", f"{directive}{via} allows {listed}"))
        for directive, schemes in self.forbidden_schemes:
            out.extend(_listed_schemes(policies, directive, schemes))
        return out


def _as_listed(policies: Sequence[Policy], directive: str, source: str) -> str:
    """`source` as the first policy lists it: "*" is any host wildcard (`https://*`, `*:443`)."""
    if source != "*":
        return source
    sources = policies[0].effective_sources(directive)
    return clip_evidence(" ".join(sources.any_host), 120) if sources is not None and sources.any_host else source


def _governing(policies: Sequence[Policy], directive: str) -> str:
    """The directive that actually governs `directive` in the first policy."""
    return policies[0].governing(directive) or ""


def _listed_schemes(policies: Sequence[Policy], directive: str, schemes: frozenset[str]) -> list[Violation]:
    """Sources of a forbidden scheme in `directive` ("all": any directive), grouped by directive
    name in order of first appearance, then by policy. Each policy's own directives are walked
    once: looking every name up in every policy is quadratic (a 100 KB line holds ~14,000
    one-directive policies)."""
    by_name: dict[str, list[Violation]] = {}
    shown = "/".join(sorted(schemes))
    for policy in policies:
        for name, tokens in policy.directives.items():
            found = by_name.setdefault(name, [])
            if directive != "all" and name != directive:
                continue
            scheme = source_scheme if name in SOURCE_LIST_DIRECTIVES else scheme_of
            bad = [t for t in tokens if scheme(t) in schemes]
            if bad:
                found.append((clip_evidence(f"{name} {' '.join(bad)}"), f"{name} allows insecure {shown} sources"))
    return [violation for violations in by_name.values() for violation in violations]


def compile_csp(arg: Any, line: int | None) -> CspCheck:
    spec = expect_mapping(arg, "csp", line)
    expect_keys(spec, ("forbidden_sources", "forbidden_schemes", "required_directives"), "csp")
    forbidden = []
    for directive, sources in expect_mapping(spec.get("forbidden_sources", {}), "csp.forbidden_sources", line).items():
        tokens = tuple(s.lower() for s in str_list(sources, f"csp.forbidden_sources.{directive}", line))
        for token in tokens:
            if not (token == "*" or (token.startswith("'") and token.endswith("'")) or _SCHEME.fullmatch(token)):
                raise SpecError(
                    f"csp.forbidden_sources.{directive}: {token!r} is not a keyword ('unsafe-inline'), a scheme (data:) or *",
                    line,
                )
        forbidden.append((str(directive).lower(), tokens))
    schemes = []
    for directive, names in expect_mapping(spec.get("forbidden_schemes", {}), "csp.forbidden_schemes", line).items():
        listed = frozenset(s.lower().rstrip(":") for s in str_list(names, "csp.forbidden_schemes", line))
        schemes.append((str(directive).lower(), listed))
    required = tuple(s.lower() for s in str_list(spec["required_directives"], "csp.required_directives", line)) \
        if "required_directives" in spec else ()
    if not (forbidden or schemes or required):
        raise SpecError("csp needs at least one of forbidden_sources, forbidden_schemes, required_directives", line)
    return CspCheck(tuple(forbidden), tuple(schemes), required)

