"""Per learned host, what its documents were seen to need, and why: the learning half.

Three witnesses, each for what the others cannot see:
- the exchanges the proxy carries: a subresource request names its destination
  (`Sec-Fetch-Dest`, Fetch §3.2; without it, the response's content type) and its document
  (`Referer`: the document's URL, or its origin across origins under the default
  strict-origin-when-cross-origin). A request made by a style sheet names the sheet, which is
  traced back to the document that loaded it;
- the documents' HTML (documents.py): inline code, forms, `<base>`, `data:` images;
- the browser's violation reports of a deny-all report-only policy (or of a previewed or
  enforced proposal): what script did at run time (eval, code it inserted).

Only hosts matching the learning globs are recorded; every collection is bounded, and what
was left out is said in the proposal.
"""

from __future__ import annotations

import fnmatch
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..csp_bypasses import known_host as known_bypass_host
from ..parsers.csp import parse_csp
from ..store import CspReport
from .documents import DocumentScan, scan_document

# Bounds: learning is for the few sites a person tests, so a learner holds at most about
# 32 hosts x (14 directives x 64 sources + 4 kinds x 128 hashes) x ~500 bytes = ~20 MB.
MAX_HOSTS = 32
MAX_SOURCES = 64  # per directive of a host
MAX_HASHES = 128  # per kind of inline code of a host
MAX_NOTES = 32  # distinct notes per host
MAX_EXAMPLES = 2  # per source, hash or note: the first ones seen
MAX_EXAMPLE_CHARS = 200
MAX_STYLESHEETS = 2048  # style sheet URL -> its document, to attribute what a sheet loads

DOCUMENT_TYPES = ("text/html", "application/xhtml+xml")
# Fetch §2.2.5 destinations -> the CSP3 directive that governs them (§6.8.1, "get the effective
# directive for request").
DESTINATIONS = {
    "script": "script-src", "audioworklet": "script-src", "paintworklet": "script-src", "xslt": "script-src",
    "style": "style-src", "image": "img-src", "font": "font-src", "empty": "connect-src", "websocket": "connect-src",
    "iframe": "frame-src", "frame": "frame-src", "fencedframe": "frame-src",
    "worker": "worker-src", "sharedworker": "worker-src", "serviceworker": "worker-src",
    "audio": "media-src", "video": "media-src", "track": "media-src", "manifest": "manifest-src",
    "object": "object-src", "embed": "object-src",
}
# Reports name the effective directive; learning keeps one directive per resource kind.
REPORTED = {"script-src-elem": "script-src", "style-src-elem": "style-src"}
SCRIPT_DIRECTIVES = ("script-src", "worker-src")
HASH_KINDS = ("script", "style", "script-attr", "style-attr")
SEEDED_HASHES = {"script-src": "script", "style-src": "style", "script-src-attr": "script-attr", "style-src-attr": "style-attr"}
SEEDED_DIRECTIVES = ("script-src", "style-src", "img-src", "font-src", "connect-src", "media-src", "frame-src",
                     "worker-src", "manifest-src", "base-uri", "form-action", "frame-ancestors")
SEED_SKIPPED = ("'none'", "'strict-dynamic'", "'unsafe-hashes'", "'report-sample'")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
WEB_SCHEME = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


Origin = tuple[str, str, int]  # scheme, host, port


def origin_of(url: str) -> Origin | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def origin_text(origin: Origin) -> str:
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" if port == DEFAULT_PORTS[scheme] else f"{scheme}://{host}:{port}"


def source_expression(url: str, document: Origin) -> str | None:
    """The source expression allowing `url` for a document of origin `document`: 'self' for
    its own origin, the origin (CSP3 host-source, scheme, host and port) for another, the
    scheme for data: and blob:. On an https document an http URL is listed as https: the
    proposal carries upgrade-insecure-requests, which upgrades it before CSP checks it."""
    stripped = url.strip().lower()
    if stripped.startswith(("data:", "blob:")) or stripped in ("data", "blob"):
        return stripped.split(":", 1)[0] + ":"
    target = origin_of(url)
    if target is None:
        return None
    scheme, host, port = target
    if document[0] in ("https", "wss") and scheme in ("http", "ws"):
        scheme = "https" if scheme == "http" else "wss"
        port = DEFAULT_PORTS[scheme] if port == DEFAULT_PORTS["http"] else port
    if (host, port) == document[1:] and WEB_SCHEME[scheme] == WEB_SCHEME[document[0]]:
        return "'self'"  # CSP3 §6.7.2.8: 'self' also matches ws/wss of the document's own host and port
    return origin_text((scheme, host, port))


