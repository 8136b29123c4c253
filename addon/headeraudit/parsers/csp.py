"""Content-Security-Policy parser (CSP Level 3, https://www.w3.org/TR/CSP3/).

Follows §2.2.1 "parse a serialized CSP" and §2.2.2 "parse a response's Content Security
Policies", validates source expressions against the §2.3.1 grammar and answers "is this
source allowed" with the §6.8.3 fallback lists and the §6.7 source-list rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ._text import as_lines, ascii_lower, shown
from .problems import Problem

__all__ = ["FALLBACKS", "HostSource", "Policy", "Sources", "allows", "host_source", "matches_any_host", "parse_csp",
           "scheme_of"]

# Infra "ASCII whitespace": TAB, LF, FF, CR, SPACE. Not str.split(): that also splits on VT,
# \x1c-\x1f and Unicode spaces, which browsers keep inside the token.
_ASCII_WS = "\t\n\f\r "
_WS_RUN = re.compile(r"[\t\n\f\r ]+")
_DIRECTIVE_NAME = re.compile(r"[a-z0-9-]+")  # §2.2 directive-name = 1*( ALPHA / DIGIT / "-" )
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")

# §2.3.1 source-expression grammar.
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*"
_SCHEME_SOURCE = re.compile(_SCHEME + ":")
_HOST_SOURCE = re.compile(
    rf"(?:({_SCHEME})://)?"  # scheme-part "://"
    r"(\*|(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?)"  # host-part
    r"(?::([0-9]+|\*))?"  # port-part
    r"(/[A-Za-z0-9\-._~%!$&'()*+=:@/]*)?"  # path-part: path-absolute without ";" and ","
)
# nonce-source / hash-source: base64-value = 1*( ALPHA / DIGIT / "+" / "/" / "-" / "_" )*2( "=" )
_NONCE_HASH = re.compile(r"'(nonce|sha256|sha384|sha512)-([A-Za-z0-9+/_-]+={0,2})'", re.I)

KEYWORDS = frozenset(
    {
        "'self'",
        "'unsafe-inline'",
        "'unsafe-eval'",
        "'strict-dynamic'",
        "'unsafe-hashes'",
        "'report-sample'",
        "'unsafe-allow-redirects'",
        "'wasm-unsafe-eval'",
        "'inline-speculation-rules'",
        "'trusted-types-eval'",
        "'report-sha256'",
        "'report-sha384'",
        "'report-sha512'",
        "'none'",
    }
)
_UNQUOTED_KEYWORDS = frozenset({"self", "none", "unsafe-inline", "unsafe-eval", "strict-dynamic"})

SOURCE_LIST_DIRECTIVES = frozenset(
    {
        "child-src",
        "connect-src",
        "default-src",
        "font-src",
        "frame-src",
        "img-src",
        "manifest-src",
        "media-src",
        "object-src",
        "prefetch-src",
        "script-src",
        "script-src-elem",
        "script-src-attr",
        "style-src",
        "style-src-elem",
        "style-src-attr",
        "worker-src",
        "fenced-frame-src",
        "base-uri",
        "form-action",
        "frame-ancestors",
        "navigate-to",
    }
)
KNOWN_DIRECTIVES = SOURCE_LIST_DIRECTIVES | {
    "plugin-types",
    "sandbox",
    "report-uri",
    "report-to",
    "require-trusted-types-for",
    "trusted-types",
    "upgrade-insecure-requests",
    "block-all-mixed-content",
    "require-sri-for",
    "webrtc",
}
DEPRECATED_DIRECTIVES = frozenset(
    {
        "block-all-mixed-content",
        "plugin-types",
        "prefetch-src",
        "navigate-to",
        "referrer",
        "reflected-xss",
        "disown-opener",
        "require-sri-for",
    }
)

_DEFAULT = ("default-src",)
FALLBACKS: dict[str, tuple[str, ...]] = {
    # §6.8.3 "get the effective directive" fallback lists.
    "script-src-elem": ("script-src-elem", "script-src", "default-src"),
    "script-src-attr": ("script-src-attr", "script-src", "default-src"),
    "style-src-elem": ("style-src-elem", "style-src", "default-src"),
    "style-src-attr": ("style-src-attr", "style-src", "default-src"),
    "worker-src": ("worker-src", "child-src", "script-src", "default-src"),
    "frame-src": ("frame-src", "child-src", "default-src"),
    "child-src": ("child-src", "default-src"),
    # Fenced Frame spec (and Chromium, MDN): fenced-frame-src falls back like frame-src.
    "fenced-frame-src": ("fenced-frame-src", "frame-src", "child-src", "default-src"),
    **{
        name: (name, *_DEFAULT)
        for name in (
            "script-src",
            "style-src",
            "object-src",
            "img-src",
            "font-src",
            "media-src",
            "connect-src",
            "manifest-src",
        )
    },
}

# Directives whose checks run the "script directives" algorithms (§6.7.1.1), where
# 'strict-dynamic' changes the meaning of the list whichever directive supplied it.
_SCRIPT_DIRECTIVES = frozenset({"script-src", "script-src-elem", "script-src-attr", "worker-src"})
_NONCE_HASH_PREFIXES = ("'nonce-", "'sha256-", "'sha384-", "'sha512-")


class Sources(NamedTuple):
    """A directive's source list as `allows` reads it: lower-cased tokens, built once per policy
    (a proxy asks many questions of one policy), and whether it holds a nonce or hash."""

    tokens: frozenset[str]
    nonce_or_hash: bool
    strict_dynamic: bool
    any_host: tuple[str, ...] = ()  # the sources that match every host: "*", "https://*", "*:443", …


class HostSource(NamedTuple):
    """A host-source expression's parts (§2.3.1): scheme and port None when not given, the host
    in lower case without a trailing dot, the path "" when not given."""

    scheme: str | None
    host: str
    port: str | None
    path: str


def host_source(source: str) -> HostSource | None:
    """The parts of a host-source, or None for any other expression (keyword, nonce, scheme)."""
    if source.startswith("'"):
        return None
    m = _HOST_SOURCE.fullmatch(source)
    if m is None:
        return None
    scheme, host, port, path = m.groups()
    return HostSource(None if scheme is None else ascii_lower(scheme), ascii_lower(host).rstrip("."), port, path or "")


_NETWORK_SCHEMES = (None, "http", "https", "ws", "wss")


def matches_any_host(source: str) -> bool:
    """`source` is "*" or a host-source whose host-part is "*" (§2.3.1), so it matches a URL on
    any web host: `https://*`, `http://*:*`, `*:8443`, `https://*/path`. A scheme-source
    (`https:`) is a scheme, not a host: the rules name those themselves. Nor is
    `chrome-extension://*` such a wildcard: it matches installed extensions, not a host an
    attacker can serve from."""
    parts = host_source(source)
    return parts is not None and parts.host == "*" and parts.scheme in _NETWORK_SCHEMES


@dataclass(frozen=True, slots=True)
class Policy:
    """One serialized policy. Several policies in one response are each enforced (§2.2.2)."""

    raw: str
    directives: dict[str, tuple[str, ...]] = field(hash=False)  # keeps Policy hashable
    problems: tuple[Problem, ...]
    sources: dict[str, Sources] = field(init=False, hash=False, compare=False, repr=False)
    # Directive asked about -> the present directive that governs it (§6.8.3), filled as asked.
    _governing: dict[str, str | None] = field(init=False, hash=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        sources = {}
        for name, tokens in self.directives.items():
            lowered = frozenset(map(ascii_lower, tokens))
            sources[name] = Sources(
                lowered, any(t.startswith(_NONCE_HASH_PREFIXES) for t in lowered), "'strict-dynamic'" in lowered,
                tuple(t for t in tokens if matches_any_host(t)),
            )
        object.__setattr__(self, "sources", sources)
        object.__setattr__(self, "_governing", {})

    def has(self, name: str) -> bool:
        """The directive is literally present (no fallback)."""
        return ascii_lower(name) in self.directives

    def governing(self, name: str) -> str | None:
        """The present directive that governs `name` (§6.8.3 fallback list); None = unrestricted."""
        known = self._governing
        try:
            return known[name]
        except KeyError:  # not asked yet (the checks ask about the same few directives again and again)
            key = ascii_lower(name)
            chain = FALLBACKS.get(key, (key,))
            found = known[name] = next((c for c in chain if c in self.directives), None)
            return found

    def effective(self, name: str) -> tuple[str, ...] | None:
        """Tokens of the first present directive of `name`'s fallback list; None = unrestricted."""
        governing = self.governing(name)
        return None if governing is None else self.directives[governing]

    def effective_sources(self, name: str) -> Sources | None:
        governing = self.governing(name)
        return None if governing is None else self.sources[governing]


