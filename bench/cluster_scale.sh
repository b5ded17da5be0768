#!/usr/bin/env bash
# Scale benchmark of one cluster (see docs/benchmarks.md): a root, a cluster connected to it
# (pinned to core 0 with its broker), and N simulated workers (build/bin/cluster_scale, core 1)
# that register, connect to the broker and send what idle workers send: a heartbeat every 15 s
# and their full report every FULL_EVERY seconds (default 300, as the agent; 0: a full report
# every 15 s). Then the floor: the same broker configuration, accounts and traffic with no
# cluster (mosquitto alone on core 0, one subscriber standing in for the cluster).
# At the end, SCRAPES (default 50) GET /metrics requests time the cluster's metrics endpoint.
# Usage: [BUILD=build] [FULL_EVERY=300] [SCRAPES=50] bench/cluster_scale.sh [workers=1000]
#        [window_seconds=60]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
WINDOW=${2:-60}
FULL_EVERY=${FULL_EVERY:-300}
SCRAPES=${SCRAPES:-50}
BUILD=${BUILD:-build}
BIN=$BUILD/bin/oakestra
SCALE=$BUILD/bin/cluster_scale
for b in $BIN $SCALE; do
  [ -x "$b" ] || { echo "$b is missing: cmake --build build --target oakestra cluster_scale" >&2; exit 1; }
done
command -v mosquitto >/dev/null || { echo "mosquitto is missing: make deps" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((N + 100)) ]; then
  echo "open-file limit $(ulimit -n) is too low for $N workers" >&2
  exit 1
fi

DIR=$(mktemp -d)
PIDS=()
# A private copy: the tree may be rebuilt while the benchmark runs (and perf wants the file).
cp $BIN "$DIR/oakestra"
BIN=$DIR/oakestra
# Every process started here names $DIR in its arguments: a recorded pid is signalled only while
# it still does, so a pid reused by somebody else's process is never touched.
ours() {
  [ -n "$1" ] && tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF "$DIR"
}
# Stops one process this script started, and waits for it.
stop() {
  ours "$1" || return 0
  kill "$1" 2>/dev/null || true
  for _ in $(seq 100); do ours "$1" || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}
