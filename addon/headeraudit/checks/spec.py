"""Reading the YAML of a rule: small validators that raise SpecError with the YAML line."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any


class SpecError(ValueError):
    """A check or condition spec that cannot be compiled; `line` points into the YAML."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def line_of(spec: Any, key: str | None = None) -> int | None:
    if hasattr(spec, "line_of") and key is not None:
        return spec.line_of(key)
    return getattr(spec, "line", None)


def expect_mapping(value: Any, what: str, line: int | None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(f"{what} must be a mapping, got {type(value).__name__}", line)
    return value


def expect_keys(spec: Mapping[str, Any], allowed: Sequence[str], what: str) -> None:
    for key in spec:
        if key not in allowed:
            raise SpecError(f"unknown key {key!r} in {what}; allowed: {', '.join(allowed)}", line_of(spec, str(key)))


def str_list(value: Any, what: str, line: int | None) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, (str, int)) for v in value) and value:
        return tuple(str(v) for v in value)
    raise SpecError(f"{what} must be a string or a non-empty list of strings", line)


def lower_list(spec: Mapping[str, Any], key: str, what: str, line: int | None) -> tuple[str, ...]:
    """spec[key] as lower-cased strings, () when the key is absent."""
    return tuple(s.lower() for s in str_list(spec[key], what, line)) if key in spec else ()


def expect_bool(value: Any, what: str, line: int | None) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{what} must be true or false", line)
    return value


def expect_true(value: Any, kind: str, line: int | None) -> None:
    if value is not True:
        raise SpecError(f"{kind} takes the value true", line)


def compile_regex(pattern: Any, what: str, line: int | None, flags: int = 0) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise SpecError(f"{what} must be a regular expression string", line)
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise SpecError(f"bad regular expression in {what} {pattern!r}: {exc}", line) from exc
