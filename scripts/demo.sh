#!/usr/bin/env bash
# Audit the bundled example traffic (examples/sample.har), print the summary with grades and
# write a JSON and an HTML report (sets up VENV, default .venv, first if needed).
#
#   scripts/demo.sh                         # reports: ./headeraudit-report.json and .html in the repo
#   REPORT=/tmp/r.json scripts/demo.sh
#   scripts/demo.sh --set headeraudit_min_severity=medium    # extra mitmdump arguments
#   scripts/demo.sh --set headeraudit_fail_on=high           # exits 3, as the CI gate would
set -euo pipefail
CALLER_PWD="$PWD"
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

REPORT="${REPORT:-$ROOT/headeraudit-report.json}"
case "$REPORT" in /*) ;; *) REPORT="$CALLER_PWD/$REPORT" ;; esac

HTML_REPORT="${REPORT%.json}.html"

mkdir -p "$(dirname "$REPORT")"
rm -f "$REPORT" "$HTML_REPORT"

echo "demo: auditing examples/sample.har (recorded responses of a few made-up sites)"
echo
# `headeraudit` is mitmdump with the addon, exiting with the CI gate's status.
status=0
"$VENV/bin/headeraudit" -nr examples/sample.har \
    --flow-detail 0 --set "headeraudit_report=$REPORT" --set "headeraudit_report=$HTML_REPORT" "$@" || status=$?
echo
if [ ! -s "$REPORT" ]; then
    echo "demo: no report was written to $REPORT (see the messages above)" >&2
    exit 1
fi
echo "demo: JSON report written to $REPORT"
echo "demo: HTML report written to $HTML_REPORT"
exit "$status"
