#!/usr/bin/env bash
# Builds the cargo-fuzz target and fuzzes it for FUZZ_SECS seconds (default 60),
# seeded with fuzz/regressions/ (hand-written seeds and minimized crashes).
# Fails on any crash; a crash leaves its input in fuzz/artifacts/pool_ops/.
# Minimize one with `cargo +nightly fuzz tmin pool_ops <file>`, copy it into
# fuzz/regressions/, and `cargo test --test it fuzz_regressions` replays it.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${FUZZ_SECS:-60}"
# Its own target dir (gitignored): sharing one with the root crate's builds
# would make them rebuild each other (different RUSTFLAGS, same crate).
export CARGO_TARGET_DIR="$PWD/target"

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

start=$SECONDS
cargo +nightly fuzz build pool_ops
echo "== fuzz build: $((SECONDS - start)) s"

# libFuzzer adds what it discovers to the first directory, reads both.
mkdir -p corpus/pool_ops
start=$SECONDS
rc=0
cargo +nightly fuzz run pool_ops corpus/pool_ops regressions -- \
  -max_total_time="$secs" -max_len=1027 -timeout=30 -print_final_stats=1 || rc=$?
echo "== fuzz run (${secs} s budget): $((SECONDS - start)) s, exit $rc"
exit "$rc"
