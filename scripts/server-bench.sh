#!/usr/bin/env bash
#! Measures horao-server's goals on this machine, with the release build:
#!  1. start-up on a store holding the goal-sized model (50,000 devices, 10,000 machines,
#!     100,000 volumes, written by the horao-bench `server-fill` binary): seconds from the
#!     process start to /api/v1/health/ready answering 200, and VmRSS then — embedded store,
#!     then Redis (a redis-server with appendonly yes, appendfsync always, in a temp dir);
#!  2. GET of one volume by id with wrk on loopback (embedded store, the goal-sized model);
#!  3. acknowledged writes (POST /api/v1/datacenters, new store) with wrk: group commit, then
#!     one transaction and fsync per write (--no-group-commit).
#! Usage: scripts/server-bench.sh [SECONDS] [CONNECTIONS]   (needs wrk, redis-server, curl,
#! python3; load defaults: 10 s, 64 connections, 2 wrk threads). Prints `uptime` first.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
for tool in wrk redis-server curl python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not on PATH" >&2; exit 1; }
done
# HORAO_BENCH_NO_BUILD=1 measures the release binaries already built.
if [ -z "${HORAO_BENCH_NO_BUILD:-}" ]; then
  cargo build --release --locked -p horao-server --bin horao-server
  cargo build --release --locked -p horao-bench --bin server-fill
fi
server=target/release/horao-server
fill=target/release/server-fill
export HORAO_TOKEN=bench-admin-token

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]+"${pids[@]}"}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server NAME ARGS...: starts the daemon, waits for ready, prints the time and VmRSS.
start_server() {
  local name=$1; shift
  port=$(free_port)
  local t0; t0=$(date +%s.%N)
  HORAO_ADMIN_TOKEN=$HORAO_TOKEN RUST_LOG=warn "$server" --listen "127.0.0.1:$port" "$@" \
    2>"$work/$name.log" &
  server_pid=$!
  pids+=("$server_pid")
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/health/ready")" = 200 ]; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
    sleep 0.01
  done
  local t1; t1=$(date +%s.%N)
  local rss; rss=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
  echo "$name: ready in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s, VmRSS $((rss / 1024)) MiB"
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
}

echo "load before: $(uptime)"

# 1 and 2: the embedded store.
"$fill" --data-dir "$work/embedded"
start_server "start-up embedded" --data-dir "$work/embedded"
vol=$(curl -s -H "Authorization: Bearer $HORAO_TOKEN" "http://127.0.0.1:$port/api/v1/volumes?limit=1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
echo "GET /api/v1/volumes/$vol: wrk -t2 -c$conns -d${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" -H "Authorization: Bearer $HORAO_TOKEN" \
  "http://127.0.0.1:$port/api/v1/volumes/$vol"
stop_server

# 1: Redis.
mkdir -p "$work/redis"
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes \
  --appendfsync always --save "" --daemonize no --logfile "$work/redis/redis.log" &
pids+=($!)
until redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; do sleep 0.05; done
"$fill" --redis "redis://127.0.0.1:$redis_port/0"
start_server "start-up redis" --redis "redis://127.0.0.1:$redis_port/0"
stop_server

# 3: writes, with and without group commit, each on a new embedded store.
for mode in group-commit no-group-commit; do
  extra=()
  [ "$mode" = no-group-commit ] && extra=(--no-group-commit)
  start_server "writes $mode" --data-dir "$work/writes-$mode" "${extra[@]+"${extra[@]}"}"
  echo "POST /api/v1/datacenters ($mode): wrk -t2 -c$conns -d${secs}s"
  wrk -t2 -c"$conns" -d"${secs}s" -s scripts/wrk/post-datacenters.lua "http://127.0.0.1:$port"
  stop_server
done
echo "load after: $(uptime)"
