#!/usr/bin/env bash
# Prints instructions per get+put (callgrind) for the floor and for shardpool,
# on the `single` and `hold32` patterns. Counts are repeatable for a given
# binary, unlike times. Needs valgrind (apt-get install -y valgrind).
#
#   scripts/fast_path_instructions.sh         # floor vs shardpool (examples/fast_path_probe.rs)
#   scripts/fast_path_instructions.sh --all   # also every implementation of the benchmark
#                                             # suite on single, hold32, request
#                                             # (benchmarks/examples/bench_probe.rs, the suite's own code)
#
# Instruction counts are not times: an uncontended atomic read-modify-write is
# one instruction but ~20 cycles, and a failed store-to-load forward costs
# cycles without instructions. Read them next to the criterion numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build -q --release --example fast_path_probe
bin="$target/release/examples/fast_path_probe"
count() { # binary args... -> total instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
small=20000
big=220000
# The difference between two run lengths cancels start-up and first-touch costs.
per_op() { # binary impl pattern -> instructions per op
  local a b
  a=$(count "$1" "$2" "$3" $small)
  b=$(count "$1" "$2" "$3" $big)
  python3 -c "print(($b-$a)/($big-$small))"
}
printf '%-8s %-13s %12s %8s\n' pattern impl instr/op ratio
for pattern in single hold32; do
  declare -A per
  for impl in floor pool pool-noreset; do
    per[$impl]=$(per_op "$bin" "$impl" "$pattern")
  done
  for impl in floor pool pool-noreset; do
    printf '%-8s %-13s %12.1f %8.2f\n' "$pattern" "$impl" "${per[$impl]}" \
      "$(python3 -c "print(${per[$impl]}/${per[floor]})")"
  done
done

if [ "${1:-}" = "--all" ]; then
  cargo build -q --release -p shardpool-benchmarks --example bench_probe
  probe="$target/release/examples/bench_probe"
  echo
  echo "bench_probe (the suite's workloads): instructions per get+put, ratio to the floor"
  printf '%-9s %-18s %12s %8s\n' workload impl instr/op ratio
  impls="floor floor-guard shardpool shardpool-recycle fresh regex-automata opool object-pool
         lockfree-linear lockfree-spinlock mutex-vec arrayqueue zeropool"
  for pattern in single hold32 request; do
    floor=""
    for impl in $impls; do
      case "$pattern/$impl" in request/zeropool | request/shardpool-recycle) continue ;; esac
      n=$(per_op "$probe" "$impl" "$pattern")
      floor=${floor:-$n}
      printf '%-9s %-18s %12.1f %8.2f\n' "$pattern" "$impl" "$n" "$(python3 -c "print($n/$floor)")"
    done
  done
fi
