"""The one cache: what decides a response's Outcome -> that Outcome.

A site sends the same security headers again and again while Date, ETag and Content-Length
change, and most of the rest (nonces, cookie values) is taken out by the auditor's `select`.
So the key is the lines an outcome depends on, in the form they are judged, with the scheme,
status, method and whether the flow is live, plus host and path when a rule or fix reads
them. A memo hit is the same Outcome the full path builds: there is one path, and this skips
it. A credentialed CORS answer that echoes the request's Origin is decided by the Origins the
host echoed before too: it is kept with the host, the Origin and what the stateful checks say
of their memory (Auditor.state), and never while judging it would change that memory. Never
kept: outcomes that depend on the whole flow (a rule with a mitmproxy filter expression).
"""

from __future__ import annotations

from typing import Any

from ..audit import Auditor
from ..facts import echoed_origin
from ..model import Outcome, Response
from .flows import FlowView, request_origin

MAX_ENTRIES = 4096
MAX_BYTES = 16 << 20  # header lines are attacker-sized: the memo is bounded in bytes too


class BoundedCache(dict):
    """A dict that forgets everything when it would pass `max_entries` or `max_bytes` (sizes as
    told by put). An entry bigger than an eighth of the byte budget is not kept at all."""

    __slots__ = ("max_entries", "max_bytes", "held")

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        super().__init__()
        self.max_entries, self.max_bytes, self.held = max_entries, max_bytes, 0

    def put(self, key: Any, value: Any, size: int) -> Any:
        """Store value under key if it fits (clearing first when full); return value."""
        if size <= self.max_bytes >> 3:
            if len(self) >= self.max_entries or self.held + size > self.max_bytes:
                self.clear()
            self[key] = value
            self.held += size
        return value

    def clear(self) -> None:
        super().clear()
        self.held = 0


class Memo:
    def __init__(self, auditor: Auditor, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.auditor = auditor
        self._outcomes = BoundedCache(max_entries, max_bytes)
        self.hits = self.misses = 0

    def outcome(self, view: FlowView, flow: Any) -> Outcome:
        """The Outcome of the response `view` shows of `flow`; a miss may also read the request's
        Origin and hand the flow to rules' filter expressions."""
        auditor = self.auditor
        lines, depends_on_request, cut = auditor.select(view.fields)
        origin: Any = None
        echo: tuple = ()
        if depends_on_request:
            # Credentials allowed: only an answer that echoes this request's Origin depends on it,
            # and on the Origins the host echoed before; any other has one Outcome whatever the Origin.
            origin = request_origin(flow.request)
            origin = None if origin is None else origin.strip()
            allowed = [value.decode("utf-8", "surrogateescape") for name, value in lines if name == b"access-control-allow-origin"]
            if echoed_origin(allowed, origin) is not None:
                state = auditor.state(view.host, origin)
                echo = (view.host, origin, state)
                depends_on_request = state is None
            else:
                depends_on_request = False
        key: tuple | None = None
        if not (depends_on_request or auditor.reads_flow):
            key = (view.scheme, view.status, view.method, view.live, lines, cut, *echo)
            if auditor.reads_location:
                key += (view.host, view.path.split("?", 1)[0])
            known = self._outcomes.get(key)
            if known is not None:
                self.hits += 1
                return known
        self.misses += 1
        if origin is None:  # looked up only if a check asks for it
            origin = lambda: request_origin(flow.request)  # noqa: E731
        outcome = auditor.assess(Response(view.scheme, view.host, view.path, view.method, view.status, lines,
                                          origin, flow, view.live, cut, view.time))
        if key is not None:
            self._outcomes.put(key, outcome, 512 + 3 * sum(len(name) + len(value) for name, value in lines))
        return outcome
