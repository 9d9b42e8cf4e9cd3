#!/usr/bin/env bash
#! Kills a process that commits to a store with kill -9 in the middle of a stream of writes,
#! 20 times per store (embedded, and Redis — whose server is killed with it and restarted on
#! the same directory; it runs with appendonly yes and appendfsync always, the configuration
#! the Redis store asks for), and checks after each kill that every acknowledged commit is
#! stored intact. Prints the number of lost writes per store; exits non-zero if any was lost.
#! Usage: scripts/kill9-store.sh [ROUNDS]   (needs redis-server on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-20}
command -v redis-server >/dev/null || { echo "error: redis-server is not on PATH (Debian package redis-server)" >&2; exit 1; }

cargo build --release --locked -p horao-server --example store-stress
bin=target/release/examples/store-stress

work=$(mktemp -d)
redis_pid=
cleanup() {
  [ -n "$redis_pid" ] && kill -9 "$redis_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_redis() {
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes --appendfsync always \
    --save "" --daemonize no --logfile "$work/redis/redis.log" >/dev/null 2>&1 &
  redis_pid=$!
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$redis_port" && printf 'PING\r\n' >&3 && head -c 7 <&3 | grep -q PONG) 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "error: redis-server did not start; log:" >&2
  cat "$work/redis/redis.log" >&2
  exit 1
}

# A random delay between 0.3 and 2.0 s, so kills land at different points of the stream
# (during group commits, snapshots and, for Redis, its own writes).
delay() { awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.3 + (r % 171) / 100 }'; }

failed=0
for store in embedded redis; do
  : >"$work/acked-$store"
  case $store in
    embedded) target=(--embedded "$work/embedded") ;;
    redis)
      mkdir -p "$work/redis"
      redis_port=$(free_port)
      start_redis
      target=(--redis "redis://127.0.0.1:$redis_port/0")
      ;;
  esac
  lost_total=0
  for round in $(seq 1 "$rounds"); do
    "$bin" write "${target[@]}" --run "$round" --writers 8 --snapshot-every 1500 \
      >>"$work/acked-$store" 2>"$work/write-$store.err" &
    writer=$!
    sleep "$(delay)"
    kill -9 "$writer"
    if [ "$store" = redis ]; then
      kill -9 "$redis_pid"
    fi
    wait "$writer" 2>/dev/null || true
    if [ "$store" = redis ]; then
      wait "$redis_pid" 2>/dev/null || true
      start_redis
    fi
    # A torn last line must not glue onto the next round's first one.
    [ -s "$work/acked-$store" ] && [ "$(tail -c 1 "$work/acked-$store")" != "" ] && echo >>"$work/acked-$store"
    if report=$("$bin" verify "${target[@]}" --acked "$work/acked-$store" 2>"$work/verify.err"); then
      lost=0
    else
      lost=$(sed -n 's/.* \([0-9]*\) acknowledged commits lost.*/\1/p' "$work/verify.err")
      lost=${lost:-1}
      cat "$work/verify.err" >&2
    fi
    echo "$store round $round: $report"
    lost_total=$((lost_total + lost))
  done
  echo "$store: $rounds kills, lost acknowledged writes: $lost_total"
  [ "$lost_total" -eq 0 ] || failed=1
  if [ "$store" = redis ]; then kill -9 "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; redis_pid=; fi
done
exit "$failed"
