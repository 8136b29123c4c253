#!/usr/bin/env bash
# Audit the bundled example traffic (examples/sample.har) and write a JSON report
# (sets up VENV, default .venv, first if needed).
#
#   scripts/demo.sh                         # report: ./headeraudit-report.json in the repo
#   REPORT=/tmp/r.json scripts/demo.sh
#   scripts/demo.sh --set headeraudit_min_severity=medium    # extra mitmdump arguments
set -euo pipefail
CALLER_PWD="$PWD"
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

REPORT="${REPORT:-$ROOT/headeraudit-report.json}"
case "$REPORT" in /*) ;; *) REPORT="$CALLER_PWD/$REPORT" ;; esac

mkdir -p "$(dirname "$REPORT")"
rm -f "$REPORT"

echo "demo: auditing examples/sample.har (recorded responses of a few made-up sites)"
echo
"$VENV/bin/mitmdump" -nr examples/sample.har -s addon/headeraudit_addon.py \
    --flow-detail 0 --set "headeraudit_report=$REPORT" "$@"
echo
if [ ! -s "$REPORT" ]; then
    echo "demo: no report was written to $REPORT (see the messages above)" >&2
    exit 1
fi
echo "demo: JSON report written to $REPORT"
