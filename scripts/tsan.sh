#!/usr/bin/env bash
# Runs the multi-thread stress tests (tests/stress.rs: get/put/steal/trim/
# get_owned/thread churn on many threads at once) and the fault-injection
# proptest (tests/it/fault_injection.rs: callbacks that panic or re-enter on
# several threads) under ThreadSanitizer, with std rebuilt instrumented
# (-Zbuild-std) and no suppressions: any report fails the run. (tests/it/fuzz_regressions.rs is left out: it runs one operation at a
# time, handed over through channels, so there is nothing for TSan to race.)
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add rust-src --toolchain nightly

target=x86_64-unknown-linux-gnu
export RUSTFLAGS="${RUSTFLAGS:-} -Zsanitizer=thread"
export RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -Zsanitizer=thread"
# halt_on_error: the first race fails the test binary; exitcode makes it loud.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/tsan"

start=$SECONDS
cargo +nightly test -Zbuild-std --target "$target" --test stress --test it --no-run
echo "== tsan build: $((SECONDS - start)) s"
start=$SECONDS
cargo +nightly test -Zbuild-std --target "$target" --test stress
cargo +nightly test -Zbuild-std --target "$target" --test it fault_injection
echo "== tsan run: $((SECONDS - start)) s"
