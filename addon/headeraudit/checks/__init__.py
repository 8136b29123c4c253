"""Check kinds of the rule language: one family per module, selected from one registry.

A rule's `check` mapping names exactly one kind; its compile function validates the YAML
and returns a Check, once, when the rules are loaded. Per response the engine only runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .base import Check, Violation
from .cookies import compile_cookie, cookie_label
from .cors import compile_cors
from .csp import compile_csp
from .directives import compile_directives, compile_referrer
from .grammar import GRAMMARS, compile_valid
from .presence import compile_absent, compile_at_most_once, compile_present, compile_within_limits
from .spec import SpecError, expect_bool, expect_mapping, line_of
from .values import compile_discloses_version, compile_tokens, compile_value_test

__all__ = ["CHECKS", "COOKIE_KINDS", "GRAMMARS", "Check", "SpecError", "Violation", "compile_check", "cookie_label"]

VALUE_KINDS = ("equals", "one_of", "none_of", "matches", "not_matches")  # take case_sensitive
# kind -> compile(arg, line); value kinds also take case_sensitive.
CHECKS: dict[str, Callable[..., Check]] = {
    "present": compile_present,
    "absent": compile_absent,
    "at_most_once": compile_at_most_once,
    "within_limits": compile_within_limits,
    **{kind: partial(compile_value_test, kind) for kind in VALUE_KINDS},
    "tokens": compile_tokens,
    "valid": compile_valid,
    "directives": compile_directives,
    "referrer_policy": compile_referrer,
    "csp": compile_csp,
    "cookie": compile_cookie,
    "cors_reflection": compile_cors,
    "discloses_version": compile_discloses_version,
}
COOKIE_KINDS = frozenset({"cookie"})
MISSING_HEADER_KINDS = ("directives", "csp")  # take missing_header: fail


def compile_check(spec: Any, line: int | None) -> Check:
    """Compile a rule's `check` mapping: exactly one kind key plus that kind's options."""
    spec = expect_mapping(spec, "check", line)
    kinds = [k for k in spec if k in CHECKS]
    extras = [k for k in spec if k not in CHECKS and k not in ("case_sensitive", "missing_header")]
    if extras:
        raise SpecError(f"unknown check kind {extras[0]!r}; expected one of: {', '.join(CHECKS)}", line_of(spec, extras[0]))
    if len(kinds) != 1:
        raise SpecError(f"check must have exactly one kind, got {len(kinds)}: {', '.join(kinds) or 'none'}", line)
    kind = kinds[0]
    at = line_of(spec, kind)
    if kind in VALUE_KINDS:
        check = CHECKS[kind](spec[kind], at, expect_bool(spec.get("case_sensitive", False), "check.case_sensitive", at))
    elif "case_sensitive" in spec:
        raise SpecError(f"case_sensitive does not apply to check kind {kind}", at)
    else:
        check = CHECKS[kind](spec[kind], at)
    check.kind = kind
    if "missing_header" in spec:
        at = line_of(spec, "missing_header")
        if kind not in MISSING_HEADER_KINDS:
            raise SpecError("missing_header applies to the directives and csp checks", at)
        if spec["missing_header"] not in ("fail", "ignore"):
            raise SpecError("missing_header takes fail or ignore", at)
        check.judges_absence = spec["missing_header"] == "fail"
    return check
