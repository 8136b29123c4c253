#!/usr/bin/env bash
# Create the virtualenv (VENV, default .venv) with ${PYTHON:-python3} if it is missing, and
# install headeraudit into it in editable mode with its test extras.
#
#   scripts/setup.sh                      # .venv with python3
#   PYTHON=python3.12 VENV=.venv-312 scripts/setup.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

# pip -q still prints one harmless warning per package for a find-links/index location that
# does not exist on this machine ("WARNING: Location '...' is ignored: ..."); drop only those.
quiet_pip() {
    { "$@" 2>&1 1>&3 3>&- | { grep -v -E "^WARNING: Location '.*' is ignored" || true; } >&2; } 3>&1
}

if [ ! -x "$VENV/bin/python" ]; then
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        echo "setup.sh: interpreter '$PYTHON' not found (set PYTHON=...)" >&2
        exit 1
    fi
    echo "setup.sh: creating $VENV with $("$PYTHON" --version 2>&1) ($(command -v "$PYTHON"))"
    "$PYTHON" -m venv "$VENV"
fi

echo "setup.sh: installing headeraudit[test] into $VENV"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
quiet_pip "$VENV/bin/python" -m pip install -q -e '.[test]'
# test.sh and demo.sh compare this stamp with pyproject.toml to decide whether to run us again.
sha256sum pyproject.toml | cut -d' ' -f1 > "$VENV/.headeraudit-setup"
echo "setup.sh: ready: $("$VENV/bin/python" -c 'import mitmproxy.version as v, sys; print(f"Python {sys.version.split()[0]}, mitmproxy {v.VERSION}")')"
