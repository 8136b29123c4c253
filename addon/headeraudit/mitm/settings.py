"""The headeraudit_* options: declared once, parsed by one pure function into a frozen Settings.

mitmproxy does not enforce `choices` for script options (they feed `--options` and the UIs),
so every value is checked here; a bad one is a ValueError naming the option, which the addon
turns into an OptionsError in `configure`, never at request time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mitmproxy import flowfilter

from ..audit import AuditSettings
from ..gate import parse_grade
from ..grade import GRADE_ORDER
from ..model import SEVERITIES, parse_severity
from ..report import renderer_for

CSP_REPORT_PATH = "/.well-known/headeraudit/csp-report"  # same-origin; answered by the proxy in CSP preview
REPORT_PAGE_HOST = "headeraudit.proxy"  # the live report, answered by the proxy like mitm.it
MODES = ("audit", "fix")
CSP_PREVIEWS = ("", "report-only")
LOG_MODES = ("each", "summary")


@dataclass(frozen=True)
class Option:
    name: str
    type: Any
    default: Any
    help: str
    choices: Sequence[str] | None = None


OPTIONS: tuple[Option, ...] = (
    Option("headeraudit_rules", str, "",
           "Path of the rules file (YAML). Empty: the bundled default rules.yaml. "
           "The file is watched and reloaded when it changes; a broken edit keeps the previous rules."),
    Option("headeraudit_mode", str, "audit",
           "audit: report violations. fix: also rewrite live responses with the rules' fixes "
           "(saved flows are not changed; their after-fix findings are reported).", MODES),
    Option("headeraudit_fix_opt_in", bool, False,
           "In fix mode, also apply fixes marked opt_in (CORS removals, COOP/COEP/CORP: they commonly break sites)."),
    Option("headeraudit_csp_preview", str, "",
           "In fix mode, 'report-only' sends the proposed CSP as Content-Security-Policy-Report-Only and "
           f"collects the browser's violation reports at {CSP_REPORT_PATH} (answered by the proxy).", CSP_PREVIEWS),
    Option("headeraudit_filter", str, "",
           "mitmproxy filter expression selecting the flows to audit (syntax of view_filter). Empty: all flows."),
    Option("headeraudit_report", Sequence[str], [],
           "Path(s) of report files, written when mitmproxy exits and on headeraudit.report. "
           "Format by extension: .json, .html, .sarif, .xml (JUnit), .md"),
    Option("headeraudit_fail_on", str, "",
           "CI gate: fail the run when a finding is at or above this severity (info, low, medium, high, critical). "
           "The `headeraudit` command exits 3 then; plain mitmdump only prints the verdict.", ("", *SEVERITIES)),
    Option("headeraudit_min_grade", str, "",
           "CI gate: fail the run when a host's grade is below this (A+, A, A-, B+, … F).", ("", *GRADE_ORDER)),
    Option("headeraudit_report_page", bool, True,
           f"Answer http:// and https://{REPORT_PAGE_HOST}/ with the live HTML report (like mitm.it); never forwarded upstream."),
    Option("headeraudit_min_severity", str, "info",
           "Ignore findings below this severity: info, low, medium, high, critical.", SEVERITIES),
    Option("headeraudit_csp_learn", Sequence[str], [],
           "Learn a Content-Security-Policy for the hosts matching these globs (e.g. shop.example, *.example.com): "
           "their documents get a deny-all report-only policy, and their requests, HTML and violation reports make "
           "the proposal shown by headeraudit.csp_proposal and in the reports (a .yaml report is a rules file "
           "enforcing it). Empty: off. Commands: headeraudit.csp_learn.start/stop/reset."),
    Option("headeraudit_log", str, "each",
           "each: log each finding once, when a host first shows it. summary: log only the summary when mitmproxy "
           "exits (each finding at debug level: --set termlog_verbosity=debug), for CI runs over much traffic.",
           LOG_MODES),
)
OPTION_NAMES: tuple[str, ...] = tuple(option.name for option in OPTIONS)


@dataclass(frozen=True)
class Settings:
    rules: str | None  # None: the bundled rules
    mode: str
    fix_opt_in: bool
    csp_preview: str
    filter: str  # the expression as given ("" for every flow) ...
    flow_filter: Callable[[Any], Any] | None  # ... and compiled
    reports: tuple[str, ...]
    fail_on: str | None
    min_grade: str | None
    report_page: bool
    min_severity: str
    log: str
    csp_learn: tuple[str, ...] = ()  # lower-case host globs; empty: not learning

    @property
    def fix(self) -> bool:
        return self.mode == "fix"

    def auditing(self) -> AuditSettings:
        return AuditSettings(self.fix, self.min_severity, self.fix_opt_in, self.csp_report_endpoint)

    @property
    def csp_report_endpoint(self) -> str | None:
        """The same-origin path CSP violation reports go to, in fix mode's report-only preview."""
        return CSP_REPORT_PATH if self.fix and self.csp_preview else None


