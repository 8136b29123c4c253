#!/usr/bin/env bash
# Run the test suite (sets up VENV, default .venv, first if needed). Arguments go to pytest:
#
#   scripts/test.sh                 # everything
#   scripts/test.sh tests/e2e -q    # only the end-to-end tests
#   scripts/test.sh -m "not e2e"    # skip the ones that start mitmdump
set -euo pipefail
# shellcheck source=scripts/_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
exec "$VENV/bin/python" -m pytest "$@"
