"""The mitmproxy adapter: the only part of headeraudit that imports mitmproxy.

addon.py holds the addon (options, lifecycle, hooks, commands); settings.py parses the
options; flows.py reads a flow; memo.py keeps outcomes; annotate.py puts one on a flow;
endpoints.py answers the report page and the CSP report sink.
"""

from __future__ import annotations

from typing import Any

from mitmproxy import hooks

from .addon import HeaderAudit

__all__ = ["HeaderAudit", "settle_hook_lookups"]

# Events of every flow; mitmproxy.hooks.all_hooks has them all once mitmproxy's proxy layers
# are imported (they are before any script loads), this is the floor if they were not.
_FLOW_EVENTS = ("requestheaders", "request", "responseheaders", "response", "error", "update")


def settle_hook_lookups(namespace: dict[str, Any]) -> None:
    """Name every mitmproxy event in a script module's namespace (as None) unless it is defined.

    mitmproxy looks up each event's name on every addon in its tree, for every event of every
    flow, script modules included. A name missing from a module raises and formats an
    AttributeError each time (modules have no fast path for a missing attribute): measured
    with callgrind at ~100,000 instructions per proxied request, 1.2% of bare mitmdump and
    more than the audit itself. As None the lookup is a dict hit and mitmproxy skips it.
    """
    for name in (*hooks.all_hooks, *_FLOW_EVENTS):
        if name != "add_log":  # mitmproxy warns about a script defining add_log (deprecated)
            namespace.setdefault(name, None)
