"""What the addon reads off a mitmproxy flow: host, scheme and the raw header lines."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from mitmproxy import http
from mitmproxy.net.http.url import default_port, parse_authority
from mitmproxy.proxy.mode_specs import ReverseMode

from ..model import RawLine

LOWER_CASE_VERSIONS = (b"HTTP/2.0", b"HTTP/3")  # Response.is_http2, .is_http3
HOST_MAX = 300  # bytes of a Host header looked at; a longer one is no valid host name anyway
_HOSTS: dict[tuple[bytes, bytes, str, int, bytes, bytes], tuple[str, str]] = {}
_HOSTS_MAX = 4096


@dataclass(slots=True)
class FlowView:
    """One response's flow as the addon reads it, once per response (read-only by contract:
    a frozen dataclass costs a microsecond more to build, on every response)."""

    host: str  # as the browser named it: Host/:authority, IDNA-decoded, lower case
    site: str  # what the store and the grade group by: see `site`
    scheme: str  # the scheme the browser saw
    method: str
    path: str
    status: int
    fields: tuple[RawLine, ...]  # the response's header lines, raw
    live: bool
    lower_case_names: bool  # HTTP/2 or HTTP/3: header names must be lower case (RFC 9113 §8.2.1)
    time: float  # when the response came in: now for a live one, the capture's time for a saved one


def view(flow: http.HTTPFlow) -> FlowView:
    request, response = flow.request, flow.response
    assert response is not None
    name, site_name = names(request)
    return FlowView(name, site_name, client_scheme(flow), request.method, request.path, response.status_code,
                    response.headers.fields, flow.live, response.data.http_version in LOWER_CASE_VERSIONS,
                    response.data.timestamp_start or request.data.timestamp_start or time.time())


def site(host: str, port: int | None, scheme: str) -> str:
    """The host name, with the port when it is not the scheme's default. A site is graded as one
    host, as the Observatory grades a host (its http:// and https:// answers together), but
    two servers on one name (127.0.0.1:8080 and 127.0.0.1:8443) are two sites. `scheme` is the
    request's, whose default port the authority omits: in reverse mode both are the upstream's,
    the server being audited."""
    if port is None or port == default_port(scheme):
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def site_of(flow: http.HTTPFlow) -> str:
    return names(flow.request)[1]


def names(request: http.Request) -> tuple[str, str]:
    """(host, site): request.pretty_host in lower case, and `site` of it with the port the
    browser named in Host/:authority (none named: the scheme's default; without either, the
    connection's port). mitmproxy computes pretty_host with IDNA checks on every call (~4.5 µs,
    more than the rest of a repeated response's audit), so both are kept per raw authority they
    were computed from (bounded; a Host header is looked at up to HOST_MAX bytes)."""
    data = request.data
    raw_host = b""
    for name, value in data.headers.fields:  # a browser sends Host first
        if len(name) == 4 and name.lower() == b"host":
            raw_host = value
            break
    if len(raw_host) > HOST_MAX or len(data.authority) > HOST_MAX:
        host = request.pretty_host[:HOST_MAX].lower()  # no valid host name: its port is not looked for
        return host, host
    key = (data.http_version, data.scheme, data.host, data.port, data.authority, raw_host)
    known = _HOSTS.get(key)
    if known is None:
        if len(_HOSTS) >= _HOSTS_MAX:
            _HOSTS.clear()
        authority = request.host_header
        port = parse_authority(authority, check=False)[1] if authority else data.port
        host = request.pretty_host.lower()
        known = _HOSTS[key] = (host, site(host, port, request.scheme))
    return known


def client_scheme(flow: http.HTTPFlow) -> str:
    """The scheme the browser saw. In reverse mode the upstream scheme says nothing about the
    client side (reverse:http://… may be served to the browser over TLS, and vice versa)."""
    # ProxyMode is an ABC, whose isinstance costs more than a look along the class's MRO.
    if ReverseMode in type(getattr(flow.client_conn, "proxy_mode", None)).__mro__:
        return "https" if flow.client_conn.tls_established else "http"
    return flow.request.scheme


def decoded(lines: Sequence[RawLine]) -> list[tuple[str, str]]:
    """Raw lines as text, as mitmproxy decodes them (undecodable bytes kept as surrogates)."""
    return [(name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape")) for name, value in lines]


def request_origin(request: http.Request) -> str | None:
    return request.headers.get("origin")
