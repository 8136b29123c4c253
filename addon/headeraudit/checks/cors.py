"""`cors_reflection`: Access-Control-Allow-Origin echoing whatever Origin arrives, with credentials.

A single echoed Origin is indistinguishable from an allow-listed partner; the proxy sees many
requests, so it flags a host once it echoes `min_origins` different ones. The echo itself is a
fact of the response (Facts.cors_echoed_origin), which the grade reads too.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..text import clip_evidence
from .base import Check
from .spec import SpecError, expect_keys, expect_mapping

MAX_HOSTS = 4096  # hosts remembered (oldest forgotten first), `min_origins` origins each


@dataclass
class CorsReflection(Check):
    stateful = True
    min_origins: int

    def run(self, facts, name, memory):
        origin = facts.cors_echoed_origin if name == "access-control-allow-origin" else None
        if origin is None:
            return []
        seen = memory.setdefault("origins_by_host", OrderedDict())
        origins = seen.get(facts.host)
        if origins is None:
            origins = seen[facts.host] = set()
            if len(seen) > MAX_HOSTS:
                seen.popitem(last=False)
        if len(origins) < self.min_origins:
            origins.add(origin)
        if len(origins) >= self.min_origins:
            return [("Origin echoed with credentials", f"{len(origins)} different Origins echoed, e.g. {clip_evidence(origin, 80)}")]
        return []


    def state(self, memory, host, origin):
        # Only a new Origin of a host short of min_origins changes the memory; otherwise the
        # verdict reads how many the host has echoed.
        origins = memory.get("origins_by_host", {}).get(host)
        if origins is None or (origin not in origins and len(origins) < self.min_origins):
            return None
        return len(origins)


def compile_cors(arg: Any, line: int | None) -> CorsReflection:
    spec = expect_mapping(arg, "cors_reflection", line)
    expect_keys(spec, ("min_origins",), "cors_reflection")
    number = spec.get("min_origins", 2)
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise SpecError("cors_reflection.min_origins must be an integer >= 1", line)
    return CorsReflection(min_origins=number)
