#!/usr/bin/env bash
# Coverage-guided fuzzing of pqsim's input parsers with cargo-fuzz (libFuzzer).
# Usage: scripts/fuzz.sh [RUNS_PER_TARGET] [MAX_SECONDS_PER_TARGET] [TARGET...]
#   defaults: 1000000 inputs, at most 1800 s per target, every target.
# Installs cargo-fuzz if missing; builds on the stable toolchain (RUSTC_BOOTSTRAP=1 lets
# cargo-fuzz pass its -Z flags). Every input must be answered within 1 s (-timeout=1): a slow
# input counts as a failure like a panic. Seeds: the shipped scenarios, profiles and EXPLAIN
# fixtures plus tests/fixtures/fuzz/TARGET/ (the regression corpus that `cargo test` replays in
# tests/fuzz_regressions.rs). A crashing input is left in fuzz/artifacts/TARGET/: copy it into
# tests/fixtures/fuzz/TARGET/ when fixing it. The working corpus (fuzz/corpus/) is not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
secs=${2:-1800}
shift $(( $# > 2 ? 2 : $# ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(scenario_toml hardware_toml whatif explain_json workload_toml sweep_journal)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1

seed() { # seed TARGET FILES...
  local t=$1; shift
  mkdir -p "fuzz/corpus/$t"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "fuzz/corpus/$t/seed-$(basename "$f")"; done
  if [ -d "tests/fixtures/fuzz/$t" ]; then cp tests/fixtures/fuzz/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true; fi
}
seed scenario_toml configs/scenarios/*.toml
seed hardware_toml configs/hardware/*.toml
seed explain_json tests/fixtures/explain/*.json src/pg/testdata/*.json
seed workload_toml configs/workloads/*.toml
seed sweep_journal
mkdir -p fuzz/corpus/whatif
printf '\000work_mem=64MB' > fuzz/corpus/whatif/seed-set
printf '\001session_product_list.rows=150000000' > fuzz/corpus/whatif/seed-table
printf '\002disk.queue_depth=8' > fuzz/corpus/whatif/seed-hw
printf '\003max_parallel_workers_per_gather=0..8' > fuzz/corpus/whatif/seed-vary
seed whatif

for t in "${targets[@]}"; do
  echo "== $t: up to $runs inputs or $secs s (load $(cut -d' ' -f1-3 /proc/loadavg))"
  cargo fuzz run --sanitizer none --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- \
    -runs="$runs" -max_total_time="$secs" -timeout=1 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 2>&1 | tee "fuzz/$t.log" | grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==|SUMMARY|Done)' || true
  if grep -qE 'ERROR: libFuzzer|panicked|Test unit written' "fuzz/$t.log"; then
    echo "$t: FAILED (see fuzz/$t.log and fuzz/artifacts/$t/)"; exit 1
  fi
done
