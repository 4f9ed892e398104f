#!/usr/bin/env bash
# setup-simpy.sh — create or reuse benches/peers/.venv with SimPy; prints the venv's python.
# Idempotent: a venv whose python imports simpy at the pinned version is reused as it is.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PIN="simpy==4.1.2"
PY="${PYTHON:-python3}"
ok() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import simpy, sys; sys.exit(simpy.__version__ != "4.1.2")' >/dev/null 2>&1; }
if ok; then echo "$VENV/bin/python"; exit 0; fi
rm -rf "$VENV"
"$PY" -m venv "$VENV" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$PIN" >&2
ok || { echo "setup-simpy: simpy does not import" >&2; exit 1; }
echo "$VENV/bin/python"
