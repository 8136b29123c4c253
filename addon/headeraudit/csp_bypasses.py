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


def matches(source: str, bypass: Bypass) -> bool:
    """Would the host-source `source` (normalised) allow a script at `bypass`'s URL?"""
    rest = source.split("://", 1)[1] if "://" in source else source
    slash = rest.find("/")
    path = "" if slash < 0 else rest[slash:]
    host = _host(source)
    if host.startswith("*."):
        if not bypass.host.endswith(host[1:]):
            return False
    elif host != bypass.host:
        return False
    if not path or path == "/":
        return True
    return bypass.path.startswith(path) if path.endswith("/") else bypass.path == path


def bypasses(sources: tuple[str, ...], kinds: frozenset[str], eval_allowed: bool) -> list[tuple[str, Bypass]]:
    """(source, the first known bypass it allows) for each host source of `sources` that allows one."""
    exact, suffixes = _by_host()
    found = []
    for source in sources:
        if source.startswith("'") or "." not in source:  # keywords, nonces, schemes, "*": not a host list
            continue
        host = _host(source)
        candidates = suffixes.get(host[1:], ()) if host.startswith("*.") else exact.get(host, ())
        for bypass in candidates:
            if bypass.kind in kinds and (eval_allowed or not bypass.needs_eval) and matches(source, bypass):
                found.append((source, bypass))
                break
    return found


def _host(source: str) -> str:
    rest = source.split("://", 1)[1] if "://" in source else source
    authority = rest.split("/", 1)[0]
    host = authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority
    return host.lower().rstrip(".")
