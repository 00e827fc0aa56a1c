#!/usr/bin/env bash
# Prints instructions per get+put (callgrind) for the floors and for
# shardpool, on the `single` and `hold32` patterns. Counts are repeatable for
# a given binary, unlike times. Needs valgrind (apt-get install -y valgrind).
#
#   scripts/fast_path_instructions.sh         # floors vs shardpool (benchmarks/examples/fast_path_probe.rs)
#   scripts/fast_path_instructions.sh --all   # also every implementation of the benchmark
#                                             # suite on single, hold32, big, request
#                                             # (benchmarks/examples/bench_probe.rs, the suite's own code)
#   scripts/fast_path_instructions.sh --md    # markdown (docs/perf/instructions.md): the first table,
#                                             # then every suite implementation on `single`
#
# floor: a `thread_local!` `RefCell<Vec<Vec<u8>>>` used inline, pop (or
# create) -> write 64 bytes -> black_box -> clear -> push. free-list: the same
# list behind `#[inline]` get/put methods of a small struct (put clears and
# keeps at most 256), black_box(&mut v) between. floor-boxed: the floor's loop
# over Box<Vec<u8>> (one-word handles; not the floor). shardpool is
# `reset(clear).max_idle_per_thread(256)`, used as `let mut b = pool.get();
# write; black_box(&mut *b); drop(b)`. All built with `--profile perf` (fat
# LTO, one codegen unit), in the benchmarks/ workspace member so the root
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
boxed=$(per_op "$bin" floor-boxed single)
if $md; then
  echo '| pattern | implementation | instructions per get+put | ratio to floor | ratio to floor-boxed (single) |'
  echo '|---|---|--:|--:|--:|'
else
  printf '%-8s %-13s %12s %8s %12s\n' pattern impl instr/op /floor /floor-boxed
fi
for pattern in single hold32; do
  declare -A per
  impls="floor free-list pool pool-noreset"
  [ "$pattern" = single ] && impls="$impls floor-boxed"
  for impl in $impls; do
    if [ "$impl" = floor-boxed ]; then per[$impl]=$boxed; else per[$impl]=$(per_op "$bin" "$impl" "$pattern"); fi
  done
  for impl in $impls; do
    ratio=$(python3 -c "print(f'{${per[$impl]}/${per[floor]}:.2f}')")
    vs_boxed=-
    [ "$pattern" = single ] && vs_boxed=$(python3 -c "print(f'{${per[$impl]}/$boxed:.2f}x')")
    if $md; then
      name=$impl
      [ "$impl" = pool ] && name="shardpool"
      [ "$impl" = pool-noreset ] && name="shardpool, no reset hook (loop clears)"
      [ "$impl" = floor-boxed ] && name="floor-boxed (bare loop over \`Box<Vec<u8>>\`; not the floor)"
      printf '| %s | %s | %.1f | %sx | %s |\n' "$pattern" "$name" "${per[$impl]}" "$ratio" "$vs_boxed"
    else
      printf '%-8s %-13s %12.1f %8s %12s\n' "$pattern" "$impl" "${per[$impl]}" "$ratio" "$vs_boxed"
    fi
  done
done

if [ "${1:-}" = "--md" ]; then
  # Every implementation of the suite on `single` (bench_probe: the suite's
  # own loops), as markdown.
  cargo build -q --profile perf -p shardpool-benchmarks --example bench_probe
  probe="$target/perf/examples/bench_probe"
  echo
  echo '| implementation (single, bench_probe) | instructions per get+put | ratio to the floor |'
  echo '|---|--:|--:|'
  floor=""
  for impl in floor free-list shardpool floor-guard regex-automata zeropool lockfree-linear lockfree-spinlock \
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
  impls="floor free-list floor-guard shardpool shardpool-noreset fresh regex-automata opool object-pool
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
