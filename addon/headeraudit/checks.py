"""Check kinds of the rule language, compiled once from YAML into small callables.

A compiled check gets the values of its header (every line, in order; empty when the
header is absent) and answers with violations: (evidence, detail) pairs. Checks that
only look at the values are `pure`, so the engine may cache their answer by value;
the CORS reflection check remembers what it saw across responses and is not.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .bounded import BoundedCache, size_of
from .parsers import cookies as cookie_parser
from .parsers import csp as csp_parser
from .parsers.directives import parse_directives
from .parsers.hsts import parse_hsts
from .parsers.referrer import POLICIES as REFERRER_POLICIES
from .parsers.referrer import parse_referrer_policy
from .parsers.sf import parse_token_header
from .parsers.xfo import parse_xfo

Violation = tuple[str, str]  # (evidence, detail)
EVIDENCE_MAX = 200


class SpecError(ValueError):
    """A check or condition spec that cannot be compiled; `line` points into the YAML."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


_UNPRINTABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """Header values are attacker-controlled: control characters (terminal escapes, CR/LF)
    and the lone surrogates that stand for undecodable bytes are shown as \\xNN/\\uNNNN, so
    evidence is safe in a terminal and encodes to UTF-8 (JSON report, -w flow files)."""
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)


def clip(text: str, limit: int = EVIDENCE_MAX) -> str:
    """Evidence is a dedup key and goes into logs: keep it one bounded, printable line."""
    if len(text) > limit:
        # Escape only the prefix that is kept (an escape is never shorter than its character):
        # escaping all of a 100 KB value of undecodable bytes costs ~0.1 s, per check.
        return printable(text[:limit])[: limit - 1] + "…"
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Env:
    """What a non-pure check may look at besides its header's values.

    `memory` is the check's own state, owned by the engine (not by the shared compiled
    rule), so two engines over one ruleset never see each other's history.
    """

    host: str
    request_headers: Mapping[str, list[str]]
    headers: Mapping[str, list[str]]
    memory: dict[str, Any] = field(default_factory=dict)


class _ParseCache:
    """A small bounded cache: parse each distinct header value once, whichever rule asks."""

    def __init__(self, parse: Callable[[Any], Any], limit: int = 512, max_bytes: int = 4 << 20) -> None:
        self.parse = parse
        # A parse result grows with its value: bounded by the values' size (a bigger one is
        # parsed every time, never kept).
        self.data = BoundedCache(limit, max_bytes)

    def __call__(self, key: Any) -> Any:
        value = self.data.get(key)
        if value is None:
            value = self.data.put(key, self.parse(key), size_of(key))
        return value

    def clear(self) -> None:
        self.data.clear()


cached_hsts = _ParseCache(parse_hsts)
cached_csp = _ParseCache(lambda values: csp_parser.parse_csp(values))


class Check:
    kind: str = ""
    pure: bool = True
    fail_if_missing: bool = False  # `missing_header: fail`: an absent header is itself a violation

    @property
    def judges_absence(self) -> bool:
        """Whether an absent header can be a violation; if not, the engine skips absent headers."""
        return self.fail_if_missing

    def run(self, values: Sequence[str], env: Env | None) -> list[Violation]:  # pragma: no cover
        raise NotImplementedError


# ---------------------------------------------------------------- spec helpers


def _line(spec: Any, key: str | None = None) -> int | None:
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
            raise SpecError(
                f"unknown key {key!r} in {what}; allowed: {', '.join(allowed)}", _line(spec, str(key))
            )


def str_list(value: Any, what: str, line: int | None) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, (str, int)) for v in value) and value:
        return tuple(str(v) for v in value)
    raise SpecError(f"{what} must be a string or a non-empty list of strings", line)


def expect_bool(value: Any, what: str, line: int | None) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{what} must be true or false", line)
    return value


