#!/usr/bin/env bash
#! Kills the real horao-server process with kill -9 in the middle of a stream of acknowledged
#! HTTP writes (POST datacenters and volumes from 8 concurrent clients), 20 times per store
#! (embedded, and Redis on a real redis-server with appendonly yes and appendfsync always,
#! killed with the daemon), restarting it on the same data each time and checking that every
#! acknowledged write reads back exactly as acknowledged and nothing is half-applied (every
#! volume placed, each machine's reserved bytes equal to its volumes' quotas). Prints the lost
#! count per store; exits non-zero if any acknowledged write was lost.
#! Usage: scripts/kill9-server.sh [ROUNDS]   (needs redis-server on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-20}
command -v redis-server >/dev/null || { echo "error: redis-server is not on PATH (Debian package redis-server)" >&2; exit 1; }

cargo build --release --locked -p horao-server --bin horao-server --example kill9-server
failed=0
for store in embedded redis; do
  target/release/examples/kill9-server --bin target/release/horao-server --store "$store" --rounds "$rounds" || failed=1
done
exit "$failed"
