#!/usr/bin/env bash
# Run the headeraudit benchmarks and print one Markdown block (paste into the README).
#
#   bench/run_all.sh            # full: engine ~1 min, proxy ~9 min (callgrind), saved traffic ~15 min, memory longer (see bench/README.md)
#   bench/run_all.sh --quick    # a smoke run of all four, a few minutes
#
# Interpreter: $PYTHON, else the repo's .venv from scripts/setup.sh (needs mitmproxy; the engine is
# imported from <repo>/addon). drHEADer runs in bench/.venv-drheader, created on first
# use. valgrind comes from Debian; it is installed here when missing and we are root.
# Progress goes to stderr, the results to stdout: bench/run_all.sh > results.md
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
if [ -n "${PYTHON:-}" ]; then PY="$PYTHON"
elif [ -x "$ROOT/.venv/bin/python" ]; then PY="$ROOT/.venv/bin/python"   # scripts/setup.sh's venv
else echo "run_all.sh: run scripts/setup.sh first, or set PYTHON to an interpreter with headeraudit installed" >&2; exit 2
fi
QUICK=()
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=(--quick) ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "run_all.sh: unknown argument $arg (only --quick)" >&2; exit 2 ;;
    esac
done

if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "[run_all] installing valgrind from Debian ..." >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >&2
    else
        echo "[run_all] valgrind is needed for the proxy bench: apt-get install -y valgrind" >&2
        exit 2
    fi
fi

echo "## Benchmarks"
echo
echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(uname -m)), $("$PY" -V 2>&1)." \
     "Ratios are measured side by side in one run; absolute numbers depend on the machine and its load."
echo
"$PY" "$HERE/engine_bench.py" "${QUICK[@]}"
echo
"$PY" "$HERE/proxy_bench.py" "${QUICK[@]}"
echo
"$PY" "$HERE/saved_bench.py" "${QUICK[@]}"
echo
"$PY" "$HERE/memory_bench.py" "${QUICK[@]}"