def compile_regex(pattern: Any, what: str, line: int | None, flags: int = 0) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise SpecError(f"{what} must be a regular expression string", line)
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise SpecError(f"bad regular expression in {what} {pattern!r}: {exc}", line) from exc


# ---------------------------------------------------------------- presence


class Present(Check):
    kind = "present"
    judges_absence = True

    def run(self, values, env):
        return [] if values else [("missing", "")]


class Absent(Check):
    kind = "absent"

    def run(self, values, env):
        return [(clip(v), "") for v in dict.fromkeys(values)]


class AtMostOnce(Check):
    kind = "at_most_once"

    def run(self, values, env):
        if len(values) > 1:
            return [(clip(" | ".join(values)), f"header sent {len(values)} times")]
        return []


# ---------------------------------------------------------------- values, per line


@dataclass
class ValueTest(Check):
    """equals / one_of / none_of / matches / not_matches on each line's trimmed value."""

    predicate: Callable[[str], bool]
    describe: str
    kind: str = "value"

    def run(self, values, env):
        return [(clip(v), self.describe) for v in dict.fromkeys(values) if not self.predicate(v.strip())]


def _value_test(kind: str, arg: Any, case_sensitive: bool, line: int | None) -> ValueTest:
    if kind in ("matches", "not_matches"):
        regex = compile_regex(arg, kind, line, 0 if case_sensitive else re.IGNORECASE)
        if kind == "matches":
            return ValueTest(lambda v: regex.search(v) is not None, f"value does not match {regex.pattern}", kind)
        return ValueTest(lambda v: regex.search(v) is None, f"value matches {regex.pattern}", kind)
    options = str_list(arg, kind, line)
    fold = (lambda s: s) if case_sensitive else str.lower
    allowed = frozenset(fold(o.strip()) for o in options)
    shown = ", ".join(options)
    if kind == "equals":
        return ValueTest(lambda v: fold(v) in allowed, f"expected {shown}", kind)
    if kind == "one_of":
        return ValueTest(lambda v: fold(v) in allowed, f"expected one of: {shown}", kind)
    return ValueTest(lambda v: fold(v) not in allowed, f"value must not be: {shown}", kind)


@dataclass
class Tokens(Check):
    kind = "tokens"
    separator: str
    contains: tuple[str, ...]
    not_contains: tuple[str, ...]

    def run(self, values, env):
        if not values:
            return []
        tokens = {t.strip().lower() for v in values for t in v.split(self.separator)}
        out = []
        evidence = clip(", ".join(values))
        missing = [t for t in self.contains if t not in tokens]
        if missing:
            out.append((evidence, "missing " + ", ".join(missing)))
        present = [t for t in self.not_contains if t in tokens]
        if present:
            out.append((evidence, "must not contain " + ", ".join(present)))
        return out


# ---------------------------------------------------------------- grammars


@dataclass
class Valid(Check):
    """Parse with the header's grammar and report what makes it invalid."""

    kind = "valid"
    grammar: str
    ignore: frozenset[str] = frozenset()
    allowed: tuple[str, ...] = ()

    def run(self, values, env):
        if not values:
            return []
        if self.grammar == "hsts":
            # RFC 6797 §8.1: a UA processes only the first STS header field.
            parsed = cached_hsts(values[0])
            problems = [p for p in parsed.problems if p.fatal and p.code not in self.ignore]
            # Clip once: a 100 KB value can carry tens of thousands of problems.
            evidence = clip(values[0]) if problems else ""
            return [(evidence, p.detail) for p in problems]
        if self.grammar == "csp":
            out = []
            for policy in cached_csp(tuple(values)):
                evidence = None
                for p in policy.problems:
                    if p.code not in self.ignore:
                        if evidence is None:
                            evidence = clip(policy.raw)
                        out.append((evidence, p.detail))
            return out
        if self.grammar == "xfo":
            parsed = parse_xfo(values)
            if parsed.state in ("deny", "sameorigin", "absent"):
                return []
            return [(clip(", ".join(values)), p.detail) for p in parsed.problems if p.code not in self.ignore][:1] or [
                (clip(", ".join(values)), f"X-Frame-Options is {parsed.state}")
            ]
        if self.grammar == "referrer-policy":
            parsed = parse_referrer_policy(values)
            if parsed.policy is None:
                return [(clip(", ".join(values)), "no recognised referrer policy token; the header is ignored")]
            return []
        if self.grammar == "structured-token":
            _token, problems = parse_token_header(values, self.allowed)
            return [(clip(", ".join(values)), p.detail) for p in problems if p.code not in self.ignore]
        raise AssertionError(self.grammar)  # guarded at compile time


