#!/usr/bin/env bash
# Benchmark of the root orchestrator's REST API (see docs/benchmarks.md):
#   - idle RSS of `oakestra root` after start-up and after the load,
#   - wrk against GET /api/services/<appid> with a token (the goal: >= 2000 req/s, p99 < 50 ms),
#   - the floor in the same run: wrk against GET /healthz (HTTP core only: no auth, no store).
# Usage: bench/root_api.sh [duration_seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNECTIONS=${2:-32}
BIN=build/bin/oakestra
command -v wrk >/dev/null || { echo "wrk is missing: make deps" >&2; exit 1; }

DIR=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$BIN root --listen 127.0.0.1:$PORT --data-dir "$DIR/data" --log-level warn 2>"$DIR/root.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.05; done

rss_kb() { awk '/^VmRSS/ {print $2}' /proc/$PID/status; }
RSS_IDLE=$(rss_kb)

URL=http://127.0.0.1:$PORT
TOKEN=$(curl -fs $URL/api/auth/login -d '{"username":"Admin","password":"Admin"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
APP=$(curl -fs $URL/api/application -H "Authorization: Bearer $TOKEN" -d @bench/two_services_sla.json \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["applicationID"])')
RSS_AFTER_LOGIN=$(rss_kb)

run_wrk() {  # path [token]
  local hdr=()
  [ -n "${2:-}" ] && hdr=(-H "Authorization: Bearer $2")
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${hdr[@]}" "$URL$1"
}
summarize() {  # name < wrk output
  awk -v name="$1" '
    /Requests\/sec/ {rps=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    /Non-2xx/ {bad=$NF}
    END {printf "%-28s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n", name, rps, p50, p99, (bad==""?0:bad)}'
}

echo "machine: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d)"
echo "wrk: 2 threads, $CONNECTIONS connections, ${DURATION}s each"
run_wrk /healthz | summarize "GET /healthz (floor)"
run_wrk /api/services/$APP "$TOKEN" | summarize "GET /api/services/<appid>"
echo "RSS idle after start:   ${RSS_IDLE} kB"
echo "RSS after first login:  ${RSS_AFTER_LOGIN} kB"
echo "RSS after the load:     $(rss_kb) kB"