cleanup() {
  local p
  for p in "${PIDS[@]}"; do stop "$p"; done
  rm -rf "$DIR"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() {  # url
  for _ in $(seq 200); do curl -fs "$1" >/dev/null && return 0; sleep 0.05; done
  echo "nothing answers on $1" >&2
  return 1
}

ROOT_PORT=$(free_port)
CLUSTER_PORT=$(free_port)
MQTT_PORT=$(free_port)
FLOOR_PORT=$(free_port)

taskset -c 1 "$BIN" root --listen "127.0.0.1:$ROOT_PORT" --data-dir "$DIR/root" --log-level warn \
  2>"$DIR/root.log" &
PIDS+=("$!")
wait_http "http://127.0.0.1:$ROOT_PORT/healthz"

# Starts the cluster on core 0 (its broker inherits the core); sets CLUSTER_PID and BROKER_PID
# once the worker API answers (within $1 seconds).
start_cluster() {
  taskset -c 0 "$BIN" cluster --root "http://127.0.0.1:$ROOT_PORT" --name scale \
    --token "$(cat "$DIR/root/cluster-token")" --listen "127.0.0.1:$CLUSTER_PORT" \
    --data-dir "$DIR/cluster" --mqtt-listen "127.0.0.1:$MQTT_PORT" --worker-lease 60 \
    --log-level warn 2>>"$DIR/cluster.log" &
  CLUSTER_PID=$!
  PIDS+=("$CLUSTER_PID")
  local deadline=$((SECONDS + $1))
  until curl -fs "http://127.0.0.1:$CLUSTER_PORT/healthz" >/dev/null; do
    if ! ours "$CLUSTER_PID" || [ $SECONDS -ge $deadline ]; then
      echo "the cluster did not start; see $DIR/cluster.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  BROKER_PID=""
  local child
  # shellcheck disable=SC2013  # the file holds pids separated by blanks
  for child in $(cat /proc/"$CLUSTER_PID"/task/*/children); do
    [ "$(cat /proc/"$child"/comm 2>/dev/null)" = mosquitto ] && BROKER_PID=$child
  done
  [ -n "$BROKER_PID" ] || { echo "no broker under the cluster (pid $CLUSTER_PID)" >&2; exit 1; }
  PIDS+=("$BROKER_PID")  # stopped by the cluster; listed in case the cluster dies first
}
start_cluster 10

echo "machine: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d); $N workers, ${WINDOW}s window;" \
  "tree $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo +changes)"
echo "cluster pid $CLUSTER_PID and broker pid $BROKER_PID on core 0, load generator on core 1"
taskset -c 1 $SCALE --cluster "http://127.0.0.1:$CLUSTER_PORT" \
  --token-file "$DIR/cluster/worker-token" --workers "$N" --window "$WINDOW" \
  --full-every "$FULL_EVERY" --cluster-pid "$CLUSTER_PID" --broker-pid "$BROKER_PID" \
  --scrapes "$SCRAPES" --credentials-out "$DIR/accounts" | tee "$DIR/cluster.out"
echo "cluster log (warnings and errors): $(wc -l <"$DIR/cluster.log") lines"
grep -v '^\s*$' "$DIR/cluster.log" | tail -n 5 || true
# The broker's side: whether it reloaded its configuration (accounts change through the dynamic
# security plugin, without reloads), how many account commands it ran, and whether it dropped
# messages queued for the cluster's connection.
BROKER_LOG=$DIR/cluster/mqtt/mosquitto.log
echo "result broker_reloads $(grep -c 'Reloading config' "$BROKER_LOG" || true)" | tee -a "$DIR/cluster.out"
echo "result broker_account_commands $(grep -Ec 'dynsec: .*\| (createClient|setClientPassword) ' \
  "$BROKER_LOG" || true)" | tee -a "$DIR/cluster.out"
echo "result broker_dropping_for_cluster $(grep -c 'dropped for client cluster-' "$BROKER_LOG" || true)" \
  | tee -a "$DIR/cluster.out"

stop "$CLUSTER_PID"
stop "$BROKER_PID"

# A restart with every worker registered: the broker's account file already holds them; the
# cluster only checks it against its store before starting the broker.
START=$(date +%s.%N)
start_cluster 3600
echo "result restart_seconds $(echo "$(date +%s.%N) - $START" | bc)" | tee -a "$DIR/cluster.out"
stop "$CLUSTER_PID"
stop "$BROKER_PID"

# The floor: mosquitto alone with the cluster's broker configuration (its own copy of the
# plugin's account file, its own log and port), the same clients, the same messages.
cp "$DIR/cluster/mqtt/dynamic-security.json" "$DIR/floor-accounts.json"
sed -e "s|^plugin_opt_config_file .*|plugin_opt_config_file $DIR/floor-accounts.json|" \
  -e "s|^log_dest file .*|log_dest file $DIR/floor.log|" \
  -e "s|^listener .*|listener $FLOOR_PORT 127.0.0.1|" \
  "$DIR/cluster/mqtt/mosquitto.conf" >"$DIR/floor.conf"
taskset -c 0 mosquitto -c "$DIR/floor.conf" 2>"$DIR/floor.err" &
FLOOR_PID=$!
PIDS+=("$FLOOR_PID")
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$FLOOR_PORT") 2>/dev/null && break
  sleep 0.05
done
echo
echo "floor: mosquitto alone (pid $FLOOR_PID, core 0), the same $N clients and one subscriber"
taskset -c 1 $SCALE --mqtt-host 127.0.0.1 --mqtt-port "$FLOOR_PORT" --workers "$N" \
  --window "$WINDOW" --full-every "$FULL_EVERY" --broker-pid "$FLOOR_PID" \
  --credentials-in "$DIR/accounts" \
  --sink-user cluster --sink-password-file "$DIR/cluster/mqtt-admin-password" \
  | tee "$DIR/floor.out"

val() {  # file key
  awk -v k="$2" '$1 == "result" && $2 == k {print $3}' "$1"
}
cell() {  # file key decimals
  local v
  v=$(val "$1" "$2")
  if [ -n "$v" ]; then printf "%.${3}f" "$v"; else echo -; fi
}
row() {  # label key decimals
  printf "| %-52s | %12s | %12s |\n" "$1" "$(cell "$DIR/cluster.out" "$2" "$3")" \
    "$(cell "$DIR/floor.out" "$2" "$3")"
}
echo
echo "summary ($N workers, heartbeat every 15 s, full report every ${FULL_EVERY} s, keepalive 60 s," \
  "${WINDOW}s window)"
printf "| %-52s | %12s | %12s |\n" "" "with cluster" "floor"
row "registrations/s" reg_per_s 0
row "  first tenth /s" reg_first_tenth_per_s 0
row "  last tenth /s" reg_last_tenth_per_s 0
row "  latency p50 ms" reg_p50_ms 1
row "  latency p99 ms" reg_p99_ms 1
row "time until 99 % connected+subscribed, s" connect_99_seconds 1
row "time until the last connected, s" connect_seconds 1
row "workers that never connected" never_connected 0
row "broker configuration reloads" broker_reloads 0
row "broker account commands (createClient, setClientPassword)" broker_account_commands 0
row "\"messages dropped for the cluster\" log lines" broker_dropping_for_cluster 0
row "full reports/s in the window" reports_per_s 1
row "heartbeats/s in the window" heartbeats_per_s 0
row "cluster CPU, % of one core" cluster_cpu_pct 2
row "cluster CPU per message, us" cluster_cpu_per_message_us 1
row "cluster RSS, MB" cluster_rss_mb 1
row "broker CPU, % of one core" broker_cpu_pct 2
row "broker RSS, MB" broker_rss_mb 1
row "worker link, kbit/s per worker (TCP_INFO)" link_kbit_per_worker 3
row "  upstream only" link_up_kbit_per_worker 3
row "  model from packet sizes" model_kbit_per_worker 3
row "loopback total per worker, kbit/s" lo_kbit_per_worker 3
row "report to PUBACK p99, ms" puback_p99_ms 2
row "report to PUBACK max, ms" puback_max_ms 1
row "late registration (N connected), ms" late_reg_ms 1
row "  broker CPU s per late registration" late_reg_broker_cpu_s_each 3
row "  cluster CPU s per late registration" late_reg_cluster_cpu_s_each 3
row "  probe PUBACK max meanwhile, ms" late_reg_puback_max_ms 0
row "workers the cluster reports active" active_workers 0
row "cluster restart until its API answers, s" restart_seconds 1
row "GET /metrics p50, ms" metrics_p50_ms 2
row "GET /metrics p99, ms" metrics_p99_ms 2
row "GET /metrics size, KB" metrics_kb 0
