#!/usr/bin/env bash
# Prints instructions per get+put (callgrind) for the floor and for shardpool,
# on the `single` and `hold32` patterns. Counts are repeatable for a given
# binary, unlike times. Needs valgrind (apt-get install -y valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --example fast_path_probe
bin=target/release/examples/fast_path_probe
count() { # which pattern n -> total instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
small=20000; big=220000
printf '%-8s %-13s %12s %8s\n' pattern impl instr/op ratio
for pattern in single hold32; do
  declare -A per
  for impl in floor pool pool-noreset; do
    a=$(count "$impl" "$pattern" $small); b=$(count "$impl" "$pattern" $big)
    # The difference between two run lengths cancels start-up and first-touch costs.
    per[$impl]=$(python3 -c "print(($b-$a)/($big-$small))")
  done
  for impl in floor pool pool-noreset; do
    printf '%-8s %-13s %12.1f %8.2f\n' "$pattern" "$impl" "${per[$impl]}" \
      "$(python3 -c "print(${per[$impl]}/${per[floor]})")"
  done
done
