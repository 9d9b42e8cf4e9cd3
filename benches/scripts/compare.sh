#!/usr/bin/env bash
#! Side-by-side comparison of horao-pack with the tools a user would pick instead: the Python
#! `binpacking` package and OR-Tools CP-SAT (time-limited), on the same BPPLIB instances.
#! Run by hand (not in CI):  benches/scripts/compare.sh [INSTANCE_DIR_OR_FILE...]
#! Environment: CPSAT_SECONDS (default 2) per-instance CP-SAT limit, VENV (default
#! /tmp/horao-compare-venv), BOUNDS (default ../shared/data/bpplib/bounds.tsv).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-/tmp/horao-compare-venv}
DATA=${DATA:-../shared/data/bpplib}
BOUNDS=${BOUNDS:-$DATA/bounds.tsv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q binpacking ortools
fi
[ $# -eq 0 ] && set -- "$DATA/instances/Falkenauer" "$DATA/instances/Hard28"
cargo build -q --release -p horao-bench --bin horao-pack
BIN=${CARGO_TARGET_DIR:-target}/release/horao-pack
OUT=$(mktemp)
"$BIN" --json -a ffd -a local-search --bounds "$BOUNDS" "$@" > "$OUT" || true
"$VENV/bin/python" benches/scripts/compare.py --horao "$OUT" --bounds "$BOUNDS" \
  --cpsat-seconds "${CPSAT_SECONDS:-2}" "$@"
