"""What a document's HTML needs from a CSP, read from its text as the browser parses it.

A policy built from requests alone misses what never makes a request: inline `<script>` and
`<style>` elements, event-handler and `style` attributes, `javascript:` URLs, `data:` images.
These are read here with the standard library's HTML tokenizer, which treats `<script>` and
`<style>` contents as raw text as the HTML standard does (§13.2.5.4 script data state: no
character references, the element ends at the first `</script`).

The hash of an inline script is over the text the browser hashes (CSP3 §6.7.3.3, "does element
match source list"): the element's child text, UTF-8 encoded, after the input stream's
preprocessing (HTML §13.2.3.5: CR LF and lone CR become LF) and with NUL replaced by U+FFFD
(script data state). Attribute values are hashed after character references are decoded, as
the DOM holds them.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

MAX_DOCUMENT_CHARS = 4 * 1024 * 1024  # of a document's text, the prefix read
MAX_ITEMS = 500  # of each kind in one document (inline scripts, handlers, URLs...)

# HTML §4.12.1.1: the type values that make a classic script, plus "module", "importmap" and
# "speculationrules" (inline ones are checked against script-src as well); any other type is a
# data block, which never runs.
JAVASCRIPT_TYPES = frozenset({
    "", "application/ecmascript", "application/javascript", "application/x-ecmascript", "application/x-javascript",
    "text/ecmascript", "text/javascript", "text/javascript1.0", "text/javascript1.1", "text/javascript1.2",
    "text/javascript1.3", "text/javascript1.4", "text/javascript1.5", "text/jscript", "text/livescript",
    "text/x-ecmascript", "text/x-javascript", "module", "importmap", "speculationrules",
})
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "data")
# Where a URL in the HTML is fetched, and which fetch directive governs it.
RESOURCE_DIRECTIVES = {
    ("img", "src"): "img-src", ("iframe", "src"): "frame-src", ("frame", "src"): "frame-src",
    ("video", "src"): "media-src", ("audio", "src"): "media-src", ("track", "src"): "media-src",
    ("video", "poster"): "img-src", ("input", "src"): "img-src", ("object", "data"): "object-src",
    ("embed", "src"): "object-src",
}
LINK_DIRECTIVES = {"stylesheet": "style-src", "icon": "img-src", "manifest": "manifest-src"}
_STRIPPED = re.compile(r"[\t\n\r]")


def sha256_source(text: str) -> str:
    """The hash-source CSP3 §2.3.1 matches `text` with: 'sha256-<base64>'."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _preprocess(text: str) -> str:
    """HTML §13.2.3.5: newlines normalised before tokenizing."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class Inline:
    """An inline script, style or attribute: its hash and the first characters, for people."""

    hash: str
    sample: str


@dataclass
class DocumentScan:
    """What one document's HTML needs. URLs are absolute (resolved against <base>)."""

    url: str
    scripts: list[Inline] = field(default_factory=list)  # inline <script> elements that run
    styles: list[Inline] = field(default_factory=list)  # inline <style> elements
    handlers: list[Inline] = field(default_factory=list)  # event-handler attributes (onclick=...)
    style_attributes: list[Inline] = field(default_factory=list)  # style="..."
    javascript_urls: list[str] = field(default_factory=list)
    external_scripts: list[str] = field(default_factory=list)  # <script src>: parser-inserted
    resources: list[tuple[str, str]] = field(default_factory=list)  # (directive, URL)
    form_actions: list[str] = field(default_factory=list)
    base: str | None = None  # <base href>, resolved
    truncated: bool = False  # the document was longer than MAX_DOCUMENT_CHARS


def sample(text: str) -> str:
    """The first 40 characters, as a violation report's sample (CSP3 §5.3)."""
    return text[:40]


def _is_javascript_url(value: str) -> bool:
    # The URL parser strips leading and trailing C0 controls and spaces and drops tabs and
    # newlines anywhere (URL standard, basic URL parser); the scheme is case-insensitive.
    return _STRIPPED.sub("", value.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13"
                                         "\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f \t\n\r")).lower().startswith("javascript:")


class _Scanner(HTMLParser):
    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = DocumentScan(url)
        self._base = url
        self._raw: str | None = None  # the text of the <script> or <style> being read
        self._raw_kind = ""
        self._pending_forms: list[str] = []  # form actions as written, resolved against the final base

    def _resolve(self, value: str) -> str:
        return urljoin(self._base, value.strip())

    def _add(self, items: list, item: object) -> None:
        if len(items) < MAX_ITEMS:
            items.append(item)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        scan = self.scan
        values = {name: value or "" for name, value in reversed(attrs)}  # the first of a repeated attribute wins
        for name, value in values.items():
            if name.startswith("on") and len(name) > 2 and value:
                self._add(scan.handlers, Inline(sha256_source(value), sample(value)))
            elif name == "style" and value:
                self._add(scan.style_attributes, Inline(sha256_source(value), sample(value)))
            elif name in URL_ATTRIBUTES and _is_javascript_url(value):
                self._add(scan.javascript_urls, value.strip()[:200])
        if tag == "base" and "href" in values and scan.base is None:
            scan.base = self._base = self._resolve(values["href"])
        elif tag == "script":
            runs = values.get("type", "").strip().lower() in JAVASCRIPT_TYPES
            if "src" in values:
                if runs and values["src"].strip():
                    self._add(scan.external_scripts, self._resolve(values["src"]))
            elif runs:
                self._raw, self._raw_kind = "", "script"
        elif tag == "style":
            self._raw, self._raw_kind = "", "style"
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            for rel in rels:
                directive = LINK_DIRECTIVES.get(rel)
                if directive and values.get("href", "").strip():
                    self._add(scan.resources, (directive, self._resolve(values["href"])))
        elif tag == "form":
            if values.get("method", "").strip().lower() != "dialog":
                self._add(self._pending_forms, values.get("action", ""))
        elif tag in ("button", "input") and "formaction" in values:
            self._add(self._pending_forms, values["formaction"])
        if tag != "base":
            for attribute in ("src", "data", "poster"):
                directive = RESOURCE_DIRECTIVES.get((tag, attribute))
                value = values.get(attribute, "").strip()
                if directive and value and not _is_javascript_url(value):
                    self._add(scan.resources, (directive, self._resolve(value)))

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._raw += data

    def handle_endtag(self, tag: str) -> None:
        if self._raw is not None and tag == self._raw_kind:
            self._finish()

    def _finish(self) -> None:
        text, kind = self._raw or "", self._raw_kind
        self._raw = None
        if not text:  # HTML "prepare the script element": an empty inline script is never run
            return
        text = text.replace("\x00", "\ufffd")
        self._add(self.scan.scripts if kind == "script" else self.scan.styles, Inline(sha256_source(text), sample(text)))

    def close(self) -> None:
        super().close()
        # A script still open at the end of the input never runs (HTML §13.2.6.4.8, "text"
        # insertion mode: end of file marks it "already started").
        for action in self._pending_forms:
            # An empty or missing action submits to the document's URL (HTML §4.10.21.3).
            target = self.scan.url if not action.strip() else self._resolve(action)
            if not _is_javascript_url(target):
                self._add(self.scan.form_actions, target)


def scan_document(text: str, url: str) -> DocumentScan:
    """Read a document's HTML (its decoded text) for what a CSP must allow."""
    truncated = len(text) > MAX_DOCUMENT_CHARS
    scanner = _Scanner(url)
    scanner.feed(_preprocess(text[:MAX_DOCUMENT_CHARS]))
    scanner.close()
    scanner.scan.truncated = truncated
    return scanner.scan
