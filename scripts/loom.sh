#!/usr/bin/env bash
# Runs the loom models (src/tests/loom_*.rs) in release mode with debug
# assertions, printing how many interleavings each explored and how long it
# took. LOOM_MAX_PREEMPTIONS defaults to 2. Arguments are test-name filters
# (default: every model).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} --cfg shardpool_loom"
export CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/loom"
[ $# -gt 0 ] || set -- loom
cargo test --release --lib -- --test-threads=1 --nocapture "$@"