def scheme_of(token: str) -> str | None:
    """Lowercased scheme of a scheme-source ("https:") or a host-source with "scheme://"."""
    if _SCHEME_SOURCE.fullmatch(token):
        return ascii_lower(token[:-1])
    m = _HOST_SOURCE.fullmatch(token)
    if m is not None and m.group(1) is not None:
        return ascii_lower(m.group(1))
    return None


def source_scheme(source: str) -> str | None:
    """scheme_of for a source expression as a source list holds it (normalised, so known to be in
    the grammar, scheme in lower case): without the regular expressions."""
    if source.startswith("'"):
        return None
    if source.endswith(":"):
        return source[:-1]
    end = source.find("://")
    return source[:end] if end > 0 else None


def _normalise_source(token: str) -> str | None:
    """Canonical form of a source expression, or None when it is not in the §2.3.1 grammar.

    Keywords and schemes are case-insensitive and lowercased; hosts keep their case (compare
    case-insensitively); nonce/hash values are base64 and kept verbatim.
    """
    if token.startswith("'"):
        low = ascii_lower(token)
        if low in KEYWORDS:
            return low
        m = _NONCE_HASH.fullmatch(token)
        if m is not None:
            return f"'{ascii_lower(m.group(1))}-{m.group(2)}'"
        return None
    if _SCHEME_SOURCE.fullmatch(token):
        return ascii_lower(token)
    m = _HOST_SOURCE.fullmatch(token)
    if m is None:
        return None
    scheme = m.group(1)
    return token if scheme is None or scheme.islower() else scheme.lower() + token[len(scheme):]