@dataclass
class Why:
    """How often something was seen, and the first few times it was (for people)."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES and example not in self.examples:
            self.examples.append(example[:MAX_EXAMPLE_CHARS])


@dataclass
class HostLearning:
    sources: dict[str, dict[str, Why]] = field(default_factory=dict)  # directive -> source expression -> why
    hashes: dict[str, dict[str, Why]] = field(default_factory=lambda: {kind: {} for kind in HASH_KINDS})
    samples: dict[str, set[str]] = field(default_factory=lambda: {kind: set() for kind in HASH_KINDS})
    parser_scripts: Why = field(default_factory=Why)  # <script src> in the HTML: 'strict-dynamic' blocks them
    notes: dict[str, Why] = field(default_factory=dict)  # what no proposal allows, and why
    documents: int = 0
    bodies: int = 0  # documents whose HTML was read
    requests: int = 0
    reports: int = 0
    schemes: set[str] = field(default_factory=set)  # the documents' schemes
    full: set[str] = field(default_factory=set)  # bounds reached ("script-src", "hash:script", "notes")

    def add_source(self, directive: str, source: str, why: str) -> None:
        known = self.sources.setdefault(directive, {})
        if source not in known and len(known) >= MAX_SOURCES:
            self.full.add(directive)
            return
        known.setdefault(source, Why()).add(why)

    def add_hash(self, kind: str, hash_source: str, sample: str, why: str) -> None:
        known = self.hashes[kind]
        if hash_source not in known and len(known) >= MAX_HASHES:
            self.full.add("hash:" + kind)
            return
        known.setdefault(hash_source, Why()).add(why)
        self.samples[kind].add(sample)

    def note(self, message: str, why: str) -> None:
        if message not in self.notes and len(self.notes) >= MAX_NOTES:
            self.full.add("notes")
            return
        self.notes.setdefault(message, Why()).add(why)


@dataclass(frozen=True)
class Exchange:
    """A request and its response as the learner reads them, free of any proxy type."""

    url: str  # absolute, as requested
    method: str
    status: int
    content_type: str  # the response's media type, lower case, without parameters
    destination: str = ""  # Sec-Fetch-Dest, lower case ("" when not sent)
    fetch_site: str = ""  # Sec-Fetch-Site
    referer: str = ""

    @property
    def host(self) -> str:
        origin = origin_of(self.url)
        return origin[1] if origin else ""

    def is_document(self) -> bool:
        """A response a browser renders as a page (its CSP applies): HTML, in a window or a frame,
        of a status that has a body to render (not 1xx, 204, 3xx, 304)."""
        return (self.content_type in DOCUMENT_TYPES and self.destination in ("", "document", "iframe", "frame", "fencedframe")
                and self.status >= 200 and self.status != 204 and not 300 <= self.status < 400)


def _content_directive(content_type: str) -> str | None:
    """Without Sec-Fetch-Dest (an older browser, another client): the directive the response's
    type suggests. HTML and unknown types say nothing."""
    if "javascript" in content_type or "ecmascript" in content_type:
        return "script-src"
    if content_type == "text/css":
        return "style-src"
    for prefix, directive in (("image/", "img-src"), ("font/", "font-src"), ("audio/", "media-src"), ("video/", "media-src")):
        if content_type.startswith(prefix):
            return directive
    if "json" in content_type or content_type in ("text/event-stream", "text/plain", "application/xml"):
        return "connect-src"
    return None


class CspLearner:
    def __init__(self) -> None:
        self.globs: tuple[str, ...] = ()  # lower-case host globs; empty: learning is off
        self.hosts: dict[str, HostLearning] = {}
        self._stylesheets: OrderedDict[str, tuple[str, Origin]] = OrderedDict()  # sheet URL -> document host, origin
        self.hosts_dropped = 0  # learned hosts past MAX_HOSTS
        self._seeded: set[tuple[str, str]] = set()  # (host, policy) seeded already

    def learns(self, host: str) -> bool:
        host = host.lower()
        return any(fnmatch.fnmatchcase(host, glob) for glob in self.globs)

    def reset(self, host: str | None = None) -> int:
        """Forget what was learned (of one host): the number of hosts forgotten."""
        if host is None:
            count = len(self.hosts)
            self.hosts.clear()
            self._stylesheets.clear()
            self._seeded.clear()
            self.hosts_dropped = 0
            return count
        self._seeded = {seeded for seeded in self._seeded if seeded[0] != host.lower()}
        return 1 if self.hosts.pop(host.lower(), None) is not None else 0

    def _host(self, host: str) -> HostLearning | None:
        known = self.hosts.get(host)
        if known is None:
            if len(self.hosts) >= MAX_HOSTS:
                self.hosts_dropped += 1
                return None
            known = self.hosts[host] = HostLearning()
        return known

    def wants_body(self, exchange: Exchange) -> bool:
        """Whether `observe` reads this exchange's body: documents of learned hosts only."""
        return bool(self.globs) and exchange.is_document() and self.learns(exchange.host)

    # ------------------------------------------------------------------ exchanges

    def observe(self, exchange: Exchange, body: str | None = None) -> None:
        """One exchange; `body`: the document's decoded text, when `wants_body` said so."""
        if not self.globs:
            return
        if exchange.is_document() and self.learns(exchange.host):
            self._document(exchange, body)
        self._subresource(exchange)

    def _document(self, exchange: Exchange, body: str | None) -> None:
        origin = origin_of(exchange.url)
        learning = self._host(exchange.host)
        if origin is None or learning is None:
            return
        learning.documents += 1
        learning.schemes.add(origin[0])
        if exchange.destination in ("iframe", "frame", "fencedframe"):
            framer = origin_of(exchange.referer) if exchange.referer else None
            if framer is not None:
                # The ancestor's own origin: upgrade-insecure-requests upgrades requests, not framers.
                learning.add_source("frame-ancestors", "'self'" if framer == origin else origin_text(framer),
                                    f"framed by {origin_text(framer)}: {exchange.url}")
            elif exchange.fetch_site == "same-origin":
                learning.add_source("frame-ancestors", "'self'", f"framed by its own origin: {exchange.url}")
            else:
                learning.note("framed by a page that did not say its origin (no Referer): frame-ancestors cannot name it",
                              exchange.url)
        if body is not None:
            learning.bodies += 1
            self.document_html(learning, scan_document(body, exchange.url), origin)

    def document_html(self, learning: HostLearning, scan: DocumentScan, origin: Origin) -> None:
        where = f"in {scan.url}"
        for kind, items in (("script", scan.scripts), ("style", scan.styles), ("script-attr", scan.handlers),
                            ("style-attr", scan.style_attributes)):
            for item in items:
                learning.add_hash(kind, item.hash, item.sample, f"{item.sample!r} {where}")
        for url in scan.javascript_urls:
            learning.note("a javascript: URL runs script on navigation: no hash allows it in every browser; "
                          "rewrite it as an event listener", f"{url} {where}")
        for url in scan.external_scripts:
            learning.parser_scripts.add(f"{url} {where}")
        resources = [("script-src", url) for url in scan.external_scripts] + scan.resources
        resources += [("form-action", url) for url in scan.form_actions]
        if scan.base is not None:
            resources.append(("base-uri", scan.base))
        for directive, url in resources:
            _allow(learning, directive, url, origin, f"{url} {where}")
            framed = origin_of(url) if directive == "frame-src" else None
            if framed is not None and self.learns(framed[1]):
                # The framed host's frame-ancestors: also where no Sec-Fetch-Dest says "iframe"
                # (browsers send Sec-Fetch-* to https only).
                child = self._host(framed[1])
                if child is not None:
                    child.add_source("frame-ancestors", "'self'" if framed == origin else origin_text(origin),
                                     f"framed by {scan.url}: <iframe src={url}>")
        if scan.truncated:
            learning.note("a document was longer than what is read of it: inline code past that is not hashed", scan.url)

    def _subresource(self, exchange: Exchange) -> None:
        if exchange.destination == "report" or exchange.fetch_site == "none":
            return  # a report is sent whatever the policy; "none": typed by the user, no document asked
        document = self._document_of(exchange.referer)
        if document is None:
            return
        host, origin = document
        navigation = exchange.destination == "document" or (not exchange.destination and exchange.content_type in DOCUMENT_TYPES)
        if navigation:  # only a form submits with POST (a GET one looks like any link, which CSP does not govern)
            directive: str | None = "form-action" if exchange.method == "POST" else None
        elif exchange.destination:
            directive = DESTINATIONS.get(exchange.destination)
        else:
            directive = _content_directive(exchange.content_type)
        learning = self._host(host) if directive is not None else None
        if learning is None or directive is None:
            return
        learning.requests += 1
        what = exchange.method if navigation else exchange.destination or exchange.content_type
        _allow(learning, directive, exchange.url, origin, f"{what} {exchange.url}")
        if directive == "style-src":
            sheet = exchange.url.split("#", 1)[0]
            self._stylesheets[sheet] = (host, origin)
            self._stylesheets.move_to_end(sheet)
            while len(self._stylesheets) > MAX_STYLESHEETS:
                self._stylesheets.popitem(last=False)

    def _document_of(self, referer: str) -> tuple[str, Origin] | None:
        """The learned host and the document origin a request came from, by its Referer: a
        document of a learned host, or a style sheet one loaded."""
        if not referer:
            return None
        origin = origin_of(referer)
        if origin is None:
            return None
        if self.learns(origin[1]):
            return origin[1], origin
        return self._stylesheets.get(referer.split("#", 1)[0])

    # ------------------------------------------------------------------ a proposal of earlier
    def seed(self, host: str, policy: str, where: str) -> None:
        """Start a learned host from a policy learned before (a proposal a rules file enforces or
        previews): a later run then refines it rather than starting over. Its sources and hashes
        are taken as seen; what the policy denies ('none') or how it reports is not."""
        host = host.lower()
        if not self.learns(host) or (host, policy) in self._seeded:
            return
        learning = self._host(host)
        if learning is None:
            return
        self._seeded.add((host, policy))
        why = f"in the proposal of {where}"
        for parsed in parse_csp([policy]):
            for name, tokens in parsed.directives.items():
                kind = SEEDED_HASHES.get(name)
                for token in tokens:
                    lower = token.lower()
                    if lower in SEED_SKIPPED or name in ("default-src", "object-src", "report-uri", "report-to"):
                        continue
                    if kind is not None and lower.startswith(("'sha256-", "'sha384-", "'sha512-")):
                        learning.add_hash(kind, token, "", why)
                    elif name in SEEDED_DIRECTIVES:
                        learning.add_source(name, token, why)
            if "upgrade-insecure-requests" in parsed.directives:
                learning.schemes.add("https")

    # ------------------------------------------------------------------ reports

    def report(self, report: CspReport) -> None:
        """A violation report of a learned host's document: what the run time needed."""
        if not self.globs:
            return
        document = origin_of(report.document_uri)
        if document is None or not self.learns(document[1]):
            return
        learning = self._host(document[1])
        if learning is None:
            return
        learning.reports += 1
        directive = report.directive.strip().lower()
        directive = REPORTED.get(directive, directive)
        blocked = report.blocked_uri.strip()
        where = f"reported on {report.document_uri}"
        if blocked == "inline":
            kind = {"script-src": "script", "script-src-attr": "script-attr", "style-src": "style",
                    "style-src-attr": "style-attr"}.get(directive)
            known = learning.samples.get(kind or "", set())
            if kind is None or (any(text.startswith(report.sample) for text in known) if report.sample else known):
                return  # inline code the HTML showed (a report without a sample: taken to be one of it)
            what = {"script": "an inline script", "style": "an inline style", "script-attr": "an event handler",
                    "style-attr": "a style attribute"}[kind]
            advice = (" (under the strict form, a script inserted by a trusted script runs: 'strict-dynamic')"
                      if kind == "script" else "")
            learning.note(f"{what} ran that is not in the HTML as received (inserted by script?): it cannot be "
                          f"hashed from a report's sample, so the proposal blocks it{advice}",
                          f"{report.sample!r} {where}")
        elif blocked == "eval":
            learning.note("eval() or new Function() ran: the proposal blocks it ('unsafe-eval' is a csp-unsafe-eval "
                          "finding); rewrite the code without eval", f"{report.sample!r} {where}")
        elif blocked == "wasm-eval":
            learning.add_source("script-src", "'wasm-unsafe-eval'", f"WebAssembly compiled, {where}")
        elif directive not in ("frame-ancestors", "report-uri", "report-to", "upgrade-insecure-requests"):
            _allow(learning, directive, blocked, document, f"{blocked} {where}")


def _allow(learning: HostLearning, directive: str, url: str, document: Origin, why: str) -> None:
    source = source_expression(url, document)
    if source is None:
        return
    target = origin_of(url)
    if directive in SCRIPT_DIRECTIVES and not source.startswith("'") and target and known_bypass_host(target[1]):
        # A host serving JSONP or old AngularJS: allowing the origin would allow those too
        # (csp-allowlist-bypass), so the script's own URL is listed (CSP3 §6.7.2.8: a path not
        # ending in "/" matches exactly).
        path = urlsplit(url.strip()).path or "/"
        source += path
    if directive == "object-src":
        learning.note("a plugin (<object>, <embed>) loads: the proposal keeps object-src 'none'", why)
    elif source in ("data:", "blob:") and directive in SCRIPT_DIRECTIVES:
        learning.note(f"a script from a {source} URL: never allowed (anyone who can write a URL could run script)", why)
    else:
        learning.add_source(directive, source, why)
