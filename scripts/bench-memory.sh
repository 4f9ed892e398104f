#!/usr/bin/env bash
# Peak memory (max RSS) of one `run` on a 10^6-row and a 10^9-row table: simulation state
# must not grow with table rows. Builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
for rows in 1000000 1000000000; do
  /usr/bin/time -f "rows=$rows max_rss_kb=%M wall_s=%e" \
    target/release/pqsim run configs/scenarios/gather-heavy-pushed-down.toml \
    --table "t.rows=$rows" --replications 1 --format json > /dev/null
done
