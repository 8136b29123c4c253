"""The mitmproxy addon: options, lifecycle, hooks and commands around the pure core.

Per response: the flow's view (flows.py) -> the memo's Outcome (memo.py; on a miss the
core's Auditor builds it) -> the flow annotated and, in fix mode, rewritten (annotate.py) ->
the store counts it, and the findings its host shows for the first time are logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from mitmproxy import command, ctx, exceptions, http, tls

from .. import gate
from ..audit import Auditor
from ..csp_learning import CspLearner, Proposal, judge_policy, propose, proposals_section, reports_to, rules_snippet
from ..csp_learning.proposal import csp_fix_rules
from ..model import SEVERITIES, Finding
from ..report import renderer_for
from ..report.json_report import build_report, write_atomically
from ..report.summary import render_summary
from ..rules import Ruleset, RulesError, load_ruleset
from ..store import FindingStore
from ..text import terminal_safe
from . import annotate, flows
from .endpoints import ANSWERED, CSP_REPORT_MAX_BYTES, Endpoints
from .learning import Learning
from .memo import Memo
from .progress import Progress, for_saved_traffic
from .sink import ReportSink
from .watched import WatchedFiles
from .settings import (CSP_REPORT_PATH, OPTION_NAMES, OPTIONS, REPORT_PAGE_HOST, Settings, check_report_path, compile_filter,
                       host_globs, parse_settings, unparsable_bools)

logger = logging.getLogger("headeraudit")

LOG_LEVELS = {"critical": logging.WARNING, "high": logging.WARNING, "medium": logging.WARNING, "low": logging.INFO, "info": logging.INFO}
WATCH_INTERVAL = 1.0
MAX_INTERNAL_ERRORS_LOGGED = 50

OnDone = Callable[[gate.Verdict, dict[str, Any]], None]


class HeaderAudit:
    def __init__(self, on_done: OnDone | None = None) -> None:
        """`on_done`: given the gate's verdict and the report when mitmproxy exits (the
        `headeraudit` command prints the summary and exits with the verdict's status);
        without it, the summary is logged."""
        self.on_done = on_done
        self.settings: Settings | None = None
        self.flow_filter: Callable[[http.HTTPFlow], Any] | None = None  # settings.flow_filter, read per flow
        self.ruleset: Ruleset | None = None
        self.auditor: Auditor | None = None
        self.memo: Memo | None = None
        self.endpoints: Endpoints | None = None
        self.store = FindingStore()
        self._watch_task: asyncio.Task | None = None
        self._watched = WatchedFiles()
        self._last_reload_error: str | None = None
        self._start_error: str | None = None  # logged, the addon not configured: mitmproxy exits
        self._internal_errors: set[str] = set()
        self._store_full_logged = False
        self._write_errors: dict[str, str] = {}  # path -> why its last write failed
        self._sink: ReportSink | None = None  # opened with the CSP preview, kept across reloads
        self._filtered_out = 0  # responses headeraudit_filter left out, for the warning at the end
        self._progress: Progress | None = None  # reading saved traffic on a terminal
        self._log_each = True  # settings.log == "each", read per new finding
        self.learner = CspLearner()  # kept across reloads and option changes; headeraudit.csp_learn.reset forgets
        self._learning = Learning(self.learner)
        self._learned_globs: tuple[str, ...] = ()  # the last globs learned, for csp_learn.start without any

    # ------------------------------------------------------------------ options

    def load(self, loader: Any) -> None:
        for option in OPTIONS:
            loader.add_option(option.name, option.type, option.default, option.help, option.choices)
        # A bad true/false value would make mitmproxy drop this script silently (see
        # unparsable_bools); an error logged at start-up makes mitmdump exit 1 with the message.
        options = getattr(getattr(loader, "master", None), "options", None)
        for message in unparsable_bools(getattr(options, "deferred", {})):
            logger.error(message)

    def configure(self, updated: set[str]) -> None:
        if self.settings is not None and not set(updated).intersection(OPTION_NAMES):  # a set, or dict keys on a rollback
            return
        try:
            settings = parse_settings({name: getattr(ctx.options, name) for name in OPTION_NAMES})
            ruleset = self.ruleset
            if ruleset is None or "headeraudit_rules" in updated:
                ruleset = load_ruleset(settings.rules, compile_filter)
        except (ValueError, RulesError) as exc:
            message = f"headeraudit_rules: {exc}" if isinstance(exc, RulesError) else str(exc)
            if self.settings is not None:  # a change while running: mitmproxy rolls it back and shows why
                raise exceptions.OptionsError(message) from None
            # At start-up a raised error reaches the user as a traceback (mitmproxy logs a
            # script's load errors with it); one error line stops mitmproxy just the same.
            if message != self._start_error:  # (the `headeraudit` command configures twice)
                self._start_error = message
                logger.debug("headeraudit: the start-up error's traceback", exc_info=True)
                logger.error(terminal_safe(f"headeraudit: cannot start: {message}"))
            return
        self.settings = settings
        self.flow_filter = settings.flow_filter
        self._log_each = settings.log == "each"
        self._install(ruleset)

    def _install(self, ruleset: Ruleset, seen: dict[str, os.stat_result] | None = None) -> None:
        """`seen`: the loader's stat of each file, taken before reading it."""
        settings = self.settings
        assert settings is not None
        new = ruleset is not self.ruleset
        # The memory of stateful checks (CORS origins per host) is kept across reloads.
        self.auditor = Auditor(ruleset, settings.auditing(), self.auditor.memory if self.auditor else None)
        self.memo = Memo(self.auditor)
        self.ruleset = ruleset
        self.learner.globs = settings.csp_learn
        if settings.csp_learn:
            self._learned_globs = settings.csp_learn
            for rule_id, pattern, policy in learned_fixes(ruleset):  # a proposal enforced or previewed: refined
                self.learner.seed(pattern, policy, f"{ruleset.path} ({rule_id})")
        # The reserved path is answered while something sends reports to it: the CSP preview,
        # the learning policy, or a fix of the rules (a learned proposal's reports there).
        csp_reports = settings.csp_report_endpoint is not None or bool(settings.csp_learn) or reports_to(ruleset, CSP_REPORT_PATH)
        self.endpoints = None
        if csp_reports and self._sink is None:
            self._sink = ReportSink(self._sink_report, CSP_REPORT_MAX_BYTES)
            self._start_sink()
        if settings.report_page or csp_reports:
            self.endpoints = Endpoints(settings.report_page, csp_reports, self.build_report, self.store.record_csp_report,
                                       self._internal_error, self._sink if csp_reports else None, self.learner.report)
        # mitmproxy looks each hook up on every event and skips one that is None (a hook that does
        # nothing costs ~14 k instructions a request): `request` is needed only while the proxy
        # answers requests itself, `requestheaders` only to keep CSP reports from being streamed
        # (the report page is GET and HEAD, without a body).
        self._hook("request", self.endpoints is not None)
        self._hook("requestheaders", csp_reports)
        self._hook("http_connect", settings.report_page)  # the report page over https
        self._hook("tls_clienthello", settings.report_page)
        self._hook("response", bool(settings.csp_learn))  # bodies are read only while learning
        if new:  # (options changed around the same ruleset: what is watched, a failed reload's files too, stays)
            self._watched.loaded(ruleset.files, seen or {})
            self._last_reload_error = None

    def _hook(self, name: str, on: bool) -> None:
        if on:
            vars(self).pop(name, None)  # the method
        else:
            setattr(self, name, None)

    def _start_sink(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # configured before mitmproxy's loop runs: `running` opens it
            return
        assert self._sink is not None
        self._sink.start()

    def _sink_report(self, host: str, body: bytes, learning: bool) -> None:
        if self.endpoints is not None and self.endpoints.csp_reports:
            try:
                self.endpoints.count_csp_reports(host, body, learning)
            except Exception as exc:  # contained like any other
                logger.warning(terminal_safe(f"headeraudit: a CSP report from {host[:200]} could not be counted: {exc}"))

    # ------------------------------------------------------------------ hooks

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if self.endpoints is not None:  # keeps the body of a request it answers from being streamed upstream
            self.endpoints.requestheaders(flow)

    def request(self, flow: http.HTTPFlow) -> None:
        if self.endpoints is not None:
            self.endpoints.request(flow)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        if self.endpoints is not None:
            self.endpoints.http_connect(flow)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        if self.endpoints is not None:
            self.endpoints.tls_clienthello(data)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is None or self.memo is None or flow.metadata.get(ANSWERED):
            ReportSink.restore(flow)  # a report answered by the sink: shown as the client sent it
            return
        if self._progress is not None:
            self._progress.tick(len(self.store.entries))
        if self.flow_filter is not None and not self.flow_filter(flow):
            self._filtered_out += 1
        else:
            try:
                self._audit(flow)
            except Exception as exc:  # contained per flow: the response passes unchanged
                self._internal_error(flow, exc)
        if self.learner.globs:  # after the audit: a fix rewrites the header lines it was given
            try:
                self._learning.inject(flow, flow.response.data.http_version in flows.LOWER_CASE_VERSIONS)
            except Exception as exc:
                self._internal_error(flow, exc)

    def response(self, flow: http.HTTPFlow) -> None:
        """While learning: what the exchange shows, and a learned document's body."""
        if flow.response is None or flow.metadata.get(ANSWERED) or not self.learner.globs:
            return
        try:
            self._learning.observe(flow)
        except Exception as exc:  # contained like the audit
            self._internal_error(flow, exc)

    def _audit(self, flow: http.HTTPFlow) -> None:
        assert self.memo is not None
        view = flows.view(flow)
        outcome = self.memo.outcome(view, flow)
        annotate.apply(flow, view, outcome)
        store = self.store
        new = store.record(view.site, lambda: flow.request.pretty_url, outcome, view.time, view.live)
        if new:
            self._log_new(view.site, new, self._log_each)
        if store.dropped and not self._store_full_logged:
            self._store_full_logged = True
            logger.warning(f"headeraudit: finding store is full ({store.max_entries} entries); further new findings are counted as dropped")
        fix = outcome.fix
        if fix is not None and store.wants_fix_preview(view.site):
            store.record_fix_preview(view.site, flow.request.pretty_url, view.live, flows.decoded(view.fields),
                                     flows.decoded(fix.rewrite.apply(view.fields)))

    @staticmethod
    def _log_new(host: str, findings: list[Finding], each: bool = True) -> None:
        """One line per finding a host shows for the first time, in one log record per level:
        mitmproxy hands each record to every addon (~0.1 ms), and saved traffic of many hosts
        makes thousands of them. Not `each` (headeraudit_log=summary): at debug level."""
        by_level: dict[int, list[str]] = {}
        for finding in findings:
            by_level.setdefault(LOG_LEVELS[finding.severity] if each else logging.DEBUG, []).append(terminal_safe(
                f"headeraudit [{finding.severity.upper()}] {host} {finding.rule}: {finding.message} — "
                f"{finding.header}: {finding.evidence}"))
        for level, lines in by_level.items():
            logger.log(level, "\n".join(lines))

    def _internal_error(self, flow: http.HTTPFlow, exc: Exception) -> None:
        key = f"{type(exc).__name__}: {exc}"[:200]
        if key in self._internal_errors or len(self._internal_errors) >= MAX_INTERNAL_ERRORS_LOGGED:
            return
        self._internal_errors.add(key)
        url = flow.request.pretty_url if flow.request else "?"
        logger.warning(terminal_safe(f"headeraudit: internal error while auditing {url[:200]}: {key} (the response was passed on unchanged)"),
                       exc_info=True)

    # ------------------------------------------------------------------ lifecycle

    def running(self) -> None:
        # mitmproxy keeps unknown --set names in `deferred` and says nothing (upstream #2174):
        # a misspelt headeraudit_* option would silently do nothing, so say it.
        for name in sorted(getattr(ctx.options, "deferred", {}) or {}):
            if name.startswith("headeraudit"):
                logger.warning(f"headeraudit: unknown option {name!r} ignored (known: {', '.join(OPTION_NAMES)})")
        if self._watch_task is None:
            self._watch_task = asyncio.get_running_loop().create_task(self._watch())
            logger.info(self.started_line(listening=bool(getattr(ctx.options, "server", True))))
            self._progress = for_saved_traffic(bool(getattr(ctx.options, "rfile", None)), sys.stderr)
        if self._sink is not None:
            self._sink.start()

    def started_line(self, listening: bool = True) -> str:
        """What was loaded, said once at start: the rules, the mode, where the live report is
        (when the proxy listens: `-n` reads saved traffic only)."""
        settings, ruleset = self.settings, self.ruleset
        if settings is None or ruleset is None:
            return "headeraudit: not configured"
        count = len(ruleset.rules)
        rules = f"{count} rule{'' if count == 1 else 's'} from {ruleset.path}" + ("" if settings.rules else " (the bundled rules)")
        mode = f"{settings.mode} mode" + (" with the CSP preview" if settings.csp_report_endpoint else "")
        page = f"; live report at http://{REPORT_PAGE_HOST}/ (or https://)" if settings.report_page and listening else ""
        learning = f"; learning the CSP of {', '.join(settings.csp_learn)}" if settings.csp_learn else ""
        return terminal_safe(f"headeraudit: {rules}, {mode}{learning}{page}")

    async def _watch(self) -> None:
        """Poll the rules file(s) (see watched.py)."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            try:
                if self._watched.changed():
                    self.reload_rules(trigger="changed")
            except Exception as exc:  # never let the watcher die
                logger.error(f"headeraudit: rules watcher failed: {exc}")

    def reload_rules(self, trigger: str) -> bool:
        assert self.settings is not None
        seen: dict[str, os.stat_result] = {}
        try:
            ruleset = load_ruleset(self.settings.rules, compile_filter, seen)
        except RulesError as exc:
            self._watch_failed(seen, exc.file)  # report each broken state once
            message = str(exc)
            if message != self._last_reload_error:
                logger.error(f"headeraudit: rules not reloaded ({trigger}), previous rules stay active: {message}")
                self._last_reload_error = message
            return False
        except Exception:  # not a RulesError (a bug): the watcher logs it, also only once per change
            self._watch_failed(seen, None)
            raise
        self._install(ruleset, seen)
        logger.info(f"headeraudit: rules reloaded ({trigger}): {len(ruleset.rules)} rules from {ruleset.path}")
        return True

    def _watch_failed(self, seen: dict[str, os.stat_result], failed: str | None) -> None:
        self._watched.failed(self.ruleset.files if self.ruleset else (), seen, failed)

    def done(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            self._watch_task = None
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        if self._progress is not None:
            self._progress.clear()
            self._progress = None
        settings = self.settings
        report = self.build_report()
        written = self.write_reports(settings.reports if settings else (), report)
        totals = self.store.totals()
        counts = ", ".join(f"{totals[s]} {s}" for s in reversed(SEVERITIES) if totals[s]) or "no findings"
        where = f"; report: {', '.join(written)}" if written else ""
        logger.info(f"headeraudit: {self.store.flows_audited} flows audited, {len(self.store.entries)} distinct findings ({counts}){where}")
        if self.learner.hosts:
            logger.info(terminal_safe(f"headeraudit: a CSP was learned for {', '.join(sorted(self.learner.hosts))[:300]} "
                                      f"(headeraudit.csp_proposal; a .yaml report is the rules file enforcing it)"))
        if not self.store.flows_audited:
            left_out = self._filtered_out
            why = (f"headeraudit_filter {settings.filter!r} matched none of {left_out} responses" if left_out and settings
                   else "no response reached the addon")
            logger.warning(terminal_safe(f"headeraudit: {gate.NOTHING_AUDITED}: {why}"))
        verdict = gate.evaluate(report, settings.fail_on if settings else None, settings.min_grade if settings else None)
        if self.on_done is not None:
            self.on_done(verdict, report)
        elif verdict.checked or verdict.nothing_audited or not self._log_each:
            level = logging.INFO if verdict.passed else logging.WARNING
            shown = verdict.checked or verdict.nothing_audited
            for line in render_summary(report, list(verdict.failures) if shown else None).splitlines():
                logger.log(level, line)
            if not verdict.passed:
                logger.log(level, "headeraudit: mitmdump's exit status does not reflect the gate; run `headeraudit` instead for exit status 3")

    def build_report(self) -> dict[str, Any]:
        return build_report(self.store, self.ruleset, self.settings.mode if self.settings else "audit", time.time(),
                            proposals_section(self.csp_proposals(), self.ruleset, CSP_REPORT_PATH))

    def csp_proposals(self, host: str | None = None) -> list[Proposal]:
        """The proposal of each learned host (or of `host`), judged by the active rules."""
        ruleset = self.ruleset
        proposals = []
        for name, learning in sorted(self.learner.hosts.items()):
            if host is None or name == host:
                judge = (lambda policy, scheme, name=name: judge_policy(ruleset, policy, scheme, name)) if ruleset else None
                proposals.append(propose(name, learning, judge))
        return proposals

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
        paths = (path,) if path else (self.settings.reports if self.settings else ())
        if not paths:
            raise exceptions.CommandError("no report path: give one, or set headeraudit_report")
        written = self.write_reports(paths)
        failed = [p for p in paths if p not in written]
        if failed:
            # The command bar shows only this message: name the path(s) and why.
            reasons = "; ".join(f"{p}: {self._write_errors.get(p, 'unknown error')}" for p in failed)
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
        return "\n".join(
            terminal_safe(f"[{e.finding.severity.upper()}] {e.host} {e.finding.rule} ×{e.count}: {e.finding.header}: {e.finding.evidence}")
            for e in entries
        )


    @command.command("headeraudit.csp_learn.start")
    def csp_learn_start_command(self, *hosts: str) -> str:
        """Learn the CSP of the hosts matching these globs (headeraudit_csp_learn); without any,
        of the hosts learned last."""
        try:
            globs = host_globs(hosts) if hosts else self._learned_globs
        except ValueError as exc:
            raise exceptions.CommandError(str(exc)) from None
        if not globs:
            raise exceptions.CommandError("give the hosts to learn, e.g. headeraudit.csp_learn.start shop.example")
        ctx.options.update(headeraudit_csp_learn=list(globs))
        return f"learning the CSP of {', '.join(globs)}"

    @command.command("headeraudit.csp_learn.stop")
    def csp_learn_stop_command(self) -> str:
        """Stop learning (headeraudit_csp_learn emptied); what was learned is kept."""
        ctx.options.update(headeraudit_csp_learn=[])
        return f"learning stopped; proposals kept for {len(self.learner.hosts)} host(s)"

    @command.command("headeraudit.csp_learn.reset")
    def csp_learn_reset_command(self, host: str = "") -> str:
        """Forget what was learned, of every host or of `host`."""
        forgotten = self.learner.reset(host.strip().lower() or None)
        return f"forgot what was learned of {forgotten} host(s)"

    @command.command("headeraudit.csp_proposal")
    def csp_proposal_command(self, host: str = "") -> str:
        """The CSP proposed for each learned host (or `host`), why, and a rules file enforcing it."""
        proposals = self.csp_proposals(host.strip().lower() or None)
        if not proposals:
            known = ", ".join(sorted(self.learner.hosts)) or "none"
            raise exceptions.CommandError(f"no CSP learned for {host or 'any host'} (learned: {known}); "
                                          f"set headeraudit_csp_learn or run headeraudit.csp_learn.start HOST")
        parts = [render_proposal(p) for p in proposals]
        csp_rules = csp_fix_rules(self.ruleset) if self.ruleset else []
        parts.append(rules_snippet(proposals, csp_rules, CSP_REPORT_PATH))
        return terminal_safe_lines("\n".join(parts))


def learned_fixes(ruleset: Ruleset) -> list[tuple[str, str, str]]:
    """(rule, host, policy) of the CSP fixes set per host name (not per glob), as a learned
    proposal's rules file sets them."""
    by_id = {rule.id: rule for rule in ruleset.rules}
    return [(rule_id, pattern, value) for rule_id in csp_fix_rules(ruleset)
            for pattern, value in (by_id[rule_id].fix.hosts if by_id[rule_id].fix else ())  # type: ignore[union-attr]
            if not any(c in pattern for c in "*?[")]


def render_proposal(proposal: Proposal) -> str:
    lines = [f"# {proposal.host}: {proposal.documents} documents ({proposal.bodies} read), {proposal.requests} requests, "
             f"{proposal.reports} reports", f"Content-Security-Policy: {proposal.policy}"]
    lines.append(f"strict: {proposal.strict}" if proposal.strict else "strict: none")
    lines.append(f"  ({proposal.strict_reason})")
    for note in proposal.notes:
        lines.append(f"note: {note.source}" + (f" — e.g. {note.why[0]}" if note.why else ""))
    for finding in (*proposal.findings, *proposal.strict_findings):
        lines.append(f"finding: {finding}")
    return "\n".join(lines)


def terminal_safe_lines(text: str) -> str:
    return "\n".join(terminal_safe(line) for line in text.split("\n"))
