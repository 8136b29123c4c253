"""CSP learning on the proxy: a deny-all report-only policy on each learned document, and each
exchange and document body handed to the core's CspLearner (csp_learning/).

The learning policy blocks nothing (report-only) and reports everything a document does to the
proxy's reserved path, marked `?learning` so that its reports teach the learner without
filling the report's `csp_reports` (the site's own policies, and a previewed or enforced
proposal, report to the plain path and are counted as ever). It is added as a line of its own:
a site's own report-only policy keeps working beside it (CSP3 §3.2: each policy is applied).

Bodies are read only for documents of learned hosts, decoded as mitmproxy decodes them
(Content-Encoding, then the charset of Content-Type or of a <meta> in the HTML), and at most
MAX_BODY bytes of them: a compressed body is inflated only that far.
"""

from __future__ import annotations

import gzip
import zlib
from io import BytesIO

from mitmproxy import http
from mitmproxy.net import encoding
from mitmproxy.net.http.headers import infer_content_encoding

from ..csp_learning import CspLearner, Exchange
from ..csp_learning.documents import MAX_DOCUMENT_CHARS
from .settings import CSP_REPORT_PATH

LEARNING_QUERY = "learning"
LEARNING_REPORT_PATH = f"{CSP_REPORT_PATH}?{LEARNING_QUERY}"
LEARNING_GROUP = "headeraudit-learning"
# Everything reported, nothing allowed: a source list of 'report-sample' alone matches nothing
# (CSP3 §6.7.2.5) and asks for the first 40 characters of blocked inline code; 'none' may not
# stand beside it. base-uri, form-action and frame-ancestors do not fall back to default-src.
LEARNING_POLICY = ("default-src 'none'; script-src 'report-sample'; style-src 'report-sample'; base-uri 'none'; "
                   "form-action 'none'; frame-ancestors 'none'")
MAX_BODY = MAX_DOCUMENT_CHARS  # bytes of a document body read (decoded)
_CHUNK = 256  # brotli input fed at a time: its output per call is not bounded otherwise


def exchange(flow: http.HTTPFlow) -> Exchange:
    request, response = flow.request, flow.response
    assert response is not None
    headers = request.headers
    return Exchange(
        url=request.pretty_url, method=request.method, status=response.status_code,
        content_type=response.headers.get("content-type", "").split(";", 1)[0].strip().lower(),
        destination=headers.get("sec-fetch-dest", "").strip().lower(),
        fetch_site=headers.get("sec-fetch-site", "").strip().lower(),
        referer=headers.get("referer", "").strip(),
    )


def is_learning_report(request: http.Request) -> bool:
    return request.path.partition("?")[2] == LEARNING_QUERY


class Learning:
    """Not an addon itself: the addon calls it from its hooks while learning is on."""

    def __init__(self, learner: CspLearner) -> None:
        self.learner = learner

    def inject(self, flow: http.HTTPFlow, lower_case_names: bool) -> None:
        """In responseheaders, on a live document of a learned host: add the learning policy."""
        if not flow.live or flow.request.path.startswith(CSP_REPORT_PATH):
            return
        seen = exchange(flow)
        if not self.learner.wants_body(seen):
            return
        headers = flow.response.headers  # type: ignore[union-attr]
        policy = f"{LEARNING_POLICY}; report-uri {LEARNING_REPORT_PATH}"
        name = "content-security-policy-report-only" if lower_case_names else "Content-Security-Policy-Report-Only"
        if flow.request.scheme == "https":
            # Chromium ignores Reporting-Endpoints on non-secure responses and, when a policy
            # names report-to, report-uri: on http, report-uri alone (as the CSP preview does).
            policy += f"; report-to {LEARNING_GROUP}"
            headers.add("reporting-endpoints" if lower_case_names else "Reporting-Endpoints",
                        f'{LEARNING_GROUP}="{LEARNING_REPORT_PATH}"')
        headers.add(name, policy)

    def observe(self, flow: http.HTTPFlow) -> None:
        """In response: the exchange, and a learned document's body."""
        if flow.response is None or flow.request.path.startswith(CSP_REPORT_PATH):
            return
        seen = exchange(flow)
        body = document_text(flow.response) if self.learner.wants_body(seen) else None
        self.learner.observe(seen, body)


def document_text(response: http.Response, limit: int = MAX_BODY) -> str | None:
    """The first `limit` bytes of the body, decoded as mitmproxy's get_text decodes it; None
    when there is no body (streamed) or its Content-Encoding is unknown."""
    raw = response.raw_content
    if raw is None:
        return None
    content = _inflate(raw, response.headers.get("content-encoding", "").strip().lower(), limit)
    if content is None:
        return None
    charset = infer_content_encoding(response.headers.get("content-type", ""), content)
    try:
        text = encoding.decode(content, charset)
    except ValueError:
        return content.decode("utf-8", "surrogateescape")
    return text if isinstance(text, str) else content.decode("utf-8", "surrogateescape")


def _inflate(raw: bytes, coding: str, limit: int) -> bytes | None:
    """mitmproxy's decoders (net/encoding.py), stopped after `limit` bytes of output."""
    try:
        if coding in ("", "identity", "none"):
            return raw[:limit]
        if coding in ("gzip", "x-gzip"):
            with gzip.GzipFile(fileobj=BytesIO(raw)) as f:
                return f.read(limit)
        if coding == "deflate":
            try:
                return zlib.decompressobj().decompress(raw, limit)
            except zlib.error:
                return zlib.decompressobj(-15).decompress(raw, limit)
        if coding == "zstd":
            import zstandard

            return zstandard.ZstdDecompressor().stream_reader(BytesIO(raw), read_across_frames=True).read(limit)
        if coding == "br":
            import brotli  # type: ignore[import-untyped]

            decompressor, out = brotli.Decompressor(), bytearray()
            for start in range(0, len(raw), _CHUNK):
                out += decompressor.process(raw[start:start + _CHUNK])
                if len(out) >= limit:
                    break
            return bytes(out[:limit])
    except Exception:  # a broken body (each decoder raises its own errors): nothing to read
        return None
    return None