GRAMMARS = ("hsts", "csp", "xfo", "referrer-policy", "structured-token")


def _compile_valid(arg: Any, line: int | None) -> Valid:
    if isinstance(arg, str):
        arg = {"grammar": arg}
    spec = expect_mapping(arg, "valid", line)
    expect_keys(spec, ("grammar", "ignore", "allowed"), "valid")
    grammar = spec.get("grammar")
    if grammar not in GRAMMARS:
        raise SpecError(f"valid: unknown grammar {grammar!r}; expected one of: {', '.join(GRAMMARS)}", line)
    ignore = frozenset(str_list(spec["ignore"], "valid.ignore", line)) if "ignore" in spec else frozenset()
    allowed: tuple[str, ...] = ()
    if grammar == "structured-token":
        if "allowed" not in spec:
            raise SpecError("valid: grammar structured-token needs 'allowed' tokens", line)
        allowed = tuple(t.lower() for t in str_list(spec["allowed"], "valid.allowed", line))
    elif "allowed" in spec:
        raise SpecError("valid: 'allowed' only applies to grammar structured-token", line)
    return Valid(grammar=grammar, ignore=ignore, allowed=allowed)


@dataclass
class Directives(Check):
    """Numeric bounds and required/forbidden directives on a parsed directive list."""

    kind = "directives"
    grammar: str
    minimum: dict[str, int]
    maximum: dict[str, int]
    required: tuple[str, ...]
    forbidden: tuple[str, ...]

    def _parse(self, values: Sequence[str]) -> dict[str, str | None] | None:
        if self.grammar == "hsts":
            hsts = cached_hsts(values[0])
            if not hsts.valid:
                return None  # an invalid header is the business of the `valid` check
            # Keep max-age an int: str() of a 5,000-digit number raises on CPython >= 3.11.
            parsed: dict[str, Any] = {"max-age": hsts.max_age}
            if hsts.include_subdomains:
                parsed["includesubdomains"] = None
            if hsts.preload:
                parsed["preload"] = None
            return parsed
        return parse_directives(values, "," if self.grammar == "comma" else ";")

    def run(self, values, env):
        if not values:
            return [("missing", "")] if self.fail_if_missing else []
        parsed = self._parse(values)
        if parsed is None:
            return []
        evidence = clip(values[0] if self.grammar == "hsts" else ", ".join(values))
        out = []
        for name, bound in self.minimum.items():
            number = _int_or_none(parsed.get(name))
            if number is None or number < bound:
                shown = "missing" if name not in parsed else clip(str(parsed[name]) if number is None or number < 10**30 else "huge", 40)
                out.append((evidence, f"{name} is {shown}, below {bound}"))
        for name, bound in self.maximum.items():
            number = _int_or_none(parsed.get(name))
            if number is not None and number > bound:
                out.append((evidence, f"{name} is {number if number < 10**30 else 'huge'}, above {bound}"))
        missing = [n for n in self.required if n not in parsed]
        if missing:
            out.append((evidence, "missing directive " + ", ".join(missing)))
        present = [n for n in self.forbidden if n in parsed]
        if present:
            out.append((evidence, "forbidden directive " + ", ".join(present)))
        return out


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if value is None or not value.isdigit() or len(value) > 30:
        return None
    return int(value)


