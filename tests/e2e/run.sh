#!/usr/bin/env bash
# Runs the Playwright end-to-end tests: installs Chromium (apt) and the node packages when
# missing, builds the omnikb binary, then runs the tests with node's test runner.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
# CJK fonts, so the screenshots show Chinese text rather than boxes.
if [ ! -d /usr/share/fonts/opentype/noto ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-noto-cjk || true
fi
if ! command -v node >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
fi
cd "$here"
if [ ! -d node_modules/playwright-core ]; then npm ci --no-audit --no-fund; fi
(cd "$root" && cargo build --bin omnikb)
mkdir -p "$here/artifacts"
node --test --test-concurrency=1 "$here/ui.test.mjs"
