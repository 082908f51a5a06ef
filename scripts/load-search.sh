#!/usr/bin/env bash
# HTTP load test of GET /api/v1/search: starts a release `omnikb serve --demo` on a fresh
# temporary data folder, drives it with wrk over a fixed query mix (zh and en, frequent and
# rare terms, traditional script, typos, filters) and prints requests/s and latency
# percentiles. The load generator runs on the same machine and shares its cores.
#
#   scripts/load-search.sh                      # 30 s, 2 wrk threads, 32 connections
#   DURATION=10s CONNECTIONS=64 scripts/load-search.sh
#   WARMUP=0 scripts/load-search.sh             # no 3 s warm-up run before measuring
#   OMNIKB_BIN=target/release/omnikb scripts/load-search.sh   # skip the cargo build
#   KB=/tmp/kb100k scripts/load-search.sh       # serve an existing data folder instead of
#                                               # the demo (e.g. the 100k corpus, see
#                                               # docs/performance.md); searches are logged there
#
# Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-30s}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
WARMUP="${WARMUP:-3s}"
PORT="${PORT:-18480}"
BIN="${OMNIKB_BIN:-}"
KB="${KB:-}"

command -v wrk >/dev/null 2>&1 || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
if [ -z "$BIN" ]; then
  cargo build --release --quiet --bin omnikb
  BIN=target/release/omnikb
fi

DATA="$(mktemp -d)"
LUA="$(mktemp --suffix=.lua)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA" "$LUA"
}
trap cleanup EXIT

if [ -n "$KB" ]; then
  RUST_LOG="${RUST_LOG:-warn}" OMNIKB_DATA="$KB" "$BIN" serve --addr "127.0.0.1:$PORT" \
    >"$DATA/server.log" 2>&1 &
else
  RUST_LOG="${RUST_LOG:-warn}" OMNIKB_DATA="$DATA" "$BIN" serve --demo --addr "127.0.0.1:$PORT" \
    >"$DATA/server.log" 2>&1 &
fi
SERVER_PID=$!
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$DATA/server.log" >&2; exit 1; fi
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null

# The query mix (keep in step with http_queries() in benches/search.rs).
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
QUERIES=(
  "q=$(urlencode '宽带无法上网怎么办')"
  "q=$(urlencode '宽带')&locale=zh-CN"
  "q=$(urlencode '家里网络连不上了')"
  "q=$(urlencode '寬頻網速很慢')"
  "q=$(urlencode '手机卡丢了怎么补办')"
  "q=$(urlencode '银行卡转账限额')&locale=zh-CN"
  "q=$(urlencode '携号转网')"
  "q=broadband+not+working"
  "q=brodband+pasword"
  "q=sim+card+lost&locale=en"
  "q=$(urlencode 'wifi密码忘了')&channel=web"
  "q=$(urlencode '宽带 故障')&channel=bot"
)
# Sanity check: every query answers 200 with JSON hits.
for qs in "${QUERIES[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/search?$qs")
  if [ "$code" != 200 ]; then echo "GET /api/v1/search?$qs -> $code" >&2; exit 1; fi
done

{
  echo 'local paths = {'
  for qs in "${QUERIES[@]}"; do echo "  \"/api/v1/search?$qs\","; done
  echo '}'
  cat <<'EOF'
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("requests: %d, errors: connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
  io.write(string.format("req/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%s: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
EOF
} >"$LUA"

# The server's CPU time (user + system clock ticks, fields 14 and 15 of /proc/PID/stat).
# CPU per request is steadier than requests/s on a shared host: it does not count the
# time the server waits for a core the load generator or a neighbour holds.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }

if [ "$WARMUP" != 0 ]; then
  # Fills the index caches (term bitsets, score bytes, facet tables) before measuring: a
  # query's first run costs up to a hundred times a warm one.
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$LUA" "http://127.0.0.1:$PORT" >/dev/null
fi

echo "==> wrk -t$THREADS -c$CONNECTIONS -d$DURATION (${#QUERIES[@]} queries, ${KB:-demo knowledge base})"
ticks_before=$(cpu_ticks)
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$LUA" "http://127.0.0.1:$PORT" \
  | tee "$DATA/wrk.out"
ticks_after=$(cpu_ticks)
requests=$(sed -n 's/^requests: \([0-9]*\),.*/\1/p' "$DATA/wrk.out")
if [ -n "$requests" ] && [ "$requests" -gt 0 ]; then
  awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    'BEGIN { printf "server CPU: %.1f s, %.0f µs per request\n", t / hz, t / hz * 1e6 / n }'
fi
echo "==> search analytics after the run (/metrics)"
curl -fsS "http://127.0.0.1:$PORT/metrics" | grep -E '^omnikb_search_log' || true
