#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs what the tests need, then runs
# every test. Idempotent; safe on a fresh machine (Debian, root) and on a developer's.
#   - PostgreSQL 15 (Debian's postgresql-15) for the real-server tests: each test starts and
#     stops its own throwaway server (scripts/pg-throwaway.sh), nothing is started by hand;
#   - a Python venv with pinned packages for the notebooks (scripts/setup-python.sh);
#   - PEV2's npm package for tests/pev2.rs (scripts/setup-node.sh);
#   - Debian's chromium for the HTML report's headless-browser test (scripts/install-chromium.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing PostgreSQL 15 if missing" >&2
bash scripts/pg-throwaway.sh install >&2
echo "== installing chromium if missing (HTML report test)" >&2
bash scripts/install-chromium.sh >&2
echo "== preparing the notebooks' Python environment" >&2
bash scripts/setup-python.sh >/dev/null
echo "== installing PEV2 (npm) for tests/pev2.rs" >&2
bash scripts/setup-node.sh >/dev/null

# Real-server tests must fail, not skip, when PostgreSQL cannot be started.
export PQSIM_REQUIRE_PG=1
# The browser test must fail, not skip, when chromium is missing.
export PQSIM_REQUIRE_BROWSER=1
echo "== cargo test" >&2
cargo test --no-fail-fast "$@"
