"""`headeraudit`: mitmdump with the addon, exiting with the CI gate's status.

    headeraudit -nr traffic.har --set headeraudit_fail_on=high --set headeraudit_report=out.sarif

Every argument is mitmdump's (`--set headeraudit_*` included). mitmdump decides its own exit
status and an addon cannot change it without skipping other addons' `done` (see gate.py), so
this runs mitmdump in this process, lets it finish normally (reports, `hardump`, `-w` all
written), then exits with:

    0  the gate passed, or no gate option was set
    1  mitmdump could not start (bad arguments or options, port in use, …) — mitmdump's own
    3  the gate failed: a finding at or above headeraudit_fail_on, or a host below
       headeraudit_min_grade
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from . import gate

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "script.py")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        print("\nmitmdump's own options follow.\n")
    from mitmproxy.tools.main import mitmdump  # late: --help above stays fast

    gate.last_verdict = None
    gate.standalone = True
    mitmdump(["-s", SCRIPT, *args])  # raises SystemExit(1) itself on startup errors
    verdict = gate.last_verdict
    if verdict is None or verdict.passed:
        return gate.EXIT_OK
    return gate.EXIT_GATE_FAILED


if __name__ == "__main__":  # python -m headeraudit.cli
    sys.exit(main())
