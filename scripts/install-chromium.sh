#!/usr/bin/env bash
# Installs Debian's chromium for the HTML report's browser test (tests/report_html.rs), if it is
# missing. Idempotent: does nothing when /usr/bin/chromium exists. Needs root (apt-get).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
test -x /usr/bin/chromium
