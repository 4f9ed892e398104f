#!/usr/bin/env bash
# One sitting on a quiet machine: calibrate a throwaway PostgreSQL 15, then validate the
# TPC-H-like workload (a second throwaway server) with that fresh profile, then put the
# summary table into docs/validation.md (between the one-sitting markers).
#
#   scripts/validate-one-sitting.sh                 # default scale, 7 repetitions
#   SCALE=small REPS=5 CAL_SCALE=200000 scripts/validate-one-sitting.sh
#
# Environment: PQSIM (binary, default target/release/pqsim), SCALE (small|default),
# CAL_SCALE (rows of calibrate's middle probe table), REPS, OUT (output directory),
# DOC (the Markdown file to update; DOC= to skip), ACTUALS=1 (then also the trace-driven check:
# each query's serial EXPLAIN ANALYZE predicts its bare times at 1-4 workers with this profile,
# tests/actuals_pg.rs, written to OUT/actuals.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${PQSIM:-target/release/pqsim}
SCALE=${SCALE:-default}
CAL_SCALE=${CAL_SCALE:-1000000}
REPS=${REPS:-7}
OUT=${OUT:-output/one-sitting}
DOC=${DOC-docs/validation.md}
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release first" >&2; exit 1; }
mkdir -p "$OUT"
# The server's directory must be traversable by the postgres user: directly under /tmp.
SRV=$(mktemp -u /tmp/pqsim-cal-XXXXXX)
trap 'bash scripts/pg-throwaway.sh stop "$SRV" >/dev/null 2>&1 || true' EXIT
echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): calibrating (scale $CAL_SCALE, $REPS repetitions)" >&2
DSN=$(bash scripts/pg-throwaway.sh start "$SRV" --owner-pid $$ | tail -n 1)
"$BIN" calibrate --dsn "$DSN" --output "$OUT/profile.toml" --name one-sitting --scale "$CAL_SCALE" --reps "$REPS" --keep-probes "$OUT/probes"
bash scripts/pg-throwaway.sh stop "$SRV"
echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): validating (workload tpch, scale $SCALE)" >&2
"$BIN" validate --workload tpch --scale "$SCALE" --profile "$OUT/profile.toml" --output "$OUT" --reps "$REPS"
if [ "${ACTUALS:-0}" = 1 ]; then
    echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): trace-driven (serial EXPLAIN ANALYZE -> workers 1-4)" >&2
    PQSIM_ACTUALS_PROFILE="$(realpath "$OUT/profile.toml")" cargo test --release --test actuals_pg -- --nocapture >&2
    cp target/tmp/actuals_pg/table.md "$OUT/actuals.md"
    cp target/tmp/actuals_pg/points.csv "$OUT/actuals.csv"
fi
MD="$OUT/validation-tpch-$SCALE.md"
if [ -n "$DOC" ] && [ -f "$DOC" ]; then
    # The report up to its table of all points, between the markers.
    awk -v md="$MD" '
        /<!-- one-sitting:begin -->/ {
            print; while ((getline l < md) > 0) { if (l ~ /^## All points/) break; print l }
            skip = 1; next }
        /<!-- one-sitting:end -->/ { skip = 0 }
        !skip { print }' "$DOC" > "$DOC.tmp" && mv "$DOC.tmp" "$DOC"
    echo "updated $DOC from $MD" >&2
fi
