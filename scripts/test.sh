#!/usr/bin/env bash
#! The one command that runs every HORAO test on a fresh machine (README: "Run all tests").
#! It installs the system packages the tests need when it runs as root with apt, and otherwise
#! stops with a message naming them. CI (.ci/run) calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the test suite needs, as "command:debian-package" pairs. The pure crates
# need none; horao-agent's integration tests make btrfs filesystems in image files and
# loop-mount them (btrfs-progs; mount and umount from util-linux's mount package).
# horao-server's store tests start a real Redis on a free loopback port (redis-server).
REQUIRED=(
  btrfs:btrfs-progs
  mkfs.btrfs:btrfs-progs
  mount:mount
  umount:mount
  redis-server:redis-server
)

missing=()
for pair in "${REQUIRED[@]+"${REQUIRED[@]}"}"; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  # Several commands come from one package: name each package once.
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "error: the tests need these system packages: ${missing[*]}" >&2
    echo "install them (e.g. apt-get install ${missing[*]}) or run this script as root" >&2
    exit 1
  fi
fi

# Property tests: at least 1,000 cases per law unless the caller asks for more.
export PROPTEST_CASES="${PROPTEST_CASES:-1000}"

# The pure crates must stay pure (no I/O crates in their trees, no clock or global RNG).
bash scripts/check-pure.sh

# Release builds: the property and simulation suites are CPU-heavy.
cargo test --workspace --release --locked

# Benches never rot: run every criterion bench once in test mode.
cargo bench --workspace --locked -- --test
