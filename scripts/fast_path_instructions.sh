#!/usr/bin/env bash
# Prints instructions per get+put (callgrind) for the floor and for shardpool,
# on the `single` and `hold32` patterns of issue 11. Counts are repeatable for
# a given binary, unlike times. Needs valgrind (apt-get install -y valgrind).
#
#   scripts/fast_path_instructions.sh         # floor vs shardpool (benchmarks/examples/fast_path_probe.rs)
#   scripts/fast_path_instructions.sh --all   # also every implementation of the benchmark
#                                             # suite on single, hold32, big, request
#                                             # (benchmarks/examples/bench_probe.rs, the suite's own code)
#   scripts/fast_path_instructions.sh --md    # markdown (docs/perf/instructions.md): the first table,
#                                             # then every suite implementation on `single`
#
# The floor is the bare loop: a `thread_local!` `RefCell<Vec<Vec<u8>>>`, pop
# (or create) -> write 64 bytes -> black_box -> clear -> push. shardpool is
# `reset(clear).max_idle_per_thread(256)`, used as `let mut b = pool.get();
# write; black_box(&mut *b); drop(b)`. Both are built with `--profile perf`
# (fat LTO, one codegen unit), in the benchmarks/ workspace member so the root
# crate's dev-dependencies stay light.
#
# Instruction counts are not times: an uncontended atomic read-modify-write is
# one instruction but ~20 cycles, and a failed store-to-load forward costs
# cycles without instructions. Read them next to the timed tables.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build -q --profile perf -p shardpool-benchmarks --example fast_path_probe
bin="$target/perf/examples/fast_path_probe"
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
md=false
[ "${1:-}" = "--md" ] && md=true
if $md; then
  echo '| pattern | implementation | instructions per get+put | ratio to the floor |'
  echo '|---|---|--:|--:|'
else
  printf '%-8s %-13s %12s %8s\n' pattern impl instr/op ratio
fi
for pattern in single hold32; do
  declare -A per
  for impl in floor pool pool-noreset; do
    per[$impl]=$(per_op "$bin" "$impl" "$pattern")
  done
  for impl in floor pool pool-noreset; do
    ratio=$(python3 -c "print(f'{${per[$impl]}/${per[floor]}:.2f}')")
    if $md; then
      name=$impl
      [ "$impl" = pool ] && name="shardpool"
      [ "$impl" = pool-noreset ] && name="shardpool, no reset hook (loop clears)"
      printf '| %s | %s | %.1f | %sx |\n' "$pattern" "$name" "${per[$impl]}" "$ratio"
    else
      printf '%-8s %-13s %12.1f %8s\n' "$pattern" "$impl" "${per[$impl]}" "$ratio"
    fi
  done
done
# Not the floor: the same bare loop over Box<Vec<u8>> (one-word handles).
boxed=$(per_op "$bin" floor-boxed single)
floor1=$(per_op "$bin" floor single)
ratio=$(python3 -c "print(f'{$boxed/$floor1:.2f}')")
if $md; then
  printf '| single | floor-boxed (bare loop over `Box<Vec<u8>>`; not the floor) | %.1f | %sx |\n' "$boxed" "$ratio"
else
  printf '%-8s %-13s %12.1f %8s\n' single floor-boxed "$boxed" "$ratio"
fi

if [ "${1:-}" = "--md" ]; then
  # Every implementation of the suite on `single` (bench_probe: the suite's
  # own loops), as markdown.
  cargo build -q --profile perf -p shardpool-benchmarks --example bench_probe
  probe="$target/perf/examples/bench_probe"
  echo
  echo '| implementation (single, bench_probe) | instructions per get+put | ratio to the floor |'
  echo '|---|--:|--:|'
  floor=""
  for impl in floor shardpool floor-guard regex-automata zeropool lockfree-linear lockfree-spinlock \
    opool object-pool arrayqueue mutex-vec fresh; do
    n=$(per_op "$probe" "$impl" single)
    floor=${floor:-$n}
    printf '| %s | %.1f | %sx |\n' "$impl" "$n" "$(python3 -c "print(f'{$n/$floor:.2f}')")"
  done
fi

if [ "${1:-}" = "--all" ]; then
  cargo build -q --profile perf -p shardpool-benchmarks --example bench_probe
  probe="$target/perf/examples/bench_probe"
  echo
  echo "bench_probe (the suite's workloads): instructions per get+put, ratio to the floor"
  printf '%-9s %-18s %12s %8s\n' workload impl instr/op ratio
  impls="floor floor-guard shardpool shardpool-noreset fresh regex-automata opool object-pool
         lockfree-linear lockfree-spinlock mutex-vec arrayqueue zeropool"
  for pattern in single hold32 big request; do
    floor=""
    for impl in $impls; do
      case "$pattern/$impl" in request/zeropool) continue ;; esac
      n=$(per_op "$probe" "$impl" "$pattern")
      floor=${floor:-$n}
      printf '%-9s %-18s %12.1f %8.2f\n' "$pattern" "$impl" "$n" "$(python3 -c "print($n/$floor)")"
    done
  done
fi
