"""Evaluate a response against a compiled Ruleset.

Per response: one pass over the header lines into a name -> values map, then for each
applicable rule a lookup. Which rules apply depends mostly on facts that repeat
(scheme, media type, status, method), so that list is cached per combination; what a
pure check says depends only on its header's values, so its findings are cached by value.
A proxy sees the same header values over and over, which makes the steady state cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any

from .bounded import BoundedCache, SharedBudget, size_of
from .checks import Env, clip, parse_cookie, printable
from .grade import GRADE_HEADERS, ResponseGrade, grade_response
from .model import Finding
from .rules import Rule, Ruleset

_CACHE_LIMIT = 2048  # per rule; distinct values beyond this are re-evaluated, never unbounded
_APPLICABLE_LIMIT = 512
_MEMO_LIMIT = 4096
_VALUES_BUDGET = 16 << 20  # characters of header values kept by the value caches, together


@dataclass(slots=True)
class ResponseView:
    """What the engine needs to know about a response, free of any proxy type.

    `request_headers` may be a callable returning the pairs: only stateful checks (CORS
    reflection) read them, so a proxy need not decode them for every response.
    """

    scheme: str
    host: str
    path: str
    method: str
    status: int
    headers: Sequence[tuple[str, str]]
    request_headers: Sequence[tuple[str, str]] | Callable[[], Sequence[tuple[str, str]]] = ()
    flow: Any = field(default=None, repr=False)  # opaque, for `when.filter` predicates only


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


# An entry of a plan: (position among applicable rules, rule, index of the header in rule.keys,
# lower-cased header name, the engine's result cache for that rule and header).
_Entry = tuple[int, Rule, int, str, dict]


class _Plan:
    """The rules that apply to one (scheme, media type, status, method), arranged for a fast pass.

    Most checks say nothing about an absent header, so they are indexed by header name and
    only looked at when the response carries that header; the few that judge absence
    (`present`, `missing_header: fail`) are visited every time.
    """

    __slots__ = ("absence", "by_header")

    def __init__(self, rules: Sequence[Rule], caches: dict[tuple[str, str], dict]) -> None:
        absence: list[_Entry] = []
        by_header: dict[str, list[_Entry]] = {}
        for position, rule in enumerate(rules):
            for index, name in enumerate(rule.keys):
                entry = (position, rule, index, name, caches.setdefault((rule.id, name), {}))
                if rule.check.judges_absence:
                    absence.append(entry)
                else:
                    by_header.setdefault(name, []).append(entry)
        self.absence = tuple(absence)
        self.by_header = {name: tuple(entries) for name, entries in by_header.items()}


_NONE: list[str] = []
# What the memo makes of a header name (Engine.header_kind): not read by any rule, read (part
# of the memo key), or read by a stateful check (the response is not memoised).
IRRELEVANT, RELEVANT, STATEFUL = 0, 1, 2
_FROM_VIEW = object()  # assess(): build the memo key from the view


def _first(item: tuple[int, Any]) -> int:
    return item[0]


_first_item = itemgetter(0)
_LAYOUT_LIMIT = 1024


def picker(indexes: Sequence[int]) -> Callable[[Sequence[Any]], tuple]:
    """itemgetter that always returns a tuple (itemgetter(i) returns the item itself)."""
    if len(indexes) == 1:
        only = indexes[0]
        return lambda seq: (seq[only],)
    return itemgetter(*indexes) if indexes else lambda seq: ()


def _STATEFUL_LAYOUT(lines: Sequence[Any]) -> tuple:  # a marker: responses in this layout are not memoised
    raise AssertionError("never called")


class _Context:
    """Per-response facts only some rules need, computed at most once and only on demand."""

    __slots__ = ("engine", "view", "headers", "host", "path", "_request_headers", "_sets_session")

    def __init__(self, engine: Engine, view: ResponseView, headers: dict[str, list[str]]) -> None:
        self.engine, self.view, self.headers = engine, view, headers
        self.host = view.host.lower()
        self.path = view.path.split("?", 1)[0]
        self._request_headers: dict[str, list[str]] | None = None
        self._sets_session: bool | None = None

    def request_headers(self) -> dict[str, list[str]]:
        if self._request_headers is None:
            pairs = self.view.request_headers
            self._request_headers = self.engine._index(pairs() if callable(pairs) else pairs)
        return self._request_headers

    def sets_session(self) -> bool:
        if self._sets_session is None:
            lines = self.headers.get("set-cookie")
            if not lines:
                self._sets_session = False
            else:
                now = datetime.now(timezone.utc)
                pattern = self.engine.ruleset.session_cookie_pattern
                self._sets_session = any(
                    pattern.search(c.name) is not None and not c.is_deletion(now) for c in map(parse_cookie, lines)
                )
        return self._sets_session


class Engine:
    """Evaluates responses; owns every cache and every piece of cross-response memory, so
    engines over the same Ruleset are independent."""

    def __init__(self, ruleset: Ruleset, memory: dict[str, dict[str, Any]] | None = None, grading: bool = False,
                 memo_also: Iterable[str] = ()) -> None:
        """`memo_also`: header names (lower case) to put in the memo key though no rule reads
        them, so that a key also determines those lines (the addon: every line a fix may touch)."""
        self.ruleset = ruleset
        self.grading = grading
        self._caches: dict[tuple[str, str], dict] = {}  # (rule id, header) -> {values: findings}
        # Memory of stateful checks by rule id; pass the previous engine's to keep it across reloads.
        self.memory: dict[str, dict[str, Any]] = {rule.id: {} for rule in ruleset.rules if not rule.check.pure}
        for rule_id, state in (memory or {}).items():
            if rule_id in self.memory:
                self.memory[rule_id] = state
        # The value caches together hold at most _VALUES_BUDGET characters of header values.
        self._values = SharedBudget(_VALUES_BUDGET, _CACHE_LIMIT, self._clear_values)
        self._plans = BoundedCache(_APPLICABLE_LIMIT, 256 << 10)  # (scheme, media type, status, method) -> _Plan
        self._lower = BoundedCache(4096, 1 << 20)  # header name -> its key in _index
        self._findings = BoundedCache(65536, 8 << 20)  # (rule, header, evidence, detail) -> Finding
        # Whole-response memo: a site sends the same security headers again and again while
        # Date, ETag and Content-Length change, so the key holds only the headers some rule
        # reads (including `when.present/absent` names) plus what the static conditions read.
        rules = ruleset.rules
        self._relevant = frozenset(
            {"content-type"} | {k for r in rules for k in r.keys} | {n for r in rules for n in (*r.when.present, *r.when.absent)}
        )
        self._stateful_headers = frozenset(k for r in rules if not r.check.pure for k in r.keys)
        if grading:
            # The grade reads its own headers, and a credentialed CORS answer is compared
            # with the request's Origin, so such responses are never memoised.
            self._relevant |= GRADE_HEADERS
            self._stateful_headers |= {"access-control-allow-origin"}
        self._relevant |= frozenset(memo_also)
        self.memo_location = any(r.when.hosts or r.when.paths for r in rules)
        self.memo_enabled = not any(r.when.flow_filter for r in rules)
        self._memo = BoundedCache(_MEMO_LIMIT, 16 << 20)  # memo key -> (findings, grade)
        # header name as sent (text, or bytes from a caller's raw lines) -> IRRELEVANT, RELEVANT or STATEFUL
        self._kinds = BoundedCache(4096, 1 << 20)
        # tuple of header names (a layout) -> picks the lines the memo key holds (memo_key)
        self._layouts = BoundedCache(_LAYOUT_LIMIT, 1 << 20)

    def evaluate(self, view: ResponseView) -> tuple[Finding, ...]:
        return self.assess(view)[0]

    def assess(self, view: ResponseView, memo_key: tuple | None | object = _FROM_VIEW) -> tuple[tuple[Finding, ...], ResponseGrade | None]:
        """The findings and, when grading, the grade tests' outcomes (None if not scored).

        Both come from the memo for a response whose relevant headers were seen before, as
        the same objects, which lets the store skip work it has already done for them.
        `memo_key`: the response's key from memo_key() when the caller built it from its own
        form of the lines (the addon: raw bytes); by default it is built from the view."""
        if memo_key is _FROM_VIEW:
            memo_key = self.memo_key(view.headers, view.scheme, view.status, view.method, view.host, view.path)
        if memo_key is not None:
            memoised = self._memo.get(memo_key)
            if memoised is not None:
                return memoised
        headers = self._index(view.headers)
        content_type = headers.get("content-type")
        key = (view.scheme.lower(), media_type(content_type[0]) if content_type else "", view.status, view.method.upper())
        findings = self._evaluate(view, headers, key)
        result = (findings, self._grade(view, headers, key) if self.grading else None)
        if memo_key is not None:
            self._memo.put(memo_key, result, size_of(memo_key[3]))
        return result

    def recall(self, memo_key: tuple | None) -> tuple[tuple[Finding, ...], ResponseGrade | None] | None:
        """What assess() returned for a response with this memo key, if it is still memoised."""
        return None if memo_key is None else self._memo.get(memo_key)

    def memo_key(self, lines: Sequence[Sequence[Any]], scheme: str, status: int, method: Any, host: str, path: str,
                 name_text: Callable[[Any], str] | None = None) -> tuple | None:
        """The memo key of a response, in one pass over its lines without indexing them (a hit
        needs nothing else): the lines some rule or the grade reads, as given, with the scheme,
        status and method as given (Content-Type is among the lines), plus host and path when a
        rule has host/path conditions. None when the response is never memoised (a stateful
        header is present, or a rule has a `when.filter`).

        `lines` may be in another form than text pairs, e.g. raw bytes, with `name_text` turning
        a name into text: equal lines give equal keys, so a caller holding raw lines need not
        decode them to find a hit. A tuple of lines (mitmproxy's Headers.fields) must hold tuples."""
        if not self.memo_enabled:
            return None
        pick = None
        if type(lines) is tuple:
            # A server sends its lines in a few layouts (the same names in the same order while
            # Date, ETag and Content-Length change), so the positions of the lines the key holds
            # are kept per layout: one C-level pick instead of a lookup per line.
            names = tuple(map(_first_item, lines))
            pick = self._layouts.get(names)
            if pick is None:
                pick = self._layout(lines, name_text)
                if pick is not None:  # a layout holds its names (a reference per line, and their bytes)
                    self._layouts.put(names, pick, 64 * len(names) + sum(map(len, names)))
            if pick is _STATEFUL_LAYOUT:
                return None
        if pick is not None:
            key = (scheme, status, method, pick(lines))
        else:
            relevant = self._relevant_lines(lines, name_text)
            if relevant is None:
                return None
            key = (scheme, status, method, relevant)
        if self.memo_location:
            key += (host.lower(), path.split("?", 1)[0])
        return key

    def _kind(self, name: Any, name_text: Callable[[Any], str] | None) -> int:
        kind = self._kinds.get(name)
        if kind is None:
            kind = self._kinds.put(name, self.header_kind(name if name_text is None else name_text(name)), len(name))
        return kind

    def _relevant_lines(self, lines: Sequence[Sequence[Any]], name_text: Callable[[Any], str] | None) -> tuple | None:
        """The lines the memo key holds, as tuples; None if a stateful header is present."""
        relevant = []
        for line in lines:
            kind = self._kind(line[0], name_text)
            if kind:
                if kind == STATEFUL:
                    return None
                relevant.append(line if type(line) is tuple else tuple(line))
        return tuple(relevant)

    def _layout(self, lines: tuple, name_text: Callable[[Any], str] | None) -> Callable[[tuple], tuple] | None:
        """For lines in this layout: a function picking the lines the memo key holds
        (_STATEFUL_LAYOUT: none is memoised). None, not cached, if a line is not a tuple."""
        positions = []
        for i, line in enumerate(lines):
            if type(line) is not tuple:  # the key holds tuples: such lines take the slow path
                return None
            kind = self._kind(line[0], name_text)
            if kind == STATEFUL:
                return _STATEFUL_LAYOUT
            if kind:
                positions.append(i)
        return picker(positions)

    def header_kind(self, name: str) -> int:
        """IRRELEVANT, RELEVANT or STATEFUL: what the memo key makes of a header line of this name."""
        lowered = name.lower() if name.isascii() else name  # ASCII case only, as in _index
        return STATEFUL if lowered in self._stateful_headers else RELEVANT if lowered in self._relevant else IRRELEVANT

    def _grade(self, view: ResponseView, headers: dict[str, list[str]], key: tuple[str, str, int, str]) -> ResponseGrade | None:
        def request_origin() -> str | None:
            pairs = view.request_headers
            for name, value in pairs() if callable(pairs) else pairs:
                if name.lower() == "origin":
                    return value.strip()
            return None

        return grade_response(key[0], view.status, key[1], headers, request_origin, datetime.now(timezone.utc))

    def _evaluate(self, view: ResponseView, headers: dict[str, list[str]], key: tuple[str, str, int, str]) -> tuple[Finding, ...]:
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(key)
        visit = list(plan.absence)
        by_header = plan.by_header
        for name in headers:
            entries = by_header.get(name)
            if entries is not None:
                visit.extend(entries)
        found: list[tuple[int, tuple[Finding, ...]]] = []
        context: _Context | None = None
        for entry in visit:
            position, rule, index, name, cache = entry
            if rule.dynamic:
                if context is None:
                    context = _Context(self, view, headers)
                if not rule.when.dynamic_match(context.host, context.path, view.flow, headers, context.sets_session):
                    continue
            values = headers.get(name, _NONE)
            if rule.check.pure:
                cache_key = values[0] if len(values) == 1 else tuple(values)
                result = cache.get(cache_key)
                if result is None:
                    result = self._values.put(cache, cache_key, self._run(rule, index, values, None), size_of(cache_key))
            else:
                if context is None:
                    context = _Context(self, view, headers)
                env = Env(context.host, context.request_headers(), headers, self.memory[rule.id])
                result = self._run(rule, index, values, env)
            if result:
                found.append((position, result))
        if not found:
            return ()
        if len(found) > 1:
            found.sort(key=_first)
        return tuple(f for _, findings in found for f in findings)

    def _clear_values(self) -> None:
        for cache in self._caches.values():
            cache.clear()

    def _index(self, pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
        lower = self._lower
        index: dict[str, list[str]] = {}
        for name, value in pairs:
            key = lower.get(name)
            if key is None:
                # Field names are ASCII tokens (RFC 9110 §5.1): Unicode case folding would turn
                # "SET-COO\u212aIE" (Kelvin sign) into set-cookie, a header no browser sees.
                key = lower.put(name, name.lower() if name.isascii() else name, 2 * len(name))
            values = index.get(key)
            if values is None:
                index[key] = [value]
            else:
                values.append(value)
        return index

    def _plan(self, key: tuple[str, str, int, str]) -> _Plan:
        plan = _Plan([r for r in self.ruleset.rules if r.when.static_match(*key)], self._caches)
        return self._plans.put(key, plan, size_of(key))

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
                finding = self._findings.put(fkey, Finding(rule.id, rule.severity, header, message, printable(evidence)),
                                             size_of(fkey))
            out.append(finding)
        if len(out) > 1:
            # A value made of the same mistake many times ("a=b;" * 25000) is one finding, not
            # thousands of identical ones in the flow's metadata and counts.
            return tuple(dict.fromkeys(out))
        return tuple(out)

    def reset_cache(self) -> None:
        """Forget cached results (not the memory of stateful checks)."""
        self._plans.clear()
        self._memo.clear()
        self._values.clear()