def _compile_directives(arg: Any, line: int | None) -> Directives:
    spec = expect_mapping(arg, "directives", line)
    expect_keys(spec, ("grammar", "min", "max", "required", "forbidden"), "directives")
    grammar = spec.get("grammar", "comma")
    if grammar not in ("hsts", "comma", "semicolon"):
        raise SpecError("directives.grammar must be one of: hsts, comma, semicolon", line)
    bounds = {}
    for key in ("min", "max"):
        raw = expect_mapping(spec.get(key, {}), f"directives.{key}", line)
        for name, number in raw.items():
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise SpecError(f"directives.{key}.{name} must be a non-negative integer", _line(raw, name))
        bounds[key] = {str(n).lower(): v for n, v in raw.items()}
    if not any((bounds["min"], bounds["max"], spec.get("required"), spec.get("forbidden"))):
        raise SpecError("directives needs at least one of min, max, required, forbidden", line)
    lower = lambda key: tuple(s.lower() for s in str_list(spec[key], f"directives.{key}", line)) if key in spec else ()  # noqa: E731
    return Directives(grammar, bounds["min"], bounds["max"], lower("required"), lower("forbidden"))


@dataclass
class ReferrerCheck(Check):
    kind = "referrer_policy"
    forbidden: frozenset[str]

    def run(self, values, env):
        if not values:
            return []
        policy = parse_referrer_policy(values).policy
        if policy in self.forbidden:
            return [(clip(", ".join(values)), f"effective policy is {policy}")]
        return []


def _compile_referrer(arg: Any, line: int | None) -> ReferrerCheck:
    spec = expect_mapping(arg, "referrer_policy", line)
    expect_keys(spec, ("forbidden",), "referrer_policy")
    forbidden = frozenset(s.lower() for s in str_list(spec.get("forbidden"), "referrer_policy.forbidden", line))
    unknown = forbidden - REFERRER_POLICIES
    if unknown:
        raise SpecError(f"referrer_policy.forbidden: unknown policy {sorted(unknown)[0]!r}", line)
    return ReferrerCheck(forbidden)


# ---------------------------------------------------------------- CSP


@dataclass
class CspCheck(Check):
    """Judge the policies of one CSP header as the browser enforces them.

    CSP3 §2.2.2: several policies are each enforced, so a load is allowed only if every
    policy allows it. A forbidden source is therefore a finding only when all policies
    let it through; a required directive only when no policy has it (after fallback).
    """

    kind = "csp"
    forbidden_sources: tuple[tuple[str, tuple[str, ...]], ...]
    forbidden_schemes: tuple[tuple[str, frozenset[str]], ...]
    required_directives: tuple[str, ...]

    def run(self, values, env):
        policies = cached_csp(tuple(values))
        if not policies:
            return [("missing", "")] if self.fail_if_missing else []
        out: list[Violation] = []
        evidence = clip(" , ".join(p.raw for p in policies))
        for directive in self.required_directives:
            if not any(p.effective(directive) is not None for p in policies):
                out.append((evidence, f"no policy restricts {directive}"))
        for directive, sources in self.forbidden_sources:
            if all(p.effective(directive) is None for p in policies):
                continue  # unrestricted: a required-directive rule (csp-no-script-src) says so once
            for source in sources:
                if all(csp_parser.allows(p, directive, source) for p in policies):
                    shown = _shown_directive(policies, directive) or directive
                    via = f" (via {shown})" if shown != directive else ""
                    out.append((f"{shown}: {source}", f"{directive}{via} allows {source}"))
        for directive, schemes in self.forbidden_schemes:
            # Grouped by directive name in order of first appearance, then by policy. Walk each
            # policy's own directives once: looking every name up in every policy is quadratic
            # (a 100 KB line holds ~14,000 one-directive policies).
            by_name: dict[str, list[Violation]] = {}
            for policy in policies:
                for name, tokens in policy.directives.items():
                    found = by_name.setdefault(name, [])
                    if directive != "all" and name != directive:
                        continue
                    bad = [t for t in tokens if csp_parser.scheme_of(t) in schemes]
                    if bad:
                        found.append((clip(f"{name} {' '.join(bad)}"), f"{name} allows insecure {'/'.join(sorted(schemes))} sources"))
            for violations in by_name.values():
                out.extend(violations)
        return out


