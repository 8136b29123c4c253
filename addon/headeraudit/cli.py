"""`headeraudit`: mitmdump with the addon, exiting with the CI gate's status.

    headeraudit -nr traffic.har --set headeraudit_fail_on=high --set headeraudit_report=out.sarif

Every argument is mitmdump's (`--set headeraudit_*` included). The addon is one of mitmdump's own
addons here, not a script: mitmproxy walks a script's addon tree (ScriptLoader → Script → module →
addon) on each of a request's 8 events, which costs ~1.2% of mitmdump's instructions per request
before the addon does anything (bench/README.md). It sits where a first `-s` script would run, just
before the ScriptLoader, so other scripts see the flows after it, as with `-s`.

mitmdump decides its own exit status and an addon cannot change it without skipping other
addons' `done` (see gate.py), so this runs mitmdump in this process, lets it finish normally
(reports, `hardump`, `-w` all written), then exits with:

    0  the gate passed, or no gate option was set
    1  mitmdump could not start (bad arguments or options, port in use, …) — mitmdump's own
    3  the gate failed: a finding at or above headeraudit_fail_on, or a host below
       headeraudit_min_grade
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import gate


def master_class() -> type:
    """mitmdump's DumpMaster with HeaderAudit among its addons, just before the ScriptLoader."""
    from mitmproxy.tools.dump import DumpMaster

    from .mitm import HeaderAudit

    class HeaderAuditMaster(DumpMaster):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            audit = HeaderAudit()
            self.addons.add(audit)  # registers it and runs its load() (the headeraudit_* options)
            chain = self.addons.chain
            chain.remove(audit)
            chain.insert(chain.index(self.addons.get("scriptloader")), audit)

    return HeaderAuditMaster


def _filter_args(args) -> dict:
    """mitmdump's own handling of a trailing filter expression (mitmproxy.tools.main.mitmdump)."""
    if args.filter_args:
        expression = " ".join(args.filter_args)
        return {"save_stream_filter": expression, "readfile_filter": expression, "dumper_filter": expression}
    return {}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        print("\nmitmdump's own options follow.\n")
    from mitmproxy.tools import cmdline  # late: --help above stays fast
    from mitmproxy.tools.main import run

    gate.last_verdict = None
    gate.standalone = True
    run(master_class(), cmdline.mitmdump, args, _filter_args)  # as mitmdump does; SystemExit(1) on startup errors
    verdict = gate.last_verdict
    if verdict is None or verdict.passed:
        return gate.EXIT_OK
    return gate.EXIT_GATE_FAILED


if __name__ == "__main__":  # python -m headeraudit.cli
    sys.exit(main())
