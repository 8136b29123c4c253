"""`headeraudit`: mitmdump with the addon, exiting with the CI gate's status.

    headeraudit -nr traffic.har --set headeraudit_fail_on=high --set headeraudit_report=out.sarif

Every argument is mitmdump's (`--set headeraudit_*` included). mitmdump decides its own exit
status and an addon cannot change it without skipping other addons' `done` (see gate.py), so
this runs mitmdump in this process with the addon as one of its own, lets it finish normally
(reports, `hardump`, `-w` all written), then exits with:

    0  the gate passed, or no gate option was set
    1  mitmdump could not start (bad arguments or options, port in use, …) — mitmdump's own
    3  the gate failed: a finding at or above headeraudit_fail_on, or a host below
       headeraudit_min_grade
    4  no flow was audited: an empty capture, or a headeraudit_filter that matched nothing
    5  `headeraudit scan`: a URL could not be fetched (whatever the gate said)

    headeraudit scan https://example.com/ http://example.org/ --set headeraudit_fail_on=high

fetches each URL (following redirects; each hop is audited) instead of reading or proxying
traffic: mitmdump's options, the reports and the gate work as in any other run.

`headeraudit-web` and `headeraudit-console` are mitmweb and the mitmproxy console with the addon;
`headeraudit --script-path` prints the addon's script, for `-s` in any mitmproxy tool.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import gate


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        print("\nheaderaudit's options (--set name=value; `headeraudit --options` shows them with their defaults):\n")
        print(options_help())
        print("\nmitmdump's own options follow.\n")
    if args == ["--script-path"]:
        print(script_path())
        return gate.EXIT_OK
    if "--version" in args:
        print(f"headeraudit: {version()}")
    scan_urls: list[str] = []
    if args[:1] == ["scan"]:
        args, scan_urls = scan_arguments(args[1:])
        if not scan_urls:
            print("headeraudit scan: give one or more http:// or https:// URLs", file=sys.stderr)
            return 1
    # Late: --help above stays fast.
    from mitmproxy.tools import cmdline, dump, main as mitmproxy_main

    from .mitm import HeaderAudit
    from .mitm.scan import Scan
    from .report.summary import render_summary

    verdicts: list[gate.Verdict] = []

    def on_done(verdict: gate.Verdict, report: dict[str, Any]) -> None:
        verdicts.append(verdict)
        # The summary is the run's result: on stdout, after mitmdump's own output.
        shown = verdict.checked or verdict.nothing_audited
        print(render_summary(report, list(verdict.failures) if shown else None), flush=True)

    def extra(parsed: Any) -> dict[str, Any]:  # as mitmdump's: positional filter arguments
        if parsed.filter_args:
            expression = " ".join(parsed.filter_args)
            return dict(save_stream_filter=expression, readfile_filter=expression, dumper_filter=expression)
        return {}

    scan = Scan(scan_urls) if scan_urls else None
    master = with_addon(dump.DumpMaster, lambda: HeaderAudit(on_done), scan)
    mitmproxy_main.run(master, cmdline.mitmdump, args, extra)  # raises SystemExit(1) itself on startup errors
    if scan is not None and scan.failed:  # (each failure was logged as an error)
        return gate.EXIT_FETCH_FAILED
    return verdicts[0].status if verdicts else gate.EXIT_OK


def scan_arguments(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """`headeraudit scan`'s arguments: mitmdump's (with -n: nothing listens) and the URLs."""
    from .mitm.scan import check_url

    urls, rest = [], ["-n"]
    for arg in args:
        if "://" in arg and not arg.startswith("-"):
            try:
                urls.append(check_url(arg))
            except ValueError as exc:
                print(f"headeraudit scan: {exc}", file=sys.stderr)
                raise SystemExit(1) from None
        else:
            rest.append(arg)
    return rest, urls


def with_addon(master: type, make: Callable[[], Any], *others: Any) -> type:
    """A mitmproxy tool's master with the addon right where `-s` scripts run (before
    modify_headers, save and the dumper), so it sees and changes what a script would;
    `others` (the scan) after it."""

    class Master(master):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            audit = make()
            self.addons.add(audit)
            chain = self.addons.chain
            chain.remove(audit)
            chain.insert(chain.index(self.addons.get("scriptloader")) + 1, audit)
            for other in others:
                if other is not None:
                    self.addons.add(other)

    return Master


def web(argv: Sequence[str] | None = None) -> None:
    """`headeraudit-web`: mitmweb with the addon (every argument is mitmweb's)."""
    from mitmproxy.tools import cmdline, main as mitmproxy_main, web as mitmweb

    from .mitm import HeaderAudit

    mitmproxy_main.run(with_addon(mitmweb.master.WebMaster, HeaderAudit), cmdline.mitmweb,
                       list(sys.argv[1:] if argv is None else argv))


def console(argv: Sequence[str] | None = None) -> None:
    """`headeraudit-console`: the mitmproxy console with the addon (every argument is mitmproxy's)."""
    from mitmproxy.tools import cmdline, console as mitmconsole, main as mitmproxy_main

    from .mitm import HeaderAudit

    mitmproxy_main.run(with_addon(mitmconsole.master.ConsoleMaster, HeaderAudit), cmdline.mitmproxy,
                       list(sys.argv[1:] if argv is None else argv))


def script_path() -> str:
    """The addon as a mitmproxy script file, for `-s` or the `scripts` option of an installed copy."""
    from importlib import resources

    return str(resources.files("headeraudit").joinpath("script", "headeraudit_addon.py"))


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("headeraudit")
    except metadata.PackageNotFoundError:  # run from a checkout without installing
        return "unknown (not installed)"


def options_help() -> str:
    """One entry per headeraudit_* option: its type, default, choices and help."""
    import textwrap

    from .mitm.settings import OPTIONS

    out = []
    for option in OPTIONS:
        kind = getattr(option.type, "__name__", str(option.type)).replace("typing.", "")
        choices = f"; one of: {', '.join(repr(c) for c in option.choices)}" if option.choices else ""
        out.append(f"  {option.name} ({kind}, default {option.default!r}{choices})")
        out.extend(textwrap.wrap(option.help, 96, initial_indent="      ", subsequent_indent="      "))
    return "\n".join(out)


if __name__ == "__main__":  # python -m headeraudit.cli
    sys.exit(main())
