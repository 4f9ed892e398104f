#!/usr/bin/env bash
# run-notebooks.sh — execute the notebooks headless against a fresh small sweep; fails on any
# error (a failing cell makes nbconvert exit non-zero).
#
# Usage: scripts/run-notebooks.sh [OUTDIR]
#   1. scripts/setup-python.sh: the pinned venv (.venv), prints its python;
#   2. a small sweep with the built pqsim (seed NOT IN, 0..4 workers, laptop and aurora,
#      3 replications) into OUTDIR/sweep (OUTDIR: a new temp dir when not given);
#   3. wait samples of two runs (seed NOT IN, testpar count) into OUTDIR/waits;
#   4. every notebooks/*.ipynb executed with PQSIM_SWEEP_DIR=OUTDIR/sweep, PQSIM_WAITS_DIR=OUTDIR/waits; executed copies go to
#      OUTDIR/executed (the tracked notebooks stay unexecuted), figures next to the sweep's CSVs.
#
# Environment: PQSIM_BIN  the pqsim binary (default: cargo build, then target/debug/pqsim under
#                         CARGO_TARGET_DIR or ./target)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { echo "run-notebooks: $*" >&2; }

PY="$(bash scripts/setup-python.sh)"
[ -x "$PY" ] || { log "setup-python.sh did not give a python ($PY)"; exit 1; }
# The kernel nbconvert starts is this venv's python.
export PATH="$(dirname "$PY"):$PATH"

BIN="${PQSIM_BIN:-}"
if [ -z "$BIN" ]; then
    log "building pqsim"
    cargo build --quiet >&2
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/pqsim"
fi
[ -x "$BIN" ] || { log "no pqsim binary at $BIN"; exit 1; }

OUT="${1:-$(mktemp -d "${TMPDIR:-/tmp}/pqsim-notebooks.XXXXXX")}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
SWEEP="$OUT/sweep"

log "sweep into $SWEEP"
"$BIN" sweep configs/scenarios/seed-not-in.toml \
    --vary max_parallel_workers_per_gather=0..4 --hardware laptop,aurora \
    --replications 3 --output "$SWEEP" >/dev/null

WAITS="$OUT/waits"
log "wait samples into $WAITS"
mkdir -p "$WAITS"
# The seed query runs for seconds: 10 ms samples; the count(*) for ~20 ms: 1 ms samples.
"$BIN" run configs/scenarios/seed-not-in.toml --replications 3 --wait-samples "$WAITS/seed-not-in.csv" >/dev/null
"$BIN" run configs/scenarios/testpar-count.toml --replications 3 --sample-period 1 \
    --wait-samples "$WAITS/testpar-count.csv" >/dev/null

export PQSIM_SWEEP_DIR="$SWEEP"
export PQSIM_WAITS_DIR="$WAITS"
export MPLBACKEND=Agg
status=0
for nb in notebooks/*.ipynb; do
    log "executing $nb"
    if ! "$PY" -m jupyter nbconvert --to notebook --execute "$nb" \
        --output-dir "$OUT/executed" --ExecutePreprocessor.timeout=600 >&2; then
        log "FAILED: $nb"
        status=1
    fi
done

for png in "$SWEEP/speedup-notebook.png" "$SWEEP/hardware-notebook.png" "$WAITS/waits-notebook.png"; do
    [ -s "$png" ] || { log "missing figure $png"; status=1; }
done
[ "$status" -eq 0 ] && log "ok: figures in $SWEEP, executed notebooks in $OUT/executed"
exit "$status"
