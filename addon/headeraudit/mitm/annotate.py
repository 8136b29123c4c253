"""An Outcome put on a flow: metadata, comment, marker, and in fix mode the rewritten lines."""

from __future__ import annotations

from mitmproxy import http

from ..audit import COMMENT_PREFIX, FINDING_COMMENT_PREFIX, FIX_COMMENT_PREFIX, WOULD_FIX_COMMENT_PREFIX
from ..model import Outcome
from .flows import FlowView

OUR_LINES = (COMMENT_PREFIX, FINDING_COMMENT_PREFIX, FIX_COMMENT_PREFIX, WOULD_FIX_COMMENT_PREFIX)


def apply(flow: http.HTTPFlow, view: FlowView, outcome: Outcome) -> None:
    """Annotate the flow and, when it is live and something is fixed, rewrite its response's
    header lines: untouched lines keep their raw bytes. The metadata's inner lists and dicts
    are shared with other flows of the same Outcome (read-only by contract)."""
    if outcome.metadata is None:
        return
    lines = [outcome.comment]
    flow.metadata["headeraudit"] = dict(outcome.metadata)
    flow.marked = outcome.marker
    fix = outcome.fix
    if fix is not None:
        response = flow.response
        assert response is not None
        if view.live:
            # Assigning the fields directly skips http.Headers' re-validation of every line.
            response.headers.fields = fix.rewrite.apply(view.fields, view.lower_case_names)
        flow.metadata["headeraudit_fix"] = {
            # Raw, as mitmproxy held them: exact, and a flow with non-UTF-8 header bytes can
            # still be saved with -w (its flow files refuse the surrogates a text form carries).
            "applied": view.live, "edits": list(fix.edit_dicts), "original_headers": view.fields,
            "findings_after": list(fix.findings_after),
        }
        lines.append(fix.comment)
    flow.comment = merged_comment(flow.comment, lines)


def merged_comment(existing: str, ours: list[str]) -> str:
    """Our lines replace our earlier ones; whatever the user wrote is kept, first."""
    if not existing:
        return "\n".join(ours)
    kept = [line for line in existing.splitlines() if not line.startswith(OUR_LINES)]
    return "\n".join([*kept, *ours])
