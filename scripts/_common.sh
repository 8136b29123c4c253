# Sourced by test.sh and demo.sh: go to the repository root and make sure VENV is set up.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
export VENV

setup_needed() {
    [ -x "$VENV/bin/python" ] || return 0
    [ -f "$VENV/.headeraudit-setup" ] || return 0
    [ "$(cat "$VENV/.headeraudit-setup")" = "$(sha256sum pyproject.toml | cut -d' ' -f1)" ] || return 0
    "$VENV/bin/python" -c 'import headeraudit, mitmproxy, pytest' >/dev/null 2>&1 || return 0
    return 1
}

if setup_needed; then
    "$ROOT/scripts/setup.sh"
fi
