"""`cookie`: each Set-Cookie line the browser would store, judged on its own (RFC 6265bis §5.6).

Deletion cookies (expiring on arrival) and lines the browser ignores are not judged; a cookie
whose Domain the host may not set (§5.7: no domain-match, or a public suffix) is only reported
as such (`domain_rejected`). Whether a cookie is a session cookie
is a fact of the response (the ruleset's session_cookie_pattern), shared with the grade.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..parsers.cookies import SetCookie
from ..text import clip_evidence
from .base import Check, Violation
from .spec import SpecError, compile_regex, expect_bool, expect_keys, expect_mapping, line_of, str_list

ATTRIBUTE_NAMES = {"secure": "Secure", "httponly": "HttpOnly"}


def cookie_label(cookie: SetCookie) -> str:
    """A cookie's evidence: its name, never its value (values are secrets)."""
    return clip_evidence(cookie.name or "(no name)", 80)


@dataclass
class CookieCheck(Check):
    select: str  # all or session
    name_pattern: re.Pattern[str] | None
    require_attributes: tuple[str, ...]
    samesite_required: bool
    samesite_allowed: frozenset[str]
    samesite_none_requires_secure: bool
    valid_prefix: bool
    domain_rejected: bool = False

    def run(self, facts, name, memory):
        out: list[Violation] = []
        for fact in facts.cookies(name):
            cookie = fact.parsed
            if self.domain_rejected and fact.rejected is not None and not fact.deletion:
                out.append((cookie_label(cookie), f"cookie {cookie_label(cookie)} is never stored: {fact.rejected}"))
            if fact.deletion or not fact.stored or (self.select == "session" and not fact.session):
                continue
            if self.name_pattern is not None and not self.name_pattern.search(cookie.name):
                continue
            label = cookie_label(cookie)
            for attribute in self.require_attributes:
                if not getattr(cookie, attribute):
                    out.append((label, f"cookie {label} lacks {ATTRIBUTE_NAMES[attribute]}"))
            if self.samesite_required and cookie.samesite is None:
                out.append((label, f"cookie {label} has no SameSite attribute"))
            if self.samesite_allowed and cookie.samesite is not None and cookie.samesite not in self.samesite_allowed:
                out.append((label, f"cookie {label} has SameSite={cookie.samesite or '(empty)'}"))
            if self.samesite_none_requires_secure and cookie.samesite == "none" and not cookie.secure:
                out.append((label, f"cookie {label} has SameSite=None without Secure (browsers reject it)"))
            if self.valid_prefix:
                out.extend((label, p.detail) for p in cookie.prefix_problems())
        return out


def compile_cookie(arg: Any, line: int | None) -> CookieCheck:
    spec = expect_mapping(arg, "cookie", line)
    keys = ("select", "name_matches", "require_attributes", "samesite", "samesite_none_requires_secure", "valid_prefix",
            "domain_rejected")
    expect_keys(spec, keys, "cookie")
    select = spec.get("select", "all")
    if select not in ("all", "session"):
        raise SpecError("cookie.select must be all or session", line_of(spec, "select"))
    name_pattern = compile_regex(spec["name_matches"], "cookie.name_matches", line) if "name_matches" in spec else None
    attributes = tuple(a.lower() for a in str_list(spec["require_attributes"], "cookie.require_attributes", line)) \
        if "require_attributes" in spec else ()
    for attribute in attributes:
        if attribute not in ATTRIBUTE_NAMES:
            raise SpecError(f"cookie.require_attributes: {attribute!r} is not one of secure, httponly", line)
    required, allowed = False, frozenset[str]()
    if "samesite" in spec:
        samesite = expect_mapping(spec["samesite"], "cookie.samesite", line)
        expect_keys(samesite, ("required", "allowed"), "cookie.samesite")
        required = expect_bool(samesite.get("required", False), "cookie.samesite.required", line)
        if "allowed" in samesite:
            allowed = frozenset(s.lower() for s in str_list(samesite["allowed"], "cookie.samesite.allowed", line))
            if allowed - {"lax", "strict", "none"}:
                raise SpecError("cookie.samesite.allowed takes lax, strict, none", line)
    none_secure = expect_bool(spec.get("samesite_none_requires_secure", False), "cookie.samesite_none_requires_secure", line)
    prefix = expect_bool(spec.get("valid_prefix", False), "cookie.valid_prefix", line)
    rejected = expect_bool(spec.get("domain_rejected", False), "cookie.domain_rejected", line)
    if not (attributes or required or allowed or none_secure or prefix or rejected):
        raise SpecError("cookie needs at least one of require_attributes, samesite, samesite_none_requires_secure, "
                        "valid_prefix, domain_rejected", line)
    return CookieCheck(select, name_pattern, attributes, required, allowed, none_secure, prefix, rejected)
