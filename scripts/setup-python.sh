#!/usr/bin/env bash
# setup-python.sh — create or reuse the repo's Python venv for notebooks.
#
# Usage: scripts/setup-python.sh
#   Creates .venv in the repository root with the pinned packages of
#   notebooks/requirements.txt (nbconvert, ipykernel, pandas, matplotlib, numpy) and
#   prints the path of the venv's python on stdout (progress goes to stderr).
#   Idempotent: a venv that is complete for the current requirements.txt (its python
#   runs, the packages import, and the stamp matches the file) is reused as it is; a
#   broken one is rebuilt; a stale one is updated in place.
#
# Environment: PYTHON  interpreter to build the venv from (default python3; 3.11 tested).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/notebooks/requirements.txt"
STAMP="$VENV/.pqsim-requirements.sha256"
PY="${PYTHON:-python3}"

log() { echo "setup-python: $*" >&2; }

[ -f "$REQ" ] || { log "missing $REQ"; exit 1; }
want=$(sha256sum "$REQ" | cut -d' ' -f1)

venv_works() {
    [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" -c 'import nbconvert, ipykernel, pandas, matplotlib' >/dev/null 2>&1
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && venv_works; then
    echo "$VENV/bin/python"
    exit 0
fi

command -v "$PY" >/dev/null || { log "no $PY on PATH (set PYTHON=...)"; exit 1; }
ver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$ver" = "3.11" ] || log "warning: pins were chosen on Python 3.11, this is $ver"

if [ -d "$VENV" ] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "rebuilding broken $VENV"
    rm -rf "$VENV"
fi
if [ ! -d "$VENV" ]; then
    # Some distributions ship python3 without ensurepip (Debian: python3-venv).
    if ! "$PY" -m venv "$VENV" >&2; then
        rm -rf "$VENV"
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
            log "installing python3-venv"
            DEBIAN_FRONTEND=noninteractive apt-get update >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv >&2
            "$PY" -m venv "$VENV" >&2
        else
            log "could not create a venv with $PY"
            exit 1
        fi
    fi
fi

rm -f "$STAMP"
log "installing notebooks/requirements.txt into $VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ" >&2
venv_works || { log "packages do not import after install"; exit 1; }
echo "$want" >"$STAMP"
echo "$VENV/bin/python"
