"""Parse the violation reports browsers send for a CSP (both delivery formats).

- `report-uri`: `application/csp-report`, one object `{"csp-report": {...}}` with
  kebab-case keys (CSP3 §5.2 "deprecated serialization").
- `report-to` (Reporting API): `application/reports+json`, a list of reports
  `{"type": "csp-violation", "url": ..., "body": {...}}` with camelCase keys (CSP3 §5.3).

The body comes from whatever page is loaded through the proxy, so it is bounded, and
anything malformed yields no report rather than an error.
"""

from __future__ import annotations

import json
from typing import Any

from .text import clip_evidence
from .store import CspReport

MAX_BODY = 64 * 1024
MAX_REPORTS_PER_REQUEST = 100


def _text(value: Any, limit: int = 300) -> str:
    return clip_evidence(value if isinstance(value, str) else "" if value is None else str(value), limit)


def parse_csp_reports(body: bytes, host: str) -> list[CspReport]:
    if not body or len(body) > MAX_BODY:
        return []
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return []
    reports: list[CspReport] = []
    if isinstance(data, dict) and isinstance(data.get("csp-report"), dict):
        r = data["csp-report"]
        reports.append(CspReport(
            host=host,
            document_uri=_text(r.get("document-uri")),
            directive=_text(r.get("effective-directive") or r.get("violated-directive"), 100),
            blocked_uri=_text(r.get("blocked-uri")),
            sample=_text(r.get("script-sample"), 100),
            disposition=_text(r.get("disposition") or "enforce", 20),
        ))
    elif isinstance(data, list):
        for item in data[:MAX_REPORTS_PER_REQUEST]:
            if not isinstance(item, dict) or item.get("type") != "csp-violation" or not isinstance(item.get("body"), dict):
                continue
            b = item["body"]
            reports.append(CspReport(
                host=host,
                document_uri=_text(b.get("documentURL") or item.get("url")),
                directive=_text(b.get("effectiveDirective") or b.get("violatedDirective"), 100),
                blocked_uri=_text(b.get("blockedURL")),
                sample=_text(b.get("sample"), 100),
                disposition=_text(b.get("disposition") or "enforce", 20),
            ))
    return reports
