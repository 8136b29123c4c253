"""Hosts that defeat a CSP host allowlist: they serve JSONP endpoints, old AngularJS or Flash
files, so a policy that allows scripts (or plugins) from them lets an attacker run script
anyway. The list is CSP Evaluator's (data/csp_bypasses.json names each entry's source;
scripts/csp_bypasses.py regenerates it); matching is CSP3 source matching (§6.7.2.8): a
`*.` host matches sub-domains, a path ending in "/" is a prefix, any other path is exact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .parsers.csp import HostSource, host_source


@dataclass(frozen=True)
class Bypass:
    host: str
    path: str
    kind: str  # jsonp, angular or flash
    needs_eval: bool  # a JSONP endpoint whose payload needs 'unsafe-eval'
    source: str


@cache
def known() -> tuple[Bypass, ...]:
    data = json.loads(resources.files("headeraudit").joinpath("data", "csp_bypasses.json").read_text())
    out = []
    for entry in data["entries"]:
        host, _, path = entry["url"].removeprefix("//").partition("/")
        out.append(Bypass(host.lower(), "/" + path, entry["kind"], entry["needs_eval"], entry["source"]))
    return tuple(out)


@cache
def _by_host() -> tuple[dict[str, tuple[Bypass, ...]], dict[str, tuple[Bypass, ...]]]:
    """The entries by host, and by every ".suffix" of their host (for `*.` sources): one look-up
    per source, however long a policy's list (a hostile one holds thousands)."""
    exact: dict[str, list[Bypass]] = {}
    suffixes: dict[str, list[Bypass]] = {}
    for bypass in known():
        exact.setdefault(bypass.host, []).append(bypass)
        labels = bypass.host.split(".")
        for i in range(1, len(labels)):
            suffixes.setdefault("." + ".".join(labels[i:]), []).append(bypass)
    return ({k: tuple(v) for k, v in exact.items()}, {k: tuple(v) for k, v in suffixes.items()})


def known_host(host: str) -> bool:
    """Whether a known bypass lives on exactly this host."""
    return host.lower() in _by_host()[0]


def matches(source: HostSource, bypass: Bypass) -> bool:
    """Would the host-source `source` allow a script at `bypass`'s URL?"""
    if source.host.startswith("*."):
        if not bypass.host.endswith(source.host[1:]):
            return False
    elif source.host != bypass.host:
        return False
    path = source.path
    if not path or path == "/":
        return True
    return bypass.path.startswith(path) if path.endswith("/") else bypass.path == path


def bypasses(sources: tuple[str, ...], kinds: frozenset[str], eval_allowed: bool) -> list[tuple[str, Bypass]]:
    """(source, the first known bypass it allows) for each host source of `sources` that allows one."""
    exact, suffixes = _by_host()
    found = []
    for source in sources:
        parts = host_source(source)
        if parts is None or "." not in parts.host:  # "*", a bare name: no known host
            continue
        candidates = suffixes.get(parts.host[1:], ()) if parts.host.startswith("*.") else exact.get(parts.host, ())
        for bypass in candidates:
            if bypass.kind in kinds and (eval_allowed or not bypass.needs_eval) and matches(parts, bypass):
                found.append((source, bypass))
                break
    return found
