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

from ..csp_bypasses import bypasses
from ..parsers.csp import SOURCE_LIST_DIRECTIVES, Policy, host_source, scheme_of, source_scheme
from ..text import clip_evidence
from .base import Check, Violation
from .spec import SpecError, expect_bool, expect_keys, expect_mapping, str_list

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


@dataclass
class CspCheck(Check):
    forbidden_sources: tuple[tuple[str, tuple[str, ...]], ...]
    forbidden_schemes: tuple[tuple[str, frozenset[str]], ...]
    required_directives: tuple[str, ...]
    judges_absence: bool = False  # `missing_header: fail`
    allowlist_bypass: bool = False
    min_nonce_length: int = 0
    ip_sources: bool = False

    def run(self, facts, name, memory):
        policies = facts.policies(name)
        if not policies:
            return [("missing", "")] if self.judges_absence else []
        out: list[Violation] = []
        for directive in self.required_directives:
            if not facts.csp_restricts(directive, name):
                out.append((clip_evidence(" , ".join(p.raw for p in policies)), f"no policy restricts {directive}"))
        said: set[tuple[str, str]] = set()  # (governing directive, source): script-src-elem via script-src once
        for directive, sources in self.forbidden_sources:
            if not facts.csp_restricts(directive, name):
                continue  # unrestricted: a required-directive rule (csp-no-script-src) says so once
            for source in sources:
                if facts.csp_allows(directive, source, name):
                    shown = _governing(policies, directive) or directive
                    if (shown, source) in said:
                        continue
                    said.add((shown, source))
                    via = f" (via {shown})" if shown != directive else ""
                    listed = _as_listed(policies, directive, source)
                    out.append((f"{shown}: {listed}", f"{directive}{via} allows {listed}"))
        for directive, schemes in self.forbidden_schemes:
            out.extend(_listed_schemes(policies, directive, schemes))
        if self.allowlist_bypass:
            out.extend(_allowlist_bypasses(facts, policies, name))
        if self.min_nonce_length or self.ip_sources:
            out.extend(_source_shapes(policies, self.min_nonce_length, self.ip_sources))
        return out


# CSP Evaluator's SCRIPT_ALLOWLIST_BYPASS and OBJECT_ALLOWLIST_BYPASS.
_BYPASS_KINDS = {"script-src": frozenset({"jsonp", "angular"}), "object-src": frozenset({"flash"})}
_BYPASS_NAMES = {"jsonp": "JSONP endpoints", "angular": "AngularJS", "flash": "Flash files"}


def _allowlist_bypasses(facts, policies: Sequence[Policy], name: str) -> list[Violation]:
    """Sources of a policy's effective script-src / object-src on a known bypass host. Only when
    every policy lets a bypass through (each enforced, CSP3 §2.2.2): another policy without such
    a source, or 'strict-dynamic' (which voids host sources, §8.2), blocks it. Shown: the first
    policy's."""
    out: list[Violation] = []
    eval_allowed = facts.csp_allows("script-src", "'unsafe-eval'", name)
    for directive, kinds in _BYPASS_KINDS.items():
        per_policy = []
        for policy in policies:
            sources = policy.effective_sources(directive)
            if sources is None or (directive == "script-src" and sources.strict_dynamic):
                break
            hits = bypasses(policy.effective(directive) or (), kinds, eval_allowed)
            if not hits:
                break
            per_policy.append(hits)
        else:  # (every policy has hits; the check runs only on a header with policies)
            shown = _governing(policies, directive) or directive
            for source, bypass in per_policy[0]:
                what = _BYPASS_NAMES[bypass.kind]
                out.append((f"{shown}: {source}", f"{source} serves {what} ({bypass.host}{bypass.path}) that run any script"))
    return out


def _source_shapes(policies: Sequence[Policy], min_nonce: int, ip_sources: bool) -> list[Violation]:
    """CSP Evaluator's NONCE_LENGTH and IP_SOURCE: a guessable nonce, an IP-address source."""
    out: list[Violation] = []
    for policy in policies:
        for directive, tokens in policy.directives.items():
            for token in tokens:
                if min_nonce and token.startswith("'nonce-") and len(token) - 8 < min_nonce:
                    out.append((f"{directive}: {clip_evidence(token, 60)}", f"a nonce shorter than {min_nonce} characters can be guessed"))
                elif ip_sources and (parts := host_source(token)) is not None and _IPV4.fullmatch(parts.host):
                    out.append((f"{directive}: {clip_evidence(token, 60)}",
                                "an IP address source: CSP host sources match domain names, so browsers may not match it"))
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
    expect_keys(spec, ("forbidden_sources", "forbidden_schemes", "required_directives", "allowlist_bypass",
                       "min_nonce_length", "ip_sources"), "csp")
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
    bypass = expect_bool(spec.get("allowlist_bypass", False), "csp.allowlist_bypass", line)
    ip_sources = expect_bool(spec.get("ip_sources", False), "csp.ip_sources", line)
    min_nonce = spec.get("min_nonce_length", 0)
    if not isinstance(min_nonce, int) or isinstance(min_nonce, bool) or not 0 <= min_nonce <= 1024:
        raise SpecError("csp.min_nonce_length must be a whole number from 0 to 1024", line)
    if not (forbidden or schemes or required or bypass or min_nonce or ip_sources):
        raise SpecError("csp needs at least one of forbidden_sources, forbidden_schemes, required_directives, "
                        "allowlist_bypass, min_nonce_length, ip_sources", line)
    return CspCheck(tuple(forbidden), tuple(schemes), required, False, bypass, min_nonce, ip_sources)

