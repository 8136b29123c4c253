"""Evaluate a response against a compiled Ruleset.

Per response: one pass over the header lines into a name -> values map, then for each
applicable rule a lookup. Which rules apply depends mostly on facts that repeat
(scheme, media type, status, method), so that list is cached per combination; what a
pure check says depends only on its header's values, so its findings are cached by value.
A proxy sees the same header values over and over, which makes the steady state cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .checks import Env, clip, parse_cookie
from .model import Finding
from .rules import Rule, Ruleset

_CACHE_LIMIT = 2048  # per rule; distinct values beyond this are re-evaluated, never unbounded
_APPLICABLE_LIMIT = 512


@dataclass(slots=True)
class ResponseView:
    """What the engine needs to know about a response, free of any proxy type."""

    scheme: str
    host: str
    path: str
    method: str
    status: int
    headers: Sequence[tuple[str, str]]
    request_headers: Sequence[tuple[str, str]] = ()
    flow: Any = field(default=None, repr=False)  # opaque, for `when.filter` predicates only


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


class Engine:
    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self._applicable: dict[tuple[str, str, int, str], tuple[Rule, ...]] = {}
        self._lower: dict[str, str] = {}
        self._findings: dict[tuple[str, str, str, str], Finding] = {}

    def evaluate(self, view: ResponseView) -> tuple[Finding, ...]:
        headers = self._index(view.headers)
        content_type = headers.get("content-type")
        scheme = view.scheme.lower()
        method = view.method.upper()
        key = (scheme, media_type(content_type[0]) if content_type else "", view.status, method)
        rules = self._applicable.get(key)
        if rules is None:
            rules = self._select(key)
        findings: list[Finding] = []
        env: Env | None = None
        session: list[bool] = []

        def sets_session() -> bool:
            if not session:
                pattern = self.ruleset.session_cookie_pattern
                now = datetime.now(timezone.utc)
                cookies = (parse_cookie(line) for line in headers.get("set-cookie", ()))
                session.append(any(pattern.search(c.name) and not c.is_deletion(now) for c in cookies))
            return session[0]

        for rule in rules:
            when = rule.when
            if when.dynamic and not when.dynamic_match(view.host.lower(), view.path.split("?", 1)[0], view.flow, headers, sets_session):
                continue
            check = rule.check
            for index, name in enumerate(rule.keys):
                values = headers.get(name, ())
                if check.pure:
                    cache_key = (name, *values)
                    cached = rule.cache.get(cache_key)
                    if cached is None:
                        cached = self._run(rule, index, values, None)
                        if len(rule.cache) >= _CACHE_LIMIT:
                            rule.cache.clear()
                        rule.cache[cache_key] = cached
                else:
                    if env is None:
                        env = Env(view.host.lower(), self._index(view.request_headers), headers)
                    cached = self._run(rule, index, values, env)
                if cached:
                    findings.extend(cached)
        return tuple(findings)

    def _index(self, pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
        lower = self._lower
        index: dict[str, list[str]] = {}
        for name, value in pairs:
            key = lower.get(name)
            if key is None:
                key = name.lower()
                if len(lower) < 4096:
                    lower[name] = key
            values = index.get(key)
            if values is None:
                index[key] = [value]
            else:
                values.append(value)
        return index

    def _select(self, key: tuple[str, str, int, str]) -> tuple[Rule, ...]:
        rules = tuple(r for r in self.ruleset.rules if r.when.static_match(*key))
        if len(self._applicable) >= _APPLICABLE_LIMIT:
            self._applicable.clear()
        self._applicable[key] = rules
        return rules

    def _run(self, rule: Rule, index: int, values: Sequence[str], env: Env | None) -> tuple[Finding, ...]:
        violations = rule.check.run(values, env)
        if not violations:
            return ()
        header = rule.headers[index]
        out = []
        for evidence, detail in violations:
            fkey = (rule.id, header, evidence, detail)
            finding = self._findings.get(fkey)
            if finding is None:
                message = f"{rule.message} ({clip(detail)})" if detail else rule.message
                finding = Finding(rule.id, rule.severity, header, message, evidence)
                if len(self._findings) < 65536:
                    self._findings[fkey] = finding
            out.append(finding)
        return tuple(out)

    def reset_cache(self) -> None:
        self._applicable.clear()
        for rule in self.ruleset.rules:
            rule.cache.clear()
