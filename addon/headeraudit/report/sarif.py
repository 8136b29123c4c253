"""The SARIF 2.1.0 report, for GitHub code scanning and other SARIF viewers.

One run; `tool.driver` is headeraudit with one reportingDescriptor per rule of the report
(id, short and full description, helpUri = the first reference, help text with the fix).
One result per finding (host, rule, evidence): ruleId and ruleIndex, level, a message naming
header and evidence, the first http(s) example URL as the location (else https://<host>/),
a partialFingerprint so alerts survive re-runs, and host/count/header/evidence/first and
last seen as properties. Findings of a rule the report does not describe get a descriptor
made from the finding, so every result has a ruleIndex.

Severity mapping. SARIF has three result levels; GitHub code scanning sorts security alerts
by `properties.security-severity` (a CVSS-like score as a string; GitHub shows >= 9.0 as
critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low, and only reads it on rules tagged
"security"):

    severity   level    security-severity
    critical   error    9.5
    high       error    8.0
    medium     warning  5.5
    low        note     3.0
    info       note     1.0

Text from the report goes through `printable`, so a viewer never gets control characters or
lone surrogates; URIs are percent-encoded so they stay valid `uri-reference`s.

`sarif-schema-2.1.0.json` beside this module is the SARIF 2.1.0 JSON schema (JSON Schema
draft-07, $id https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json,
title "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"), taken unchanged
from the PyPI sdist sarif-pydantic 0.6.2 (sarif_pydantic-0.6.2/sarif-schema-2.1.0.json).
The tests validate our output against it; it is not used at run time.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from ._common import (
    as_dict,
    as_int,
    as_list,
    findings,
    fix_description,
    is_web_url,
    printable,
    rules_by_id,
)

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
# The project has no public home yet; `.invalid` (RFC 6761) like the JSON report schema's $id.
INFORMATION_URI = "https://headeraudit.invalid/"
FINGERPRINT_KEY = "headerauditFinding/v1"

LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}

# RFC 3986 reserved and unreserved characters and '%' stay; everything else is encoded.
_URI_SAFE = ":/?#[]@!$&'()*+,;=-._~%"


def _uri(url: str) -> str:
    return quote(url, safe=_URI_SAFE, errors="backslashreplace")


def fingerprint(host: Any, rule: Any, evidence: Any) -> str:
    """Stable across runs and machines: the same (host, rule, evidence) is the same alert.
    Hashed from the raw strings as a JSON array (no separator to collide on; ASCII escapes
    keep undecodable bytes distinct)."""
    key = json.dumps([str(part) for part in (host, rule, evidence)], ensure_ascii=True)
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:32]


def _descriptor(rule: dict[str, Any]) -> dict[str, Any]:
    severity = str(rule.get("severity")) if rule.get("severity") in LEVELS else "medium"
    message = printable(rule.get("message")) or printable(rule.get("id"))
    headers = ", ".join(printable(h) for h in as_list(rule.get("headers")))
    references = [printable(r) for r in as_list(rule.get("references"))]
    fix = fix_description(rule)
    help_lines = [message]
    if headers:
        help_lines.append(f"Headers: {headers}.")
    if fix:
        help_lines.append("Fix: " + "; ".join(fix) + ".")
    if references:
        help_lines.append("References: " + " ".join(references))
    descriptor: dict[str, Any] = {
        "id": printable(rule.get("id")),
        "shortDescription": {"text": message},
        "fullDescription": {"text": f"{message} ({printable(severity)}; headers: {headers or '-'})"},
        "help": {"text": "\n".join(help_lines)},
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": {
            "tags": ["security", "http-headers"],
            "precision": "very-high",
            "security-severity": SECURITY_SEVERITY[severity],
            "severity": severity,
        },
    }
    first_web = next((r for r in as_list(rule.get("references")) if is_web_url(r)), None)
    if first_web is not None:
        descriptor["helpUri"] = _uri(first_web)
    if isinstance(rule.get("source"), str):
        descriptor["properties"]["source"] = printable(rule["source"])
    return descriptor


def _location(finding: dict[str, Any]) -> str:
    url = next((u for u in as_list(finding.get("examples")) if is_web_url(u)), None)
    return _uri(url) if url is not None else _uri(f"https://{printable(finding.get('host'))}/")


def _result(finding: dict[str, Any], rule_index: int) -> dict[str, Any]:
    severity = str(finding.get("severity")) if finding.get("severity") in LEVELS else "medium"
    header, evidence = printable(finding.get("header")), printable(finding.get("evidence"))
    return {
        "ruleId": printable(finding.get("rule")),
        "ruleIndex": rule_index,
        "level": LEVELS[severity],
        "message": {"text": f"{printable(finding.get('message'))} — {header}: {evidence}"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _location(finding)}}}],
        "partialFingerprints": {
            FINGERPRINT_KEY: fingerprint(finding.get("host"), finding.get("rule"), finding.get("evidence")),
        },
        "properties": {
            "host": printable(finding.get("host")),
            "severity": severity,
            "count": as_int(finding.get("count")),
            "header": header,
            "evidence": evidence,
            "firstSeen": printable(finding.get("first_seen")),
            "lastSeen": printable(finding.get("last_seen")),
            "examples": [printable(u) for u in as_list(finding.get("examples"))],
        },
    }


def build_sarif(report: dict[str, Any]) -> dict[str, Any]:
    descriptors: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for rule_id, rule in rules_by_id(report).items():
        index[rule_id] = len(descriptors)
        descriptors.append(_descriptor(rule))
    results = []
    for finding in findings(report):
        given = finding.get("rule")
        key = given if isinstance(given, str) else printable(given)
        if key not in index:
            index[key] = len(descriptors)
            descriptors.append(_descriptor({"id": key, "severity": finding.get("severity"), "message": finding.get("message")}))
        results.append(_result(finding, index[key]))
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "headeraudit",
                "version": printable(report.get("version")) or "0",
                "informationUri": INFORMATION_URI,
                "rules": descriptors,
            }},
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": {
                "mode": printable(report.get("mode")),
                "generated": printable(report.get("generated")),
                "flowsAudited": as_int(as_dict(report.get("summary")).get("flows_audited")),
            },
        }],
    }


def render_sarif(report: dict[str, Any]) -> bytes:
    return (json.dumps(build_sarif(report), indent=2, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
