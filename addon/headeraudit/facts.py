"""A response's headers parsed once: what the checks and the grade read.

One judgement per header: a rule and a grade test that ask the same question (does the CSP
allow inline script? is X-Content-Type-Options in force? is this a session cookie?) read the
same parsed value here, so they cannot disagree. Each (grammar, header) is parsed at most
once per response, and only when something asks for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .model import Response
from .parsers.cookies import SetCookie, domain_rejection, parse_set_cookie
from .parsers.csp import Policy, allows, parse_csp
from .parsers.directives import parse_directives
from .parsers.hsts import parse_hsts
from .parsers.referrer import parse_referrer_policy
from .parsers.sf import parse_sf_token
from .parsers.xcto import parse_xcto
from .parsers.xfo import parse_xfo

DOCUMENT_TYPES = frozenset({"text/html", "application/xhtml+xml"})
CSP = "content-security-policy"
CSP_REPORT_ONLY = "content-security-policy-report-only"
NO_VALUES: tuple[str, ...] = ()
_OWS = " \t"  # RFC 9110 §5.6.3 optional whitespace around a field value
# Sources that let every site frame a page ("*" also stands for host wildcards, see allows()).
ANY_FRAMER = ("*", "https:", "http:")


@dataclass(frozen=True, slots=True)
class Cookie:
    """One Set-Cookie line as the browser stores it, with what rules and grade both ask of it."""

    parsed: SetCookie
    session: bool  # the name matches the ruleset's session_cookie_pattern
    deletion: bool  # expires on arrival (Max-Age <= 0, or Expires in the past)
    # The browser keeps it at all: RFC 6265bis §5.6 ignores a line with a control character, an
    # empty name and value, or a name and value over 4096 octets (the parser's fatal problems),
    # and §5.7 one whose Domain the host may not set (`rejected`).
    stored: bool
    rejected: str | None = None  # why §5.7 refuses its Domain attribute


def _cookies(lines: Sequence[str], pattern: re.Pattern[str], now: datetime, host: str) -> tuple[Cookie, ...]:
    out = []
    for line in lines:
        cookie = parse_set_cookie(line)
        rejected = domain_rejection(cookie.domain, host) if cookie.domain else None
        stored = not any(p.fatal for p in cookie.problems) and rejected is None
        out.append(Cookie(cookie, pattern.search(cookie.name) is not None, cookie.is_deletion(now), stored, rejected))
    return tuple(out)


# grammar -> parser of a header's lines (every line, in order; never empty).
PARSERS: dict[str, Callable[[tuple[str, ...]], Any]] = {
    "csp": parse_csp,
    "hsts": lambda lines: parse_hsts(lines[0]),  # RFC 6797 §8.1: only the first field is processed
    "xfo": parse_xfo,
    "x-content-type-options": parse_xcto,
    "referrer-policy": parse_referrer_policy,
    "structured-token": parse_sf_token,
    "comma": lambda lines: parse_directives(lines, ","),
    "semicolon": lambda lines: parse_directives(lines, ";"),
}


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


class Facts:
    """The decoded header lines of one response by lower-cased name, and their parsed forms."""

    __slots__ = ("response", "scheme", "status", "method", "host", "path", "media_type", "headers",
                 "empty", "now", "_session_pattern", "_parsed")

    def __init__(self, response: Response, session_pattern: re.Pattern[str], now: datetime | None = None) -> None:
        self.response = response
        self.scheme = response.scheme.lower()
        self.status = response.status
        self.method = response.method.upper()
        self.host = response.host.lower()
        self.path = response.path.split("?", 1)[0]
        if now is None:
            now = datetime.now(timezone.utc) if response.time is None else datetime.fromtimestamp(response.time, timezone.utc)
        self.now = now
        self._session_pattern = session_pattern
        self._parsed: dict[tuple[str, str], Any] = {}
        headers: dict[str, list[str]] = {}
        for raw_name, raw_value in response.headers:
            # Field names are ASCII tokens (RFC 9110 §5.1): bytes.lower() folds ASCII only, so
            # "SET-COO\u212aIE" (Kelvin sign) is not Set-Cookie, as no browser reads it as one.
            name = raw_name.lower().decode("utf-8", "surrogateescape")
            headers.setdefault(name, []).append(raw_value.decode("utf-8", "surrogateescape"))
        self.headers: dict[str, tuple[str, ...]] = {name: tuple(values) for name, values in headers.items()}
        # Sent with an empty value: a header that sets no policy is absent for every protection
        # (present() and parsed() say so, the grade follows), and invalid for the `valid` check.
        self.empty = frozenset(name for name, values in self.headers.items()
                               if not any(v.strip(_OWS) for v in values))
        content_type = self.headers.get("content-type")
        self.media_type = media_type(content_type[0]) if content_type else ""

    @property
    def document(self) -> bool:
        return self.media_type in DOCUMENT_TYPES

    @property
    def https(self) -> bool:
        return self.scheme == "https"

    def values(self, name: str) -> tuple[str, ...]:
        """Every line of header `name` (lower case), in order; empty when absent."""
        return self.headers.get(name, NO_VALUES)

    def present(self, name: str) -> bool:
        """The header is sent with a value (an empty one counts as absent, see `empty`)."""
        return name in self.headers and name not in self.empty

    def parsed(self, grammar: str, name: str) -> Any:
        """Header `name` parsed with `grammar` (a key of PARSERS); None when it is absent or empty."""
        key = (grammar, name)
        try:
            return self._parsed[key]
        except KeyError:
            values = self.headers.get(name)
            result = self._parsed[key] = None if values is None or name in self.empty else PARSERS[grammar](values)
            return result

    def cookies(self, name: str = "set-cookie") -> tuple[Cookie, ...]:
        key = ("cookies", name)
        found = self._parsed.get(key)
        if found is None:
            found = self._parsed[key] = _cookies(self.values(name), self._session_pattern, self.now, self.host)
        return found

    @property
    def sets_session_cookie(self) -> bool:
        """The response sets (not deletes) a cookie whose name marks it as a session cookie."""
        return any(c.session and c.stored and not c.deletion for c in self.cookies())

    def policies(self, name: str = CSP) -> tuple[Policy, ...]:
        """The policies of a CSP header; each is enforced on its own (CSP3 §2.2.2)."""
        return self.parsed("csp", name) or ()

    def csp_allows(self, directive: str, source: str, name: str = CSP) -> bool:
        """Whether the browser lets `source` through for `directive`: a load must pass every
        enforced policy (CSP3 §2.2.2), so only if each of them allows it. Without a policy,
        everything is allowed."""
        for policy in self.policies(name):
            if not allows(policy, directive, source):
                return False
        return True

    def csp_restricts(self, directive: str, name: str = CSP) -> bool:
        """Some policy restricts `directive` (after fallback, CSP3 §6.8.3)."""
        for policy in self.policies(name):
            if policy.governing(directive) is not None:
                return True
        return False

    @property
    def framing(self) -> str:
        """Who may frame the page: "csp" (an enforced frame-ancestors keeps some framers out),
        "anyone-despite-csp" (frame-ancestors admits every framer: `*`, `https:`, `https://*`),
        "xfo" (X-Frame-Options DENY or SAMEORIGIN, no frame-ancestors), or "anyone". An enforced
        frame-ancestors, however broad, makes browsers ignore X-Frame-Options (HTML standard,
        "check a navigation response's adherence to X-Frame-Options"; CSP3 §6.4.2)."""
        if self.csp_restricts("frame-ancestors"):
            broad = any(self.csp_allows("frame-ancestors", source) for source in ANY_FRAMER)
            return "anyone-despite-csp" if broad else "csp"
        xfo = self.parsed("xfo", "x-frame-options")
        return "xfo" if xfo is not None and xfo.state in ("deny", "sameorigin", "conflict") else "anyone"

    @property
    def cors_echoed_origin(self) -> str | None:
        """The request's Origin, when the response echoes it in its one Access-Control-Allow-Origin
        line with credentials allowed (Fetch CORS check): the evidence of universal access."""
        if not any(c.strip().lower() == "true" for c in self.values("access-control-allow-credentials")):
            return None
        return echoed_origin(self.values("access-control-allow-origin"), self.response.origin())


def echoed_origin(allow_origin: Sequence[str], origin: str | None) -> str | None:
    """`origin` (the request's, stripped) if the Access-Control-Allow-Origin lines echo it: one
    line equal to it, and not "null". Whether credentials are allowed is the caller's part."""
    if len(allow_origin) != 1 or origin is None or origin != allow_origin[0].strip() or origin.lower() == "null":
        return None
    return origin
