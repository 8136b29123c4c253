"""mitmproxy addon: serve made-up host names from a local server, keeping the names.

Used by examples/make_examples.py to record examples/sample.* and by the e2e tests to
replay that traffic live. A request for http(s)://www.example.com/... is sent to
127.0.0.1:<fakehosts_http_port or fakehosts_https_port> with its Host header unchanged, and
the flow gets its original host and port back as soon as the response headers arrive, so
every addon later in the chain (headeraudit, `-w`, `hardump`) sees www.example.com.
Nothing ever leaves the machine; names that are not in `fakehosts_names` are refused.

    mitmdump -s examples/fakehosts_addon.py -s addon/headeraudit_addon.py \
        --set fakehosts_http_port=8001 --set fakehosts_https_port=8443 \
        --set connection_strategy=lazy --set ssl_insecure=true

`connection_strategy=lazy` matters for https: mitmproxy must not try to connect to the
made-up name when the client sends CONNECT.
"""

from __future__ import annotations

from collections.abc import Sequence

from mitmproxy import ctx, http

_ORIGINAL = "fakehosts_original"


class FakeHosts:
    def load(self, loader) -> None:
        loader.add_option("fakehosts_http_port", int, 0, "local port that serves the fake hosts over http")
        loader.add_option("fakehosts_https_port", int, 0, "local port that serves the fake hosts over https")
        loader.add_option("fakehosts_names", Sequence[str], [],
                          "host names to redirect (default: any name ending in .example.com/.org/.net)")

    def _is_fake(self, host: str) -> bool:
        names = ctx.options.fakehosts_names
        if names:
            return host in names
        return host.endswith((".example.com", ".example.org", ".example.net"))

    def request(self, flow: http.HTTPFlow) -> None:
        if not flow.live:
            return
        request = flow.request
        if not self._is_fake(request.host):
            flow.response = http.Response.make(
                502, f"fakehosts: refusing to contact {request.host}\n", {"Content-Type": "text/plain"})
            return
        port = ctx.options.fakehosts_https_port if request.scheme == "https" else ctx.options.fakehosts_http_port
        flow.metadata[_ORIGINAL] = (request.host, request.port)
        # Write the target straight into .data: the `host` setter would rewrite the Host header.
        request.data.host = "127.0.0.1"
        request.data.port = port

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        original = flow.metadata.pop(_ORIGINAL, None)
        if original is not None:
            flow.request.data.host, flow.request.data.port = original

    def error(self, flow: http.HTTPFlow) -> None:
        self.responseheaders(flow)


addons = [FakeHosts()]
