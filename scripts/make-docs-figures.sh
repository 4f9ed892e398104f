#!/usr/bin/env bash
# Regenerate the pictures in docs/img from the committed code (docs/sweeps.md, README).
# Writes the sweeps under output/ (not tracked) and copies the PNGs into docs/img.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
P=target/release/pqsim
$P sweep configs/scenarios/seed-not-in.toml --vary max_parallel_workers_per_gather=0..8 \
    --hardware laptop,aurora --replications 5 --output output/seed-sweep --fresh
$P sweep configs/scenarios/tpch-lineitem-sum.toml --vary max_parallel_workers_per_gather=0..16 \
    --hardware laptop,aurora --set max_parallel_workers=16 --set max_worker_processes=20 \
    --table lineitem.parallel_workers=16 --replications 5 --output output/tpch-sweep --fresh
$P compare configs/scenarios/gather-heavy.toml --hardware reference-2vcpu,laptop,aurora \
    --replications 5 --output output/gather-compare
$P sweep configs/scenarios/gather-heavy.toml --vary max_parallel_workers_per_gather=0..4 \
    --hardware reference-2vcpu,laptop --replications 5 --output output/gather-sweep --fresh
rm -rf output/gather-trace
$P run configs/scenarios/gather-heavy.toml --replications 1 --trace output/gather-trace > /dev/null
mkdir -p docs/img
cp output/seed-sweep/speedup.png docs/img/seed-speedup.png
cp output/seed-sweep/hardware.png docs/img/seed-hardware.png
cp output/seed-sweep/time-split-laptop.png docs/img/seed-time-split-laptop.png
cp output/tpch-sweep/speedup.png docs/img/tpch-speedup.png
cp output/tpch-sweep/time-split-aurora.png docs/img/tpch-time-split-aurora.png
cp output/gather-compare/compare.png docs/img/gather-compare.png
cp output/gather-trace/timeline.png docs/img/gather-timeline.png
cp output/gather-trace/queue-fill-zoom.png docs/img/gather-queue-fill-zoom.png
ls -la docs/img
