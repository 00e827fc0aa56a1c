#!/usr/bin/env bash
# Miri over the library's unit tests and the integration tests that make sense
# under Miri (their iteration counts are reduced under cfg(miri)):
#   1. with -Zmiri-strict-provenance (Stacked Borrows, the default model);
#   2. with -Zmiri-strict-provenance -Zmiri-tree-borrows, on a smaller subset.
# Not run under Miri: the example server's tests (server/tests/, another
# package: sockets and an async runtime, not the pool's unsafe code);
# tests/metrics.rs, tests/pressure.rs, tests/release.rs and
# tests/production.rs (a recorder, the trimmer thread's wall-clock waits,
# glibc, child processes: no unsafe code of ours); tests/memory.rs (it
# measures the process's heap); the trybuild compile-fail test in
# tests/it/auto_traits.rs (it runs rustc); and the loom models (they need
# --cfg shardpool_loom; scripts/loom.sh runs them).
# tests/it/ is the light integration tests in one binary; under Miri its
# buffer_pool module runs with sizes and case counts scaled down (about 35 s),
# fault_injection with 2 short cases, and the scenarios that re-execute the
# test binary in a child process natively run in-process (Miri runs one test
# at a time).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add miri rust-src --toolchain nightly
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/miri"
cargo +nightly miri setup

# Integration tests run under Miri; keep each one's Miri time in seconds, not
# minutes (see `cfg!(miri)` in them).
tests=(--test it --test stress)
# The Tree Borrows leg: the unit tests, and the one stress configuration that
# goes through every unsafe path (private stacks, shared rings on every
# overflow since its private stack holds one, steals, exit hooks, owned guards).
tree_tests=(--test stress -- --skip stress_defaults --skip stress_small_shards)
# ...and the smoke test from tests/it (a filter, so it runs on its own).
tree_smoke=(--test it -- smoke::)

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
MIRIFLAGS="-Zmiri-strict-provenance -Zmiri-tree-borrows" \
  timed "miri tree borrows (smoke)" cargo +nightly miri test --no-fail-fast "${tree_smoke[@]}"
# The `bytes` feature's `into_bytes` (tests/it/bytes.rs), under both models.
for flags in "" " -Zmiri-tree-borrows"; do
  MIRIFLAGS="-Zmiri-strict-provenance$flags" timed "miri bytes feature" \
    cargo +nightly miri test --no-fail-fast --features bytes --test it -- bytes::
done
exit "$status"