def parse_settings(options: Mapping[str, Any]) -> Settings:
    """The headeraudit_* option values (name -> value) as Settings; ValueError names the option."""
    def parsed(name: str, parse: Callable[[Any], Any]) -> Any:
        try:
            return parse(options[name])
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None

    return Settings(
        rules=parsed("headeraudit_rules", lambda v: v or None),
        mode=parsed("headeraudit_mode", lambda v: choice(v, MODES)),
        fix_opt_in=options["headeraudit_fix_opt_in"],  # mitmproxy type-checks bool options itself
        csp_preview=parsed("headeraudit_csp_preview", lambda v: choice(v, CSP_PREVIEWS)),
        filter=parsed("headeraudit_filter", lambda v: v.strip()),
        flow_filter=parsed("headeraudit_filter", lambda v: flowfilter.parse(v.strip()) if v.strip() else None),
        reports=parsed("headeraudit_report", lambda v: tuple(check_report_path(p) for p in v if p)),
        fail_on=parsed("headeraudit_fail_on", lambda v: parse_severity(v) if v.strip() else None),
        min_grade=parsed("headeraudit_min_grade", lambda v: parse_grade(v) if v.strip() else None),
        report_page=options["headeraudit_report_page"],
        min_severity=parsed("headeraudit_min_severity", parse_severity),
        log=parsed("headeraudit_log", lambda v: choice(v, LOG_MODES)),
        csp_learn=parsed("headeraudit_csp_learn", host_globs),
    )


def host_globs(values: Sequence[str]) -> tuple[str, ...]:
    """Host name globs as `when: host` takes them: no scheme, port or path."""
    globs = []
    for value in values:
        glob = value.strip().lower()
        if not glob:
            continue
        if any(c in glob for c in "/: \t") or glob.startswith("."):
            raise ValueError(f"{value!r} is not a host glob (e.g. shop.example or *.example.com: no scheme, port or path)")
        globs.append(glob)
    return tuple(dict.fromkeys(globs))


def choice(value: str, choices: Sequence[str]) -> str:
    chosen = value.strip().lower()
    if chosen not in choices:
        raise ValueError(f"must be one of {', '.join(c or '(empty)' for c in choices)}, not {value!r}")
    return chosen


def check_report_path(path: str) -> str:
    """Refuse a report path up front rather than failing when mitmproxy exits."""
    renderer_for(path)  # ValueError names the known extensions
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise ValueError(f"cannot write {path!r}: {directory} is not a writable directory")
    return path


BOOL_WORDS = ("true", "false", "toggle", "")  # what mitmproxy's own parser takes ("" : the value omitted)


def unparsable_bools(deferred: Mapping[str, Any]) -> list[str]:
    """One message per bool headeraudit_* option given on the command line with a value
    mitmproxy cannot parse. mitmproxy keeps `--set` values of script options until the script
    declares them, and then fails on such a value without a word and without the script: the
    addon would silently never run. `deferred` is mitmproxy's options.deferred (name -> the
    strings given)."""
    messages = []
    for option in OPTIONS:
        given = getattr(deferred.get(option.name), "val", None)
        if option.type is bool and given is not None and any(value not in BOOL_WORDS for value in given):
            messages.append(f"headeraudit: {option.name}: {given[-1]!r} is not true or false; "
                            f"use --set {option.name}=true or --set {option.name}=false")
    return messages


def compile_filter(text: str) -> Callable[[Any], bool]:
    """A mitmproxy filter expression as a predicate on flows (rules' `when.filter`)."""
    matcher = flowfilter.parse(text)
    return lambda flow: bool(matcher(flow))
