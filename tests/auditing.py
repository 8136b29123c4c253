"""Building core responses in tests: text header pairs in, what the auditor says out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from headeraudit.audit import Auditor, AuditSettings
from headeraudit.facts import Facts
from headeraudit.model import Finding, Outcome, Response
from headeraudit.rules import Ruleset


def _raw(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")  # \udc80-\udcff: the bytes they stand for
    except UnicodeEncodeError:  # other lone surrogates: never decoded from bytes, but generated
        return text.encode("utf-8", "surrogatepass")


def encoded(headers: Iterable[tuple[str, str]]) -> tuple[tuple[bytes, bytes], ...]:
    """Text pairs as raw header lines (undecodable bytes given as surrogates come back as bytes)."""
    return tuple((_raw(n), _raw(v)) for n, v in headers)


def decoded(lines: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape")) for n, v in lines]


def response(headers: Sequence[tuple[str, str]], *, scheme: str = "https", host: str = "www.example.com", path: str = "/",
             method: str = "GET", status: int = 200, request_headers: Sequence[tuple[str, str]] = (),
             live: bool = True) -> Response:
    origin = next((v for n, v in request_headers if n.lower() == "origin"), None)
    return Response(scheme, host, path, method, status, encoded(headers), origin, None, live)


def facts(ruleset: Ruleset, headers: Sequence[tuple[str, str]], **kw) -> Facts:
    return Facts(response(headers, **kw), ruleset.session_cookie_pattern)


def assess(auditor: Auditor, headers: Sequence[tuple[str, str]], **kw) -> Outcome:
    return auditor.assess(response(headers, **kw))


def findings(auditor: Auditor, headers: Sequence[tuple[str, str]], **kw) -> tuple[Finding, ...]:
    return auditor.assess(response(headers, **kw)).findings


def fix_auditor(ruleset: Ruleset, **settings) -> Auditor:
    return Auditor(ruleset, AuditSettings(fix=True, **settings))
