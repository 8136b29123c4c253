"""Test helper addon: call a running mitmdump's commands over HTTP.

mitmdump has no command prompt, so the e2e tests load this next to headeraudit and send
`GET http://command.invalid/<command>?arg=...` through the proxy. The request never leaves
mitmdump: it is answered with the command's result (200, text/plain) or its error (500).
Pair it with `--set headeraudit_filter=!~d command.invalid` so these answers aren't audited.
"""

from __future__ import annotations

from mitmproxy import ctx, http

HOST = "command.invalid"


class CommandEndpoint:
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host != HOST:
            return
        name = flow.request.path.split("?", 1)[0].strip("/")
        args = flow.request.query.get_all("arg")
        headers = {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"}
        try:
            result = ctx.master.commands.call_strings(name, args)
        except Exception as exc:  # noqa: BLE001 - the test reads the error text
            flow.response = http.Response.make(500, f"{type(exc).__name__}: {exc}", headers)
        else:
            flow.response = http.Response.make(200, "" if result is None else str(result), headers)


addons = [CommandEndpoint()]
