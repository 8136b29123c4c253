"""Referrer-Policy parser (W3C Referrer Policy §8.1).

§8.1 "Parse a referrer policy from a Referrer-Policy header": for each token of the list,
if it is a referrer policy (and not empty) it becomes the policy, so the LAST recognised token
wins and unknown tokens are skipped ("Unknown Policy Values", #unknown-policy-values: so sites can
send "no-referrer, strict-origin-when-cross-origin" as a fallback chain).

Case: the spec compares tokens literally, and so does this parser ("No-Referrer" is unknown).
Chromium (net/url_request/referrer_policy.cc, ReferrerPolicyFromHeader) and WebKit
(equalLettersIgnoringASCIICase) match ASCII case-insensitively, so such a token still works in
those browsers; it is reported in `unknown` so an audit can flag the spec deviation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._text import OWS, as_lines

__all__ = ["POLICIES", "ReferrerPolicy", "parse_referrer_policy"]

POLICIES: frozenset[str] = frozenset(
    {
        "no-referrer",
        "no-referrer-when-downgrade",
        "same-origin",
        "origin",
        "strict-origin",
        "origin-when-cross-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
    }
)


@dataclass(frozen=True, slots=True)
class ReferrerPolicy:
    """The effective policy (last recognised token across all lines) and the skipped tokens."""

    policy: str | None
    unknown: tuple[str, ...]


def parse_referrer_policy(values: Sequence[str]) -> ReferrerPolicy:
    """Parse all Referrer-Policy field lines as one comma-separated list; never raises."""
    policy: str | None = None
    unknown: list[str] = []
    for line in as_lines(values):
        for token in line.split(","):
            token = token.strip(OWS)
            if not token:
                continue
            if token in POLICIES:
                policy = token
            else:
                unknown.append(token)
    return ReferrerPolicy(policy, tuple(unknown))
