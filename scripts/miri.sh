#!/usr/bin/env bash
# Miri over the library's unit tests and the integration tests that make sense
# under Miri (their iteration counts are reduced under cfg(miri)):
#   1. with -Zmiri-strict-provenance (Stacked Borrows, the default model);
#   2. with -Zmiri-strict-provenance -Zmiri-tree-borrows, on a smaller subset.
# Not run under Miri: the example server's tests (server/tests/, another
# package: sockets and an async runtime, not the pool's unsafe code); the
# trybuild compile-fail test in tests/send_sync.rs (it runs rustc); and the
# loom models (they need --cfg shardpool_loom; scripts/loom.sh runs them).
# tests/buffer_pool.rs runs with its sizes and case counts scaled down under
# Miri (about 35 s).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add miri rust-src --toolchain nightly
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/miri"
cargo +nightly miri setup

# Integration tests run under Miri; keep each one's Miri time in seconds, not
# minutes (see `cfg!(miri)` in them).
tests=(--test smoke --test stress --test fuzz_regressions --test faults --test invariants
  --test policy --test send_sync --test stats --test trim --test buffer_pool)
# The Tree Borrows leg: the unit tests, and the one stress configuration that
# goes through every unsafe path (private stacks, shared rings on every
# overflow since its private stack holds one, steals, exit hooks, owned guards).
tree_tests=(--test smoke --test stress -- --skip stress_defaults --skip stress_small_shards)

status=0
timed() { # label, command... (runs on after a failure, so every run is timed)
  local label=$1 start=$SECONDS rc=0
  shift
  echo "== $label: MIRIFLAGS=$MIRIFLAGS"
  "$@" || rc=$?
  echo "== $label: $((SECONDS - start)) s, exit $rc"
  if [ "$rc" -ne 0 ]; then status=$rc; fi
}

MIRIFLAGS="-Zmiri-strict-provenance" \
  timed "miri strict provenance" cargo +nightly miri test --no-fail-fast --lib "${tests[@]}"
MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-tree-borrows" \
  timed "miri tree borrows" cargo +nightly miri test --no-fail-fast --lib "${tree_tests[@]}"
exit "$status"