def _parse_policy(text: str) -> Policy | None:
    """§2.2.1 parse a serialized CSP; returns None for an empty policy."""
    raw = text.strip(_ASCII_WS)
    if not raw:
        return None
    directives: dict[str, tuple[str, ...]] = {}
    problems: list[Problem] = []
    m = _CONTROL.search(raw)
    if m is not None:
        # ASCII controls do not void a directive (§2.2.1 only skips non-ASCII ones), but no
        # source expression can contain them, so the token holding one is dropped as invalid.
        problems.append(Problem("syntax.non_ascii", f"control character {m.group()!r} at offset {m.start()}"))

    for token in raw.split(";"):
        token = token.strip(_ASCII_WS)
        if not token:
            continue
        if not token.isascii():
            # §2.2.1 step 2.2: a non-ASCII directive is skipped entirely, so its name falls back.
            problems.append(
                Problem("syntax.non_ascii", f"directive {shown(_WS_RUN.split(token, 1)[0])} ignored: non-ASCII")
            )
            continue
        parts = _WS_RUN.split(token)
        name = parts[0].lower()
        if not _DIRECTIVE_NAME.fullmatch(name):
            problems.append(Problem("directive.invalid_name", f"directive name {shown(parts[0])} is invalid"))
            continue
        if name in directives:
            # §2.2.1 step 2.5: only the first occurrence counts.
            problems.append(Problem("directive.repeated", f"{name} repeated; the first occurrence wins"))
            continue
        if name in DEPRECATED_DIRECTIVES:
            problems.append(Problem("directive.deprecated", f"{name} is deprecated"))
        elif name not in KNOWN_DIRECTIVES:
            problems.append(Problem("directive.unknown", f"unknown directive {name}"))

        values = parts[1:]
        if name in SOURCE_LIST_DIRECTIVES:
            directives[name] = _source_list(name, values, problems)
        else:
            directives[name] = tuple(values)

    return Policy(raw, directives, tuple(problems))


def _source_list(name: str, values: list[str], problems: list[Problem]) -> tuple[str, ...]:
    """Validate and normalise a serialized-source-list; invalid expressions are dropped."""
    kept: list[str] = []
    has_none = False
    for value in values:
        source = _normalise_source(value)
        if source is None:
            problems.append(Problem("source.invalid", f"{name}: {shown(value)} is not a source expression"))
            continue
        if source == "'none'":
            has_none = True
            continue
        if len(value) <= 13 and ascii_lower(value) in _UNQUOTED_KEYWORDS:
            problems.append(
                Problem("source.unquoted_keyword", f"{name}: {value} is a host name; did you mean '{value}'?")
            )
        kept.append(source)
    if has_none and len(values) > 1:
        # §2.3.1: 'none' only means "nothing" alone; with other expressions it is ignored.
        problems.append(Problem("source.none_with_others", f"{name}: 'none' combined with other sources is ignored"))
    return tuple(kept)


def parse_csp(values: Sequence[str]) -> tuple[Policy, ...]:
    """Parse every field line of one CSP header into its serialized policies; never raises.

    Each line is a comma-separated list (RFC 9110 §5.3, CSP3 §2.2.2) and every policy is
    enforced on its own: policies are never merged. Empty policies are dropped.
    """
    policies: list[Policy] = []
    for line in as_lines(values):
        for text in line.split(","):
            policy = _parse_policy(text)
            if policy is not None:
                policies.append(policy)
    return tuple(policies)


def allows(policy: Policy, directive: str, source: str) -> bool:
    """Would `policy` let the browser use `source` (a keyword, scheme-source or "*") for `directive`?

    Matching is on literal tokens (case-insensitive), adjusted as browsers do:
    - no directive in the fallback list: unrestricted, everything allowed;
    - 'unsafe-inline' is ignored next to a nonce or hash (§6.7.3.3 "does a source list allow
      all inline behavior");
    - for script directives, 'strict-dynamic' voids host/scheme sources, "*", 'self' and
      'unsafe-inline' ("script directives pre-request check", §6.7.3.3, §8.2), whether the list
      comes from script-src, child-src or default-src;
    - "*" is never treated as matching data:, blob: or keywords (CSP3 "does url match
      expression in origin with redirect count" excludes them from "*");
    - "*" asks for any host: a host wildcard with a scheme or port (`https://*`, `*:443`)
      answers it too (`matches_any_host`).
    """
    sources = policy.effective_sources(directive)
    if sources is None:
        return True
    wanted = ascii_lower(source.strip(_ASCII_WS))
    if wanted == "*":
        if not sources.any_host:
            return False
    elif wanted not in sources.tokens:
        return False
    strict = sources.strict_dynamic and (directive in _SCRIPT_DIRECTIVES or ascii_lower(directive) in _SCRIPT_DIRECTIVES)
    if wanted == "'unsafe-inline'":
        return not strict and not sources.nonce_or_hash
    if strict and (wanted == "'self'" or not wanted.startswith("'")):
        return False
    return True
