"""The mitmproxy addon: options, hooks and commands around the pure core.

This is the only module of the package that imports mitmproxy. It turns a flow into a
ResponseView, hands it to the Engine, and records what comes back on the flow, in the
log (once per finding) and in the FindingStore behind the reports.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from mitmproxy import command, ctx, exceptions, flowfilter, hooks, http
from mitmproxy.proxy.mode_specs import ReverseMode

from . import gate
from .csp_reports import parse_csp_reports
from .bounded import BoundedCache, size_of
from .engine import Engine, ResponseView, picker
from .fixes import Fixer, Rewrite, touched_positions
from .model import SEVERITIES, SEVERITY_RANK, Finding, parse_severity
from .report import RENDERERS, renderer_for
from .report.html import PAGE_CSP, render_html
from .report.json_report import build_report, write_atomically
from .report.summary import render_summary
from .rules import Ruleset, RulesError, load_ruleset
from .state import FindingStore, Repeat

logger = logging.getLogger("headeraudit")

MODES = ("audit", "fix")
CSP_PREVIEWS = ("", "report-only")
# A same-origin path the addon answers itself in CSP preview; never forwarded upstream.
CSP_REPORT_PATH = "/.well-known/headeraudit/csp-report"
# The live report, answered by the proxy like mitmproxy's mitm.it; never forwarded upstream.
REPORT_PAGE_HOST = "headeraudit.proxy"
REPORT_PAGE_REFRESH = 5
FIX_COMMENT_PREFIX = "headeraudit fixed: "
WOULD_FIX_COMMENT_PREFIX = "headeraudit would fix: "
MARKERS = {
    "critical": ":fire:",
    "high": ":red_circle:",
    "medium": ":orange_circle:",
    "low": ":yellow_circle:",
    "info": ":large_blue_circle:",
}
LOG_LEVELS = {"critical": logging.WARNING, "high": logging.WARNING, "medium": logging.WARNING, "low": logging.INFO, "info": logging.INFO}
COMMENT_PREFIX = "headeraudit: "
OPTION_NAMES = (
    "headeraudit_rules", "headeraudit_mode", "headeraudit_filter", "headeraudit_report",
    "headeraudit_min_severity", "headeraudit_fix_opt_in", "headeraudit_csp_preview",
    "headeraudit_fail_on", "headeraudit_min_grade", "headeraudit_report_page",
)
WATCH_INTERVAL = 1.0
MAX_INTERNAL_ERRORS_LOGGED = 50


def compile_filter(text: str) -> Any:
    """A mitmproxy filter expression as a predicate; ValueError names the expression."""
    matcher = flowfilter.parse(text)
    return lambda flow: bool(matcher(flow))


_DECODED = BoundedCache(8192, 4 << 20)  # raw -> text


def _decode(raw: bytes) -> str:
    """Header bytes are attacker-controlled and not always UTF-8; decode like mitmproxy does.
    Most values repeat from response to response, so decoding is cached (bounded)."""
    text = _DECODED.get(raw)
    if text is None:
        text = _DECODED.put(raw, raw.decode("utf-8", "surrogateescape"), 2 * len(raw))
    return text


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _encode_pair(pair: tuple[str, str]) -> tuple[bytes, bytes]:
    return _encode(pair[0]), _encode(pair[1])


def _encode_pair_lower(pair: tuple[str, str]) -> tuple[bytes, bytes]:
    return _encode(pair[0].lower()), _encode(pair[1])


@dataclass(slots=True)
class _Rewritten:
    """What follows from one Rewrite, computed once: the metadata parts, the after-fix grade."""

    rewrite: Rewrite
    edit_dicts: list[dict]
    after_dicts: list[dict]
    graded_after: Any
    labels: str


_LOWER_CASE_VERSIONS = (b"HTTP/2.0", b"HTTP/3")  # Response.is_http2, .is_http3


def _encoder(response: http.Response) -> Callable[[tuple[str, str]], tuple[bytes, bytes]]:
    """How new header lines are encoded for this response. HTTP/2 and HTTP/3 forbid upper-case
    field names (RFC 9113 §8.2.1): mitmproxy would forward the new lines as spelled (breaking
    the stream without normalize_outbound_headers, logging each header with it)."""
    return _encode_pair_lower if response.data.http_version in _LOWER_CASE_VERSIONS else _encode_pair


def _fix_metadata(applied: bool, done: _Rewritten, original: tuple) -> dict[str, Any]:
    """flow.metadata["headeraudit_fix"]. The edit and finding dicts are shared with other flows
    of the same rewrite (read-only by contract). The original lines are kept as mitmproxy held
    them (raw bytes, the flow's own tuple): exact, and a flow with non-UTF-8 header bytes can
    still be saved with -w (tnetstring refuses the surrogates a text form would carry)."""
    return {"applied": applied, "edits": done.edit_dicts, "original_headers": original, "findings_after": done.after_dicts}


class _FixRepeat:
    """Fix mode, for the responses that share an engine memo entry on one host: the Rewrite
    (and what follows from it) decided for the first of them, or None when nothing is fixed.
    Their touched lines are the same lines (the memo key holds every line a fix may touch),
    so a repeat only has to find them; and a server sends its lines in the same layout, so
    the last layout's rewrite is kept as one C-level pick over the lines plus the new ones."""

    __slots__ = ("count", "done", "extras", "lines", "memoised", "names", "rebuild", "touched")

    def __init__(self, memoised: tuple, done: _Rewritten | None) -> None:
        self.memoised, self.done = memoised, done  # the memo entry is kept so its id is not reused
        self.names: dict[bytes, bool] = {}  # raw name -> touched
        self.count = -1  # the number of lines of the last layout (-1: none yet)
        self.touched: Callable[[Sequence[Any]], tuple] = picker(())  # that layout's touched lines
        self.rebuild: Callable[[Sequence[Any]], tuple] = picker(())  # (lines + new lines) -> rewritten lines
        self.extras: dict[Callable, tuple] = {}  # encoder -> the new lines, encoded
        self.lines: tuple = ()

    def apply(self, fields: Sequence[tuple[bytes, bytes]], encode: Callable) -> tuple:
        """The raw lines rewritten: one pick over (lines + new lines). A response in another
        layout than the last (not as many lines, or the touched ones elsewhere) has its touched
        lines located by name first, and its layout becomes the last one."""
        fields = tuple(fields)  # the same object when it is one (mitmproxy's own), as it should be
        extra = self.extras.get(encode)
        if extra is None:
            raw = self.done.rewrite.encoded(encode)
            extra = self.extras[encode] = (*(p for p in raw.slots if p is not None), *raw.appended)
        # In the last layout the lines at the old positions are the touched lines (the memo key
        # fixes how many lines have a touched name, and these do): the same positions.
        if len(fields) != self.count or self.touched(fields) != self.lines:
            self._learn(fields, touched_positions(fields, self.done.rewrite.touched, self.names, _decode))
        return self.rebuild(fields + extra)

    def _learn(self, fields: tuple, positions: list[int]) -> None:
        count = len(fields)
        order: list[int] = []
        new = count  # the new lines follow the old ones in (lines + extra)
        slots = dict(zip(positions, self.done.rewrite.slots))
        for i in range(count):
            if i not in slots:
                order.append(i)
            elif slots[i] is not None:
                order.append(new)
                new += 1
        order.extend(range(new, new + len(self.done.rewrite.appended)))
        self.touched = picker(positions)
        self.lines = self.touched(fields)
        self.rebuild = picker(order)
        self.count = count


class _Replay:
    """Everything the hook did to a fresh flow (no comment yet) with this engine memo entry on
    this host, kept so that the next such flow gets it without the hook's steps: the store's
    counts (a state.Repeat), the annotation, and in fix mode the rewrite. A site repeats its
    headers on every response, so this is the path nearly every flow takes."""

    __slots__ = ("assessed", "live", "counts", "annotation", "comment", "marked", "fix")

    def __init__(self, assessed: tuple, live: bool, counts: Repeat, annotation: dict | None, comment: str, marked: Any,
                 fix: _FixRepeat | None) -> None:
        self.assessed = assessed  # kept so that its id (the cache key) is not reused
        self.live = live
        self.counts = counts
        self.annotation = annotation  # flow.metadata["headeraudit"], None without findings
        self.comment, self.marked = comment, marked
        self.fix = fix  # its rewrite, None when nothing was fixed

    def apply(self, flow: http.HTTPFlow) -> None:
        if self.annotation is not None:
            flow.metadata["headeraudit"] = dict(self.annotation)
            flow.comment = self.comment
            flow.marked = self.marked
        fix = self.fix
        if fix is not None:
            headers = flow.response.headers
            original = headers.fields
            if self.live:
                headers.fields = fix.apply(original, _encoder(flow.response))
            flow.metadata["headeraudit_fix"] = _fix_metadata(self.live, fix.done, original)


_DECODED_PAIRS = BoundedCache(8192, 4 << 20)  # (name, value) raw -> text


def _pairs(fields: Sequence[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """Raw header lines (a Headers' fields) as text. Most lines repeat from response to
    response, so whole decoded pairs are cached (bounded): one lookup per line, no new tuple."""
    cache = _DECODED_PAIRS
    try:
        return [cache[field] for field in fields]
    except KeyError:  # a line not seen before (or since the cache was last cleared, or too big to keep)
        pairs = []
        for field in fields:
            pair = cache.get(field)
            if pair is None:
                pair = cache.put(field, (_decode(field[0]), _decode(field[1])), 2 * (len(field[0]) + len(field[1])))
            pairs.append(pair)
        return pairs


_HOSTS = BoundedCache(4096, 1 << 20)  # (version, authority, Host, host) -> host


def flow_host(request: http.Request) -> str:
    """request.pretty_host (Host/:authority, IDNA-decoded, lower-cased), cached by what it is
    computed from, as raw fields (request.host_header decodes the headers every time)."""
    data = request.data
    host_field = None
    for name, value in data.headers.fields:
        if len(name) == 4 and name.lower() == b"host":
            host_field = value
            break
    raw = (data.http_version, data.authority, host_field, data.host)
    host = _HOSTS.get(raw)
    if host is None:
        host = _HOSTS.put(raw, request.pretty_host.lower(), size_of(raw))
    return host


_REVERSE_MODES: dict[type, bool] = {}


def client_scheme(flow: http.HTTPFlow) -> str:
    """The scheme the browser saw. In reverse mode the upstream scheme says nothing about
    the client side (reverse:http://… may be served to the browser over TLS, and vice versa)."""
    client = flow.client_conn
    mode = type(getattr(client, "proxy_mode", None))
    reverse = _REVERSE_MODES.get(mode)
    if reverse is None:  # ProxyMode is an ABC: isinstance costs; a handful of mode classes exist
        reverse = _REVERSE_MODES[mode] = issubclass(mode, ReverseMode)
    if reverse:
        return "https" if client.tls_established else "http"
    return flow.request.scheme


def parse_choice(option: str, value: str, choices: Sequence[str]) -> str:
    """mitmproxy does not enforce `choices` for script options: check them ourselves."""
    choice = value.strip().lower()
    if choice not in choices:
        shown = ", ".join(c or "(empty)" for c in choices)
        raise exceptions.OptionsError(f"{option} must be one of {shown}, not {value!r}")
    return choice


def check_report_path(path: str) -> None:
    """Refuse a report path up front rather than failing when mitmproxy exits."""
    renderer_for(path)  # ValueError names the known extensions
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise ValueError(f"cannot write {path!r}: {directory} is not a writable directory")


def _rewrite_size(rewrite: Rewrite) -> int:
    """What a kept Rewrite costs, roughly: its new lines as text and bytes, its edits and their dicts."""
    return 4 * (size_of(rewrite.slots) + size_of(rewrite.appended)) + 256


def _put_comment_line(flow: http.HTTPFlow, prefixes: tuple[str, ...], line: str) -> None:
    """Replace our own line(s) in the flow comment, keeping whatever the user wrote."""
    if not flow.comment:
        flow.comment = line
        return
    kept = [old for old in flow.comment.splitlines() if not old.startswith(prefixes)]
    flow.comment = "\n".join([*kept, line])


def summarise(findings: Sequence[Finding]) -> str:
    counts = {s: 0 for s in SEVERITIES}
    for f in findings:
        counts[f.severity] += 1
    parts = [f"{counts[s]} {s}" for s in reversed(SEVERITIES) if counts[s]]
    rules = list(dict.fromkeys(f.rule for f in findings))
    return f"{COMMENT_PREFIX}{', '.join(parts)} — {', '.join(rules)}"


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


ANSWERED = "headeraudit_answered"  # flow.metadata key: answered by the proxy, not audited


class ProxyEndpoints:
    """Requests the proxy answers itself and never forwards upstream: the live report page
    (http://headeraudit.proxy/, like mitmproxy's mitm.it) and, in CSP preview, the browsers'
    violation reports on a same-origin path.

    Not an addon itself: an `addons` attribute would make mitmproxy walk into it on every
    event of every flow; HeaderAudit.request hands requests over while one of them is on.
    """

    def __init__(self, audit: HeaderAudit, report_page: bool, csp_reports: bool) -> None:
        self.audit, self.report_page, self.csp_reports = audit, report_page, csp_reports

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or not flow.live:
            return
        request = flow.request
        if self.report_page and request.host.lower() == REPORT_PAGE_HOST:
            flow.metadata[ANSWERED] = True
            try:
                flow.response = self.audit.report_page_response(request.method, request.path)
            except Exception as exc:
                flow.response = http.Response.make(500, b"headeraudit: the report could not be built\n", {"Content-Type": "text/plain"})
                self.audit._internal_error(flow, exc)
        elif self.csp_reports and request.method == "POST" and request.path.split("?", 1)[0] == CSP_REPORT_PATH:
            flow.metadata[ANSWERED] = True
            flow.response = http.Response.make(204, b"", {"Cache-Control": "no-store"})
            try:
                self._record_csp_reports(flow)
            except Exception as exc:
                self.audit._internal_error(flow, exc)

    def _record_csp_reports(self, flow: http.HTTPFlow) -> None:
        host = flow_host(flow.request)
        for report in parse_csp_reports(flow.request.raw_content or b"", host):
            if self.audit.store.record_csp_report(report):
                sample = f" (sample: {report.sample})" if report.sample else ""
                logger.warning(
                    f"headeraudit CSP report {host}: {report.directive} blocked {report.blocked_uri or '(none)'} "
                    f"on {report.document_uri} [{report.disposition}]{sample}"
                )


# The report page shows attacker-controlled header values (escaped by the renderer); its own
# policy forbids every script and remote load, as a second line of defence.
REPORT_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": f"{PAGE_CSP}; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".json": "application/json", ".sarif": "application/sarif+json",
    ".xml": "application/xml", ".md": "text/markdown; charset=utf-8",
}


class HeaderAudit:
    def __init__(self) -> None:

        self.ruleset: Ruleset | None = None
        self.engine: Engine | None = None
        self.fixer: Fixer | None = None
        self.store = FindingStore()
        self.mode = "audit"
        self.fix_opt_in = False
        self.csp_preview = ""
        self.min_rank = 0
        self.flow_filter: Any = None
        self.report_paths: tuple[str, ...] = ()
        self.fail_on: str | None = None
        self.min_grade: str | None = None
        self.report_page = True
        self._watch_task: asyncio.Task | None = None
        self._mtimes: dict[str, float | None] = {}
        self._last_reload_error: str | None = None
        self._internal_errors: set[str] = set()
        self._store_full_logged = False
        # by id() of the engine's findings tuple, with the tuple kept to rule out id reuse
        self._annotations: dict[int, tuple[tuple[Finding, ...], list[dict[str, str]], str, str]] = {}
        self._rewrites = BoundedCache(1024, 16 << 20)  # id of a Rewrite -> _Rewritten
        self._ranked: dict[int, tuple[tuple[Finding, ...], tuple[Finding, ...]]] = {}
        # (id of the engine's memo entry, host) -> what fix mode does for a response with it
        self._fix_repeats = BoundedCache(1024, 16 << 20)  # (id of a memo entry, host) -> _FixRepeat
        self._replays = BoundedCache(4096, 8 << 20)  # (id of a memo entry, host) -> _Replay
        self._endpoints: ProxyEndpoints | None = None
        self._write_errors: dict[str, str] = {}  # path -> why the last write failed
        self._fresh_comment: Any = None  # the flow whose comment _annotate just created

    # ------------------------------------------------------------------ options

    def load(self, loader) -> None:
        loader.add_option(
            "headeraudit_rules", str, "",
            "Path of the rules file (YAML). Empty: the bundled default rules.yaml. "
            "The file is watched and reloaded when it changes; a broken edit keeps the previous rules.",
        )
        loader.add_option(
            "headeraudit_mode", str, "audit",
            "audit: report violations. fix: also rewrite live responses with the rules' fixes "
            "(saved flows are not changed; their after-fix findings are reported).",
        )
        loader.add_option(
            "headeraudit_fix_opt_in", bool, False,
            "In fix mode, also apply fixes marked opt_in (COOP/COEP/CORP: they commonly break sites).",
        )
        loader.add_option(
            "headeraudit_csp_preview", str, "",
            "In fix mode, 'report-only' sends the proposed CSP as Content-Security-Policy-Report-Only and "
            f"collects the browser's violation reports at {CSP_REPORT_PATH} (answered by the proxy).",
        )
        loader.add_option(
            "headeraudit_filter", str, "",
            "mitmproxy filter expression selecting the flows to audit (syntax of view_filter). Empty: all flows.",
        )
        loader.add_option(
            "headeraudit_report", Sequence[str], [],
            "Path(s) of report files, written when mitmproxy exits and on headeraudit.report. "
            "Format by extension: .json, .html, .sarif, .xml (JUnit), .md",
        )
        loader.add_option(
            "headeraudit_fail_on", str, "",
            "CI gate: fail the run when a finding is at or above this severity (info, low, medium, high, critical). "
            "The `headeraudit` command exits 3 then; plain mitmdump only prints the verdict.",
        )
        loader.add_option(
            "headeraudit_min_grade", str, "",
            "CI gate: fail the run when a host's grade is below this (A+, A, A-, B+, … F).",
        )
        loader.add_option(
            "headeraudit_report_page", bool, True,
            f"Answer http://{REPORT_PAGE_HOST}/ with the live HTML report (like mitm.it); never forwarded upstream.",
        )
        loader.add_option(
            "headeraudit_min_severity", str, "info",
            "Ignore findings below this severity: info, low, medium, high, critical.",
        )

    def configure(self, updated: set[str]) -> None:
        opts = ctx.options
        if "headeraudit_mode" in updated:
            self.mode = parse_choice("headeraudit_mode", opts.headeraudit_mode, MODES)
        if "headeraudit_min_severity" in updated:
            try:
                self.min_rank = SEVERITY_RANK[parse_severity(opts.headeraudit_min_severity)]
            except ValueError as exc:
                raise exceptions.OptionsError(f"headeraudit_min_severity: {exc}") from exc
            self._ranked.clear()
            self._fix_repeats.clear()
            self._replays.clear()
        if "headeraudit_filter" in updated:
            text = opts.headeraudit_filter.strip()
            try:
                self.flow_filter = flowfilter.parse(text) if text else None
            except ValueError as exc:
                raise exceptions.OptionsError(f"headeraudit_filter: {exc}") from exc
        if "headeraudit_report" in updated:
            paths = tuple(p for p in opts.headeraudit_report if p)
            for path in paths:
                try:
                    check_report_path(path)
                except ValueError as exc:
                    raise exceptions.OptionsError(f"headeraudit_report: {exc}") from exc
            self.report_paths = paths
        if "headeraudit_fail_on" in updated:
            try:
                self.fail_on = parse_severity(opts.headeraudit_fail_on) if opts.headeraudit_fail_on.strip() else None
            except ValueError as exc:
                raise exceptions.OptionsError(f"headeraudit_fail_on: {exc}") from exc
        if "headeraudit_min_grade" in updated:
            try:
                self.min_grade = gate.parse_grade(opts.headeraudit_min_grade) if opts.headeraudit_min_grade.strip() else None
            except ValueError as exc:
                raise exceptions.OptionsError(f"headeraudit_min_grade: {exc}") from exc
        if "headeraudit_report_page" in updated:
            if not isinstance(opts.headeraudit_report_page, bool):
                raise exceptions.OptionsError("headeraudit_report_page must be true or false")
            self.report_page = opts.headeraudit_report_page
        if "headeraudit_csp_preview" in updated:
            self.csp_preview = parse_choice("headeraudit_csp_preview", opts.headeraudit_csp_preview, CSP_PREVIEWS)
        if "headeraudit_fix_opt_in" in updated:
            if not isinstance(opts.headeraudit_fix_opt_in, bool):
                raise exceptions.OptionsError("headeraudit_fix_opt_in must be true or false")
            self.fix_opt_in = opts.headeraudit_fix_opt_in
        if "headeraudit_rules" in updated or self.ruleset is None:
            try:
                self._install(load_ruleset(opts.headeraudit_rules or None, compile_filter))
            except RulesError as exc:
                raise exceptions.OptionsError(f"headeraudit_rules: {exc}") from exc
        elif updated & {"headeraudit_fix_opt_in", "headeraudit_csp_preview", "headeraudit_mode", "headeraudit_report_page"} and self.ruleset is not None:
            self._install(self.ruleset)

    def _install(self, ruleset: Ruleset) -> None:
        # Keep what stateful checks learnt (CORS origins per host) across reloads.
        preview = self.mode == "fix" and bool(self.csp_preview)
        self.fixer = Fixer(ruleset, opt_in=self.fix_opt_in, csp_report_endpoint=CSP_REPORT_PATH if preview else None)
        # In fix mode every line a fix may touch is part of the memo key (see _fix).
        self.engine = Engine(ruleset, memory=self.engine.memory if self.engine else None, grading=True,
                             memo_also=self.fixer.touchable if self.mode == "fix" else ())
        self._endpoints = ProxyEndpoints(self, self.report_page, preview) if preview or self.report_page else None
        self.ruleset = ruleset
        self._annotations.clear()
        self._rewrites.clear()
        self._fix_repeats.clear()
        self._replays.clear()
        self._mtimes = {path: _mtime(path) for path in ruleset.files}
        self._last_reload_error = None

    # ------------------------------------------------------------------ lifecycle

    def running(self) -> None:
        # mitmproxy keeps unknown --set names in `deferred` and says nothing (upstream #2174):
        # a misspelt headeraudit_* option would silently do nothing, so say it.
        for name in sorted(getattr(ctx.options, "deferred", {}) or {}):
            if name.startswith("headeraudit"):
                logger.warning(f"headeraudit: unknown option {name!r} ignored (known: {', '.join(OPTION_NAMES)})")
        if self._watch_task is None:
            self._watch_task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        """mitmproxy reloads scripts, not our data files: poll the rules file(s) ourselves."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            try:
                if any(_mtime(path) != seen for path, seen in self._mtimes.items()):
                    self.reload_rules(trigger="changed")
            except Exception as exc:  # never let the watcher die
                logger.error(f"headeraudit: rules watcher failed: {exc}")

    def reload_rules(self, trigger: str) -> bool:
        path = ctx.options.headeraudit_rules or None
        try:
            ruleset = load_ruleset(path, compile_filter)
        except RulesError as exc:
            self._mtimes = {p: _mtime(p) for p in self._mtimes}  # report each broken state once
            message = str(exc)
            if message != self._last_reload_error:
                logger.error(f"headeraudit: rules not reloaded ({trigger}), previous rules stay active: {message}")
                self._last_reload_error = message
            return False
        self._install(ruleset)
        logger.info(f"headeraudit: rules reloaded ({trigger}): {len(ruleset.rules)} rules from {ruleset.path}")
        return True

    def done(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            self._watch_task = None
        report = self.build_report()
        written = self.write_reports(self.report_paths, report)
        totals = self.store.totals()
        counts = ", ".join(f"{totals[s]} {s}" for s in reversed(SEVERITIES) if totals[s]) or "no findings"
        where = f"; report: {', '.join(written)}" if written else ""
        logger.info(f"headeraudit: {self.store.flows_audited} flows audited, {len(self.store.entries)} distinct findings ({counts}){where}")
        verdict = gate.evaluate(report, self.fail_on, self.min_grade)
        gate.last_verdict = verdict
        if gate.standalone:
            # The `headeraudit` command: the summary is the run's result, on stdout.
            print(render_summary(report, list(verdict.failures) if verdict.checked else None), flush=True)
        elif verdict.checked:
            level = logging.INFO if verdict.passed else logging.WARNING
            for line in render_summary(report, list(verdict.failures)).splitlines():
                logger.log(level, line)
            if not verdict.passed:
                logger.log(level, "headeraudit: mitmdump's exit status does not reflect the gate; run `headeraudit` instead for exit status 3")

    def build_report(self) -> dict[str, Any]:
        return build_report(self.store, self.ruleset, self.mode, time.time())

    def write_reports(self, paths: Sequence[str], report: dict[str, Any] | None = None) -> list[str]:
        written = []
        for path in paths:
            try:
                if report is None:
                    report = self.build_report()
                write_atomically(path, renderer_for(path)(report))
                written.append(path)
            except OSError as exc:
                self._write_errors[path] = str(exc.strerror or exc)
                logger.error(f"headeraudit: could not write report {path}: {exc.strerror or exc}; the previous file is kept")
        return written

    def report_page_response(self, method: str, path: str) -> http.Response:
        """The live report at http://headeraudit.proxy/: / is HTML (refreshing itself),
        /report.json, /report.html, /report.sarif, /report.xml and /report.md the other formats."""
        if method not in ("GET", "HEAD"):
            return http.Response.make(405, b"GET only\n", {"Allow": "GET, HEAD", "Content-Type": "text/plain"})
        path = path.split("?", 1)[0]
        ext = ".html" if path in ("/", "/index.html") else os.path.splitext(path)[1].lower() if path.startswith("/report.") else ""
        if ext not in RENDERERS:
            return http.Response.make(404, b"headeraudit: try / or /report.json\n", {"Content-Type": "text/plain", **REPORT_PAGE_HEADERS})
        report = self.build_report()
        body = render_html(report, refresh_seconds=REPORT_PAGE_REFRESH) if path in ("/", "/index.html") else RENDERERS[ext](report)
        return http.Response.make(200, b"" if method == "HEAD" else body, {"Content-Type": CONTENT_TYPES[ext], **REPORT_PAGE_HEADERS})

    # ------------------------------------------------------------------ hooks

    def request(self, flow: http.HTTPFlow) -> None:
        if self._endpoints is not None:
            self._endpoints.request(flow)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is None or self.engine is None or flow.metadata.get(ANSWERED):
            return
        if self.flow_filter is not None and not self.flow_filter(flow):
            return
        try:
            self._audit(flow)
        except Exception as exc:  # contained per flow: the response passes unchanged
            self._internal_error(flow, exc)

    def _audit(self, flow: http.HTTPFlow) -> None:
        request, response = flow.request, flow.response
        host = flow_host(request)
        scheme = client_scheme(flow)
        engine = self.engine
        # A site repeats its security headers: the engine's memo is keyed on the raw lines, so
        # a repeat is found without decoding them or building a view.
        key = engine.memo_key(response.headers.fields, scheme, response.status_code, request.data.method, host,
                              request.path if engine.memo_location else "", _decode)
        assessed = engine.recall(key)
        view = None
        if assessed is None:
            view = self._view(flow, scheme, host)
            assessed = engine.assess(view, memo_key=key)
        else:
            replay = self._replays.get((id(assessed), host))
            if (replay is not None and replay.assessed is assessed and replay.live is flow.live and not flow.comment
                    and self.store.count_repeat(replay.counts, time.time(), assessed[1])):
                replay.apply(flow)
                return
        fresh = not flow.comment
        findings, graded = assessed
        if self.min_rank:
            findings = self._at_rank(findings)
        new = self.store.record(host, lambda: request.pretty_url, findings, time.time(), graded)
        for finding in new:
            logger.log(
                LOG_LEVELS[finding.severity],
                f"headeraudit [{finding.severity.upper()}] {host} {finding.rule}: {finding.message} — {finding.header}: {finding.evidence}",
            )
        if self.store.dropped and not self._store_full_logged:
            self._store_full_logged = True
            logger.warning(f"headeraudit: finding store is full ({self.store.max_entries} entries); further new findings are counted as dropped")
        fix_mode = self.mode == "fix" and self.fixer is not None
        graded_after, repeat = graded, None
        if findings:
            self._annotate(flow, findings)
            if fix_mode:
                graded_after, repeat = self._fix(flow, findings, scheme, host, view, graded, assessed if key is not None else None)
        if fix_mode and graded_after is not None:
            self.store.record_grade_after(host, graded_after)
        if fresh and key is not None:
            self._prepare_replay(flow, host, assessed, findings, graded_after, fix_mode, repeat)

    def _prepare_replay(self, flow: http.HTTPFlow, host: str, assessed: tuple, findings: tuple[Finding, ...],
                        graded_after, fix_mode: bool, repeat: _FixRepeat | None) -> None:
        """Keep what the hook just did to a fresh flow, for the next one with the same memo
        entry on this host (_Replay), when the store kept what it would count into."""
        done = repeat.done if repeat is not None else None
        if fix_mode and findings and (repeat is None or done is not None and self.store.wants_fix_preview(host)):
            return  # no plan kept for it, or the host still wants its before/after example
        counts = self.store.repeat(host, findings, done.rewrite.edits if done is not None else None, flow.live,
                                   graded_after if fix_mode else None)  # as record_grade_after counted it
        if counts is None:
            return
        annotation = flow.metadata.get("headeraudit") if findings else None
        # What a replay keeps alive (the memo entry's findings, the fix plan and the touched
        # lines it holds) may outlive the caches that counted it: counted again here.
        size = 512 + 2 * (len(host) + len(flow.comment)) + sum(len(f.evidence) + len(f.message) for f in assessed[0])
        if done is not None:
            size += _rewrite_size(done.rewrite) + size_of(flow.metadata["headeraudit_fix"]["original_headers"])
        self._replays.put((id(assessed), host), _Replay(assessed, flow.live, counts, annotation, flow.comment, flow.marked,
                                                        repeat if done is not None else None), size)

    def _at_rank(self, findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
        """The findings at or above headeraudit_min_severity, as the same tuple for the same
        findings (the caches keyed on a findings tuple depend on it)."""
        known = self._ranked.get(id(findings))
        if known is None or known[0] is not findings:
            known = (findings, tuple(f for f in findings if SEVERITY_RANK[f.severity] >= self.min_rank))
            if len(self._ranked) >= 1024:
                self._ranked.clear()
            self._ranked[id(findings)] = known
        return known[1]

    @staticmethod
    def _view(flow: http.HTTPFlow, scheme: str, host: str, headers: Sequence[tuple[str, str]] | None = None) -> ResponseView:
        """The flow's response for the engine; `headers` replaces its lines (the after-fix view)."""
        request, response = flow.request, flow.response
        return ResponseView(
            scheme=scheme, host=host, path=request.path, method=request.method, status=response.status_code,
            headers=_pairs(response.headers.fields) if headers is None else headers,
            request_headers=lambda: _pairs(request.headers.fields), flow=flow,
        )

    def _fix(self, flow: http.HTTPFlow, findings: tuple[Finding, ...], scheme: str, host: str,
             view: ResponseView | None, graded, memoised: tuple | None):
        """Rewrite a live response with the fixes; for saved flows only say what would change.
        `view`: the engine's view of the response if one was built; `memoised`: the engine's memo
        entry, if the response has one. Returns the grade outcomes of the response as fixed, and
        the plan kept for responses with the same memo entry on this host (None without one)."""
        response = flow.response
        repeat = None
        if memoised is not None:
            repeat = self._fix_repeats.get((id(memoised), host))
            if repeat is not None and repeat.memoised is not memoised:
                repeat = None
        if repeat is not None:
            done = repeat.done
            if done is None:
                return graded, repeat
            headers = None  # decoded only if the host still needs its before/after example
        else:
            headers = view.headers if view is not None else _pairs(response.headers.fields)
            located = self.fixer.locate(findings, headers, scheme, host)
            done = None
            if located is not None and located[0].edits:
                rewrite, positions = located
                done = self._rewritten(flow, scheme, host, headers, rewrite)
            if memoised is not None:
                # Every line a fix may touch is in the memo key (Engine memo_also): a response
                # with this memo entry has the same touched lines, so the same Rewrite applies.
                # It comes to hold this layout's touched lines (raw, of any size): counted too.
                size = len(host) if done is None else (
                    len(host) + _rewrite_size(done.rewrite) + sum(size_of(response.headers.fields[i]) for i in positions))
                repeat = self._fix_repeats.put((id(memoised), host), _FixRepeat(memoised, done), size)
            if done is None:
                return graded, repeat
        rewrite = done.rewrite
        applied = flow.live
        original = response.headers.fields
        if applied:
            # Untouched lines keep their raw bytes; only new lines are encoded. Assigning the
            # fields directly skips http.Headers' re-validation of every field.
            encode = _encoder(response)
            if repeat is not None:
                response.headers.fields = repeat.apply(response.headers.fields, encode)
            else:
                response.headers.fields = tuple(rewrite.encoded(encode).splice(response.headers.fields, positions))
        self.store.record_fixes(host, rewrite.edits, applied)
        if self.store.wants_fix_preview(host):
            if headers is None:
                headers = _pairs(original)
            self.store.record_fix_preview(host, lambda: flow.request.pretty_url, applied, headers,
                                          lambda: rewrite.apply(headers))
        flow.metadata["headeraudit_fix"] = _fix_metadata(applied, done, original)
        line = (FIX_COMMENT_PREFIX if applied else WOULD_FIX_COMMENT_PREFIX) + done.labels
        if self._fresh_comment is flow:  # the comment is only our annotation (the usual case)
            flow.comment = f"{flow.comment}\n{line}"
        else:
            _put_comment_line(flow, (FIX_COMMENT_PREFIX, WOULD_FIX_COMMENT_PREFIX), line)
        return done.graded_after, repeat

    def _rewritten(self, flow: http.HTTPFlow, scheme: str, host: str, headers: Sequence[tuple[str, str]],
                   rewrite: Rewrite) -> _Rewritten:
        """What follows from a Rewrite (the after-fix audit, the metadata parts), once per Rewrite:
        the Fixer hands out the same one for the same findings tuple and touched lines."""
        done = self._rewrites.get(id(rewrite))
        if done is None or done.rewrite is not rewrite:
            after, graded_after = self.engine.assess(self._view(flow, scheme, host, rewrite.apply(headers)))
            done = _Rewritten(
                rewrite, [edit.as_dict() for edit in rewrite.edits], [f.as_dict() for f in after], graded_after,
                ", ".join(edit.label for edit in rewrite.edits),
            )
            self._rewrites.put(id(rewrite), done, _rewrite_size(rewrite))
        return done

    def _annotate(self, flow: http.HTTPFlow, findings: tuple[Finding, ...]) -> None:
        # The engine hands out the same Finding objects for the same headers, so the
        # annotation of a findings tuple is computed once and shared (bounded).
        cached = self._annotations.get(id(findings))
        if cached is None or cached[0] is not findings:
            worst = max(findings, key=lambda f: SEVERITY_RANK[f.severity]).severity
            cached = (findings, [f.as_dict() for f in findings], worst, summarise(findings))
            if len(self._annotations) >= 1024:
                self._annotations.clear()
            self._annotations[id(findings)] = cached
        _, as_dicts, worst, summary = cached
        # Shared with other flows of the same findings (read-only by contract; the cache is bounded).
        flow.metadata["headeraudit"] = {"findings": as_dicts, "max_severity": worst}
        if not flow.comment:
            flow.comment = summary
            self._fresh_comment = flow
        else:
            _put_comment_line(flow, (COMMENT_PREFIX,), summary)
            self._fresh_comment = None
        flow.marked = MARKERS[worst]

    def _internal_error(self, flow: http.HTTPFlow, exc: Exception) -> None:
        key = f"{type(exc).__name__}: {exc}"[:200]
        if key in self._internal_errors or len(self._internal_errors) >= MAX_INTERNAL_ERRORS_LOGGED:
            return
        self._internal_errors.add(key)
        url = flow.request.pretty_url if flow.request else "?"
        logger.warning(f"headeraudit: internal error while auditing {url[:200]}: {key} (the response was passed on unchanged)", exc_info=True)

    # ------------------------------------------------------------------ commands

    @command.command("headeraudit.reload")
    def reload_command(self) -> None:
        """Reload the rules file now; on error the previous rules stay active."""
        if not self.reload_rules(trigger="command"):
            raise exceptions.CommandError(f"rules not reloaded: {self._last_reload_error}")

    @command.command("headeraudit.report")
    def report_command(self, path: str = "") -> str:
        """Write the report(s) now: to `path`, or to the paths of headeraudit_report."""
        if path:
            try:
                check_report_path(path)
            except ValueError as exc:
                raise exceptions.CommandError(str(exc)) from exc
        paths = (path,) if path else self.report_paths
        if not paths:
            raise exceptions.CommandError("no report path: give one, or set headeraudit_report")
        written = self.write_reports(paths)
        failed = [path for path in paths if path not in written]
        if failed:
            # The command bar shows only this message: name the path(s) and why.
            reasons = "; ".join(f"{path}: {self._write_errors.get(path, 'unknown error')}" for path in failed)
            done = f" (written: {', '.join(written)})" if written else ""
            raise exceptions.CommandError(f"report could not be written, the previous file is kept — {reasons}{done}")
        return "report written: " + ", ".join(written)

    @command.command("headeraudit.clear")
    def clear_command(self) -> None:
        """Forget all findings collected so far (flows keep their annotations)."""
        self.store.clear()
        self._store_full_logged = False

    @command.command("headeraudit.findings")
    def findings_command(self) -> str:
        """The findings collected so far, one line each, worst first."""
        entries = self.store.sorted_entries()
        if not entries:
            return f"headeraudit: no findings in {self.store.flows_audited} audited flows"
        lines = [
            f"[{e.finding.severity.upper()}] {e.host} {e.finding.rule} ×{e.count}: {e.finding.header}: {e.finding.evidence}"
            for e in entries
        ]
        return "\n".join(lines)


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None