def _shown_directive(policies: Sequence[Any], directive: str) -> str:
    """Name the directive that actually governs `directive` in the first policy."""
    for name in csp_parser.FALLBACKS.get(directive, (directive,)):
        if policies[0].has(name):
            return name
    return ""



def _compile_csp(arg: Any, line: int | None) -> CspCheck:
    spec = expect_mapping(arg, "csp", line)
    expect_keys(spec, ("forbidden_sources", "forbidden_schemes", "required_directives"), "csp")
    forbidden = []
    for directive, sources in expect_mapping(spec.get("forbidden_sources", {}), "csp.forbidden_sources", line).items():
        toks = tuple(s.lower() for s in str_list(sources, f"csp.forbidden_sources.{directive}", line))
        for tok in toks:
            if not (tok == "*" or (tok.startswith("'") and tok.endswith("'")) or re.fullmatch(r"[a-z][a-z0-9+.-]*:", tok)):
                raise SpecError(
                    f"csp.forbidden_sources.{directive}: {tok!r} is not a keyword ('unsafe-inline'), a scheme (data:) or *",
                    line,
                )
        forbidden.append((str(directive).lower(), toks))
    schemes = []
    for directive, names in expect_mapping(spec.get("forbidden_schemes", {}), "csp.forbidden_schemes", line).items():
        schemes.append((str(directive).lower(), frozenset(s.lower().rstrip(":") for s in str_list(names, "csp.forbidden_schemes", line))))
    required = tuple(s.lower() for s in str_list(spec["required_directives"], "csp.required_directives", line)) if "required_directives" in spec else ()
    if not (forbidden or schemes or required):
        raise SpecError("csp needs at least one of forbidden_sources, forbidden_schemes, required_directives", line)
    return CspCheck(tuple(forbidden), tuple(schemes), required)


# ---------------------------------------------------------------- cookies


@dataclass
class CookieCheck(Check):
    """Per Set-Cookie line (RFC 6265bis §5.6); deletion cookies are not judged."""

    kind = "cookie"
    select: str
    session_pattern: re.Pattern[str]
    name_pattern: re.Pattern[str] | None
    require_attributes: tuple[str, ...]
    samesite_required: bool
    samesite_allowed: frozenset[str]
    samesite_none_requires_secure: bool
    valid_prefix: bool

    def run(self, values, env):
        out: list[Violation] = []
        now = datetime.now(timezone.utc)
        for line in values:
            cookie = parse_cookie(line)
            if cookie.is_deletion(now):
                continue
            if self.select == "session" and not self.session_pattern.search(cookie.name):
                continue
            if self.name_pattern is not None and not self.name_pattern.search(cookie.name):
                continue
            name = cookie_label(cookie)
            for attribute in self.require_attributes:
                if not getattr(cookie, attribute):
                    out.append((name, f"cookie {name} lacks {_ATTRIBUTE_NAMES[attribute]}"))
            if self.samesite_required and cookie.samesite is None:
                out.append((name, f"cookie {name} has no SameSite attribute"))
            if self.samesite_allowed and cookie.samesite is not None and cookie.samesite not in self.samesite_allowed:
                out.append((name, f"cookie {name} has SameSite={cookie.samesite or '(empty)'}"))
            if self.samesite_none_requires_secure and cookie.samesite == "none" and not cookie.secure:
                out.append((name, f"cookie {name} has SameSite=None without Secure (browsers reject it)"))
            if self.valid_prefix:
                out.extend((name, p.detail) for p in cookie.prefix_problems())
        return out


