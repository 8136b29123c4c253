"""The test's name resolution for mitmdump: every *.test host is the local test site.

Chromium hands a proxied request's host name to the proxy unresolved, so the names are
mapped where the proxy connects (mitmproxy's server_connect hook), not in the browser.
"""


def server_connect(data):
    host, port = data.server.address
    if host.endswith(".test"):
        data.server.address = ("127.0.0.1", port)
