"""The JSON report (schema `headeraudit-report/1`, documented in README.md).

Its size is bounded because the store is: at most `max_entries` findings with three
example URLs each.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from typing import Any

from .. import __version__
from ..grade import letter
from ..model import SEVERITIES
from ..rules import Ruleset
from ..store import FindingStore

SCHEMA_ID = "headeraudit-report/1"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


GRADE_METHOD = "MDN HTTP Observatory scoring over the observed responses (see README, Grades)"


def build_grades(store: FindingStore, mode: str) -> dict[str, Any]:
    """Per-host grades and an overall one: the mean of the hosts' scores (worst host named)."""
    hosts = []
    for host, stats in sorted(store.hosts.items()):
        summary = stats.grade.summary()
        if summary is None:
            continue
        after = stats.grade_after.summary() if stats.grade_after is not None and mode == "fix" else None
        hosts.append({"host": host, **summary, "after_fix": after})
    overall: dict[str, Any] = {"score": None, "grade": None, "hosts": len(hosts), "worst_host": None, "after_fix": None}
    if hosts:
        mean = sum(h["score"] for h in hosts) // len(hosts)
        worst = min(hosts, key=lambda h: (h["score"], h["host"]))
        overall.update(score=mean, grade=letter(mean), worst_host=worst["host"])
        afters = [h["after_fix"]["score"] for h in hosts if h["after_fix"]]
        if afters and len(afters) == len(hosts):
            mean_after = sum(afters) // len(afters)
            overall["after_fix"] = {"score": mean_after, "grade": letter(mean_after)}
    return {"method": GRADE_METHOD, "overall": overall, "hosts": hosts}


def build_report(store: FindingStore, ruleset: Ruleset | None, mode: str, now: float,
                 csp_proposals: dict[str, Any] | None = None) -> dict[str, Any]:
    """`csp_proposals`: the learned CSP proposals (csp_learning.proposals_section)."""
    findings = []
    for entry in store.sorted_entries():
        item = entry.as_dict()
        item["first_seen"] = _iso(entry.first_seen)
        item["last_seen"] = _iso(entry.last_seen)
        findings.append(item)
    return {
        "schema": SCHEMA_ID,
        "tool": "headeraudit",
        "version": __version__,
        "generated": _iso(now),
        "mode": mode,
        "ruleset": {
            "path": ruleset.path if ruleset else None,
            "sha256": ruleset.sha256 if ruleset else None,
            "rules": len(ruleset.rules) if ruleset else 0,
        },
        # What reporters need to describe a rule (SARIF rule metadata, the HTML report's fix).
        "rules": [
            {
                "id": rule.id, "severity": rule.severity, "message": rule.message, "headers": list(rule.headers),
                "target": rule.target, "references": list(rule.references),
                "fix": rule.fix.as_dict() if rule.fix else None, "source": rule.source,
            }
            for rule in (ruleset.rules if ruleset else ())
        ],
        "summary": {
            "flows_audited": store.flows_audited,
            "findings": len(store.entries),
            "occurrences": store.occurrences,
            "by_severity": store.totals(),
            "dropped": store.dropped,
        },
        "findings": findings,
        "hosts": [
            {"host": host, "flows": stats.flows, "by_severity": {s: stats.by_severity[s] for s in SEVERITIES}}
            for host, stats in sorted(store.hosts.items())
        ],
        "fixes": [
            {"host": host, "edit": label, "rule": rule, "applied": applied, "flows": count}
            for (host, label, rule, applied), count in sorted(store.fixes.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
        ],
        "grades": build_grades(store, mode),
        "fix_previews": [p.as_dict() for _, p in sorted(store.fix_previews.items())],
        "csp_reports": [r.as_dict() for r in sorted(store.csp_reports.values(), key=lambda r: (r.host, -r.count, r.directive))],
        "csp_proposals": csp_proposals or {"rules_snippet": "", "hosts": []},
    }


def write_atomically(path: str, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a report,
    and a failed write leaves the previous report in place."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".headeraudit-", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates 0600; a report is an ordinary file (CI artifacts are read by others).
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def render_json(report: dict[str, Any]) -> bytes:
    # Evidence is made printable upstream; backslashreplace is the belt to those braces.
    return (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
