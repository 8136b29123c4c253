"""Reporters: plain data in, bytes out, written atomically.

The report file's extension picks the format: `.json` (the schema'd report), `.html`
(a self-contained page), `.sarif` (SARIF 2.1.0 for code scanning), `.xml` (JUnit for CI
dashboards), `.md` (a pull-request comment), `.yaml` (a rules file enforcing the learned CSPs). `summary.render_summary` is the terminal
summary, not a file format. Nothing here imports mitmproxy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .html import render_html
from .json_report import render_json
from .junit import render_junit
from .markdown import render_markdown
from .sarif import render_sarif


def render_csp_rules(report: dict[str, Any]) -> bytes:
    """The rules file of the learned CSP proposals (csp_learning.rules_snippet), as the report
    holds it: fix mode with it as headeraudit_rules enforces them."""
    section = report.get("csp_proposals") or {}
    text = section.get("rules_snippet") if isinstance(section, dict) else None
    return (text or "# headeraudit: no Content-Security-Policy was learned (headeraudit_csp_learn)\nversion: 1\nextends: default\n").encode("utf-8", "backslashreplace")


Renderer = Callable[[dict[str, Any]], bytes]

RENDERERS: dict[str, Renderer] = {
    ".json": render_json,
    ".html": render_html,
    ".sarif": render_sarif,
    ".xml": render_junit,
    ".md": render_markdown,
    ".yaml": render_csp_rules,
}


def renderer_for(path: str) -> Renderer:
    """The renderer for a report path, by its extension (case-insensitive)."""
    extension = os.path.splitext(path)[1].lower()
    try:
        return RENDERERS[extension]
    except KeyError:
        supported = ", ".join(RENDERERS)
        raise ValueError(f"unsupported report format {extension or '(no extension)'!r} for {path!r}; supported: {supported}") from None