_ATTRIBUTE_NAMES = {"secure": "Secure", "httponly": "HttpOnly"}


def cookie_label(cookie: Any) -> str:
    """A cookie's evidence: its name, never its value (values are secrets)."""
    return clip(cookie.name or "(no name)", 80)
parse_cookie = _ParseCache(cookie_parser.parse_set_cookie)
"""Set-Cookie lines carry session ids, so most are unique: the cache is small and bounded."""


def _compile_cookie(arg: Any, line: int | None, session_pattern: re.Pattern[str]) -> CookieCheck:
    spec = expect_mapping(arg, "cookie", line)
    keys = ("select", "name_matches", "require_attributes", "samesite", "samesite_none_requires_secure", "valid_prefix")
    expect_keys(spec, keys, "cookie")
    select = spec.get("select", "all")
    if select not in ("all", "session"):
        raise SpecError("cookie.select must be all or session", _line(spec, "select"))
    name_pattern = compile_regex(spec["name_matches"], "cookie.name_matches", line) if "name_matches" in spec else None
    attrs = tuple(a.lower() for a in str_list(spec["require_attributes"], "cookie.require_attributes", line)) if "require_attributes" in spec else ()
    for attr in attrs:
        if attr not in _ATTRIBUTE_NAMES:
            raise SpecError(f"cookie.require_attributes: {attr!r} is not one of secure, httponly", line)
    required, allowed = False, frozenset()
    if "samesite" in spec:
        ss = expect_mapping(spec["samesite"], "cookie.samesite", line)
        expect_keys(ss, ("required", "allowed"), "cookie.samesite")
        required = expect_bool(ss.get("required", False), "cookie.samesite.required", line)
        if "allowed" in ss:
            allowed = frozenset(s.lower() for s in str_list(ss["allowed"], "cookie.samesite.allowed", line))
            if allowed - {"lax", "strict", "none"}:
                raise SpecError("cookie.samesite.allowed takes lax, strict, none", line)
    none_secure = expect_bool(spec.get("samesite_none_requires_secure", False), "cookie.samesite_none_requires_secure", line)
    prefix = expect_bool(spec.get("valid_prefix", False), "cookie.valid_prefix", line)
    if not (attrs or required or allowed or none_secure or prefix):
        raise SpecError("cookie needs at least one of require_attributes, samesite, samesite_none_requires_secure, valid_prefix", line)
    return CookieCheck(select, session_pattern, name_pattern, attrs, required, allowed, none_secure, prefix)


# ---------------------------------------------------------------- CORS


@dataclass
class CorsReflection(Check):
    """Access-Control-Allow-Origin echoing whatever Origin arrives, with credentials.

    A single echoed Origin is indistinguishable from an allow-listed partner; the proxy
    sees many requests, so it flags a host once it echoes `min_origins` different ones.
    Memory is bounded: at most `max_hosts` hosts, `min_origins` origins each.
    """

    kind = "cors_reflection"
    pure = False
    min_origins: int
    max_hosts: int = 4096

    def run(self, values, env):
        if env is None or len(values) != 1:
            return []
        origin_lines = env.request_headers.get("origin")
        if not origin_lines:
            return []
        origin = origin_lines[0].strip()
        credentials = env.headers.get("access-control-allow-credentials", ())
        if values[0].strip() != origin or origin.lower() == "null" or not any(c.strip().lower() == "true" for c in credentials):
            return []
        seen = env.memory.setdefault("origins_by_host", OrderedDict())
        origins = seen.get(env.host)
        if origins is None:
            origins = seen[env.host] = set()
            if len(seen) > self.max_hosts:
                seen.popitem(last=False)
        if len(origins) < self.min_origins:
            origins.add(origin)
        if len(origins) >= self.min_origins:
            return [("Origin echoed with credentials", f"{len(origins)} different Origins echoed, e.g. {clip(origin, 80)}")]
        return []


