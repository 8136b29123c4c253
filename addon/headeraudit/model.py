"""Plain data shared by the engine, the state and the reporters."""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}


def parse_severity(text: str) -> str:
    """Normalise a severity name; ValueError names the accepted values."""
    name = str(text).strip().lower()
    if name not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {text!r}; expected one of: {', '.join(SEVERITIES)}")
    return name


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule violated by one response.

    `evidence` is what makes two findings of the same rule on the same host different
    (the offending value, a cookie name, "missing"); it is part of the dedup key, so it
    never carries per-request noise such as cookie values.
    """

    rule: str
    severity: str
    header: str
    message: str
    evidence: str

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "header": self.header,
            "message": self.message,
            "evidence": self.evidence,
        }
