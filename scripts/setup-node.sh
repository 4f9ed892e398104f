#!/usr/bin/env bash
# Installs the Node.js packages the tests use into tests/pev2/node_modules (idempotent; pinned
# by tests/pev2/package.json). Needs node >= 18 and npm (Debian: apt-get install nodejs npm).
# Prints the directory holding node_modules.
set -euo pipefail
cd "$(dirname "$0")/../tests/pev2"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup-node.sh: node and npm are needed (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
want=$(node -p 'require("./package.json").dependencies.pev2')
have=$(node -p 'try { require("./node_modules/pev2/package.json").version } catch (e) { "" }' 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  npm install --no-audit --no-fund --loglevel=error >&2
fi
pwd