def _compile_cors(arg: Any, line: int | None) -> CorsReflection:
    spec = expect_mapping(arg, "cors_reflection", line)
    expect_keys(spec, ("min_origins",), "cors_reflection")
    number = spec.get("min_origins", 2)
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise SpecError("cors_reflection.min_origins must be an integer >= 1", line)
    return CorsReflection(min_origins=number)


# ---------------------------------------------------------------- entry point

CHECK_KINDS = (
    "present", "absent", "at_most_once", "equals", "one_of", "none_of", "matches", "not_matches",
    "tokens", "valid", "directives", "referrer_policy", "csp", "cookie", "cors_reflection",
)
COOKIE_KINDS = frozenset({"cookie"})


def compile_check(spec: Any, line: int | None, session_pattern: re.Pattern[str]) -> Check:
    """Compile a rule's `check` mapping: exactly one kind key plus that kind's options."""
    spec = expect_mapping(spec, "check", line)
    kinds = [k for k in spec if k in CHECK_KINDS]
    extras = [k for k in spec if k not in CHECK_KINDS and k not in ("case_sensitive", "missing_header")]
    if extras:
        raise SpecError(f"unknown check kind {extras[0]!r}; expected one of: {', '.join(CHECK_KINDS)}", _line(spec, extras[0]))
    if len(kinds) != 1:
        raise SpecError(f"check must have exactly one kind, got {len(kinds)}: {', '.join(kinds) or 'none'}", line)
    kind = kinds[0]
    arg = spec[kind]
    at = _line(spec, kind)
    case_sensitive = expect_bool(spec.get("case_sensitive", False), "check.case_sensitive", at)
    if "case_sensitive" in spec and kind not in ("equals", "one_of", "none_of", "matches", "not_matches"):
        raise SpecError(f"case_sensitive does not apply to check kind {kind}", at)
    check = _compile_kind(kind, arg, at, case_sensitive, session_pattern)
    if "missing_header" in spec:
        if kind not in ("directives", "csp"):
            raise SpecError("missing_header applies to the directives and csp checks", _line(spec, "missing_header"))
        if spec["missing_header"] not in ("fail", "ignore"):
            raise SpecError("missing_header takes fail or ignore", _line(spec, "missing_header"))
        check.fail_if_missing = spec["missing_header"] == "fail"
    return check


def _compile_kind(kind: str, arg: Any, at: int | None, case_sensitive: bool, session_pattern: re.Pattern[str]) -> Check:
    if kind in ("present", "absent", "at_most_once"):
        if arg is not True:
            raise SpecError(f"{kind} takes the value true", at)
        return {"present": Present, "absent": Absent, "at_most_once": AtMostOnce}[kind]()
    if kind in ("equals", "one_of", "none_of", "matches", "not_matches"):
        return _value_test(kind, arg, case_sensitive, at)
    if kind == "tokens":
        tspec = expect_mapping(arg, "tokens", at)
        expect_keys(tspec, ("separator", "contains", "not_contains"), "tokens")
        sep = tspec.get("separator", ",")
        if not isinstance(sep, str) or not sep:
            raise SpecError("tokens.separator must be a non-empty string", at)
        contains = tuple(t.lower() for t in str_list(tspec["contains"], "tokens.contains", at)) if "contains" in tspec else ()
        not_contains = tuple(t.lower() for t in str_list(tspec["not_contains"], "tokens.not_contains", at)) if "not_contains" in tspec else ()
        if not (contains or not_contains):
            raise SpecError("tokens needs contains or not_contains", at)
        return Tokens(sep, contains, not_contains)
    if kind == "valid":
        return _compile_valid(arg, at)
    if kind == "directives":
        return _compile_directives(arg, at)
    if kind == "referrer_policy":
        return _compile_referrer(arg, at)
    if kind == "csp":
        return _compile_csp(arg, at)
    if kind == "cookie":
        return _compile_cookie(arg, at, session_pattern)
    return _compile_cors(arg, at)
