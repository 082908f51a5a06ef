#!/usr/bin/env bash
# Runs the Playwright end-to-end tests: installs Chromium, CJK fonts and node (apt) and the
# node packages (npm ci, from the lockfile) when missing, builds the omnikb binary, then runs
# the tests with node's test runner. Works without a TTY (CI runs it as root with CI=true).
# Screenshots of each page are written to tests/e2e/artifacts/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export DEBIAN_FRONTEND=noninteractive

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# CJK fonts, so the screenshots show Chinese text rather than boxes.
[ -d /usr/share/fonts/opentype/noto ] || need_apt+=(fonts-noto-cjk)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if ((${#need_apt[@]})); then
  echo "==> e2e: installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

cd "$here"
# npm ci again when the lockfile changed since the last install (npm keeps a copy of what
# it installed in node_modules/.package-lock.json).
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# --all-targets: the same feature set as `cargo test --all-targets`, so after the test
# suite this reuses its build instead of recompiling the dependencies for the binary alone.
(cd "$root" && cargo build --locked --all-targets)
rm -rf "$here/artifacts"
mkdir -p "$here/artifacts"

# The tests start the server themselves and write its pid here, so the server is killed
# even when node itself is killed (the timeout below, Ctrl-C, a crash). Everything the run
# writes to temporary files (server data, browser profiles) goes under one folder removed
# at the end.
work="$(mktemp -d -t omnikb-e2e-run.XXXXXX)"
pidfile="$work/server.pid"
export OMNIKB_E2E_PIDFILE="$pidfile" TMPDIR="$work"
cleanup() {
  local pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    echo "==> e2e: stopping the leftover omnikb server (pid $pid)" >&2
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Bounded: the whole run takes well under a minute here; ten minutes means something hangs.
timeout --kill-after=15s "${OMNIKB_E2E_TIMEOUT:-600}" \
  node --test --test-concurrency=1 --test-timeout=300000 "$here"/*.test.mjs
