"""`when` conditions: which responses a rule applies to. All given conditions must hold."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..checks.spec import SpecError, expect_bool, expect_keys, expect_mapping, str_list
from ..facts import Facts

# Headers on interim and redirect responses are noise by default (ZAP's lesson): 1xx and 3xx
# (including 304) are skipped unless a rule lists them.
DEFAULT_STATUS: tuple[tuple[int, int], ...] = ((200, 299), (400, 599))

FilterCompiler = Callable[[str], Callable[[Any], bool]]
WHEN_KEYS = (
    "scheme", "document", "content_type", "status", "method", "host", "path", "filter",
    "present", "absent", "sets_session_cookie",
)


@dataclass(frozen=True)
class Conditions:
    schemes: frozenset[str] | None = None
    document: bool | None = None
    content_types: tuple[str, ...] | None = None
    statuses: tuple[tuple[int, int], ...] = DEFAULT_STATUS
    methods: frozenset[str] | None = None
    hosts: tuple[re.Pattern[str], ...] | None = None
    paths: tuple[re.Pattern[str], ...] | None = None
    flow_filter: Callable[[Any], bool] | None = None
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    sets_session_cookie: bool | None = None
    # statuses as a table indexed by status code (100-599), built once: asked of every response
    _status_ok: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = bytes(any(lo <= code <= hi for lo, hi in self.statuses) for code in range(600))
        object.__setattr__(self, "_status_ok", table)

    @property
    def location(self) -> bool:
        """Whether the rule reads the request's host or path (a memo of outcomes must key on them)."""
        return bool(self.hosts or self.paths)

    def matches(self, facts: Facts) -> bool:
        if self.schemes is not None and facts.scheme not in self.schemes:
            return False
        if self.document is not None and facts.document != self.document:
            return False
        if self.content_types is not None and not any(fnmatch.fnmatchcase(facts.media_type, g) for g in self.content_types):
            return False
        if not (0 <= facts.status < 600 and self._status_ok[facts.status]):
            return False
        if self.methods is not None and facts.method not in self.methods:
            return False
        if self.hosts is not None and not any(p.match(facts.host) for p in self.hosts):
            return False
        if self.paths is not None and not any(p.match(facts.path) for p in self.paths):
            return False
        if self.present and not all(facts.present(name) for name in self.present):
            return False
        if self.absent and any(facts.present(name) for name in self.absent):
            return False
        if self.sets_session_cookie is not None and facts.sets_session_cookie != self.sets_session_cookie:
            return False
        if self.flow_filter is None:
            return True
        flow = facts.response.flow
        return flow is not None and bool(self.flow_filter(flow))


def _status_ranges(value: Any, line: int | None) -> tuple[tuple[int, int], ...]:
    ranges = []
    for item in value if isinstance(value, list) else [value]:
        text = str(item).strip().lower()
        if text in ("any", "all"):
            ranges.append((100, 599))
        elif re.fullmatch(r"[1-5]xx", text):
            base = int(text[0]) * 100
            ranges.append((base, base + 99))
        elif re.fullmatch(r"[1-5]\d\d", text):
            ranges.append((int(text), int(text)))
        else:
            raise SpecError(f"when.status: {item!r} is not a status code, a class like 2xx, or any", line)
    return tuple(ranges)


def _globs(value: Any, what: str, line: int | None) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(fnmatch.translate(g.lower()), re.IGNORECASE) for g in str_list(value, what, line))


def compile_conditions(spec: Any, line: int | None, compile_filter: FilterCompiler | None) -> Conditions:
    if spec is None:
        return Conditions()
    spec = expect_mapping(spec, "when", line)
    expect_keys(spec, WHEN_KEYS, "when")
    at = spec.line_of if hasattr(spec, "line_of") else (lambda key: line)
    kwargs: dict[str, Any] = {}
    if "scheme" in spec:
        schemes = frozenset(s.lower() for s in str_list(spec["scheme"], "when.scheme", at("scheme")))
        if schemes - {"http", "https"}:
            raise SpecError("when.scheme takes http and/or https", at("scheme"))
        kwargs["schemes"] = schemes
    if "document" in spec:
        kwargs["document"] = expect_bool(spec["document"], "when.document", at("document"))
    if "content_type" in spec:
        kwargs["content_types"] = tuple(s.lower() for s in str_list(spec["content_type"], "when.content_type", at("content_type")))
    if "status" in spec:
        kwargs["statuses"] = _status_ranges(spec["status"], at("status"))
    if "method" in spec:
        kwargs["methods"] = frozenset(s.upper() for s in str_list(spec["method"], "when.method", at("method")))
    if "host" in spec:
        kwargs["hosts"] = _globs(spec["host"], "when.host", at("host"))
    if "path" in spec:
        kwargs["paths"] = tuple(re.compile(fnmatch.translate(g)) for g in str_list(spec["path"], "when.path", at("path")))
    if "filter" in spec:
        text = spec["filter"]
        if not isinstance(text, str) or compile_filter is None:
            raise SpecError("when.filter must be a mitmproxy filter expression (only available inside mitmproxy)", at("filter"))
        try:
            kwargs["flow_filter"] = compile_filter(text)
        except ValueError as exc:
            raise SpecError(f"when.filter: {exc}", at("filter")) from exc
    for key in ("present", "absent"):
        if key in spec:
            kwargs[key] = tuple(s.lower() for s in str_list(spec[key], f"when.{key}", at(key)))
    if "sets_session_cookie" in spec:
        kwargs["sets_session_cookie"] = expect_bool(spec["sets_session_cookie"], "when.sets_session_cookie", at("sets_session_cookie"))
    return Conditions(**kwargs)
