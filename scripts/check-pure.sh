#!/usr/bin/env bash
#! Checks the architecture invariant of the pure crates (horao-crdt, horao-model, horao-sched):
#! no I/O, async or OS-randomness crates in their normal dependency trees, and no clock, global
#! RNG, thread, file or socket use in their sources.
set -euo pipefail
cd "$(dirname "$0")/.."

PURE=(horao-crdt horao-model horao-sched)
FORBIDDEN_CRATES='^(tokio|axum|redis|reqwest|hyper|mio|socket2|async-std|smol|getrandom|tower|tungstenite|tokio-tungstenite)$'
FORBIDDEN_CODE='std::fs|std::net|std::thread|std::process|SystemTime|Instant::now|thread_rng|rand::rng\(|rand::random|OsRng|getrandom|tokio::'

status=0
for crate in "${PURE[@]}"; do
  [ -d "$crate" ] || continue
  deps=$(cargo tree --locked -p "$crate" -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
  bad=$(printf '%s\n' "$deps" | grep -E "$FORBIDDEN_CRATES" || true)
  if [ -n "$bad" ]; then
    echo "error: $crate depends on I/O or OS-randomness crates: $(echo $bad)" >&2
    status=1
  fi
  hits=$(grep -rnE "$FORBIDDEN_CODE" "$crate/src" | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
  if [ -n "$hits" ]; then
    echo "error: $crate reads a clock, a global RNG, or does I/O:" >&2
    echo "$hits" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "check-pure: ${PURE[*]} are pure"
exit $status
