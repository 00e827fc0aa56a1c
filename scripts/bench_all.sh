#!/usr/bin/env bash
# The full benchmark suite in one command, then a summary and charts.
#
#   scripts/bench_all.sh             # everything (see below for how long)
#   scripts/bench_all.sh 'handoff'   # only groups/functions matching a criterion filter
#
# Runs, in order:
#   suite_sys       every workload x every implementation, system allocator
#   suite_mimalloc  the floor and fresh allocation with mimalloc (v3, the crate's default)
#   mimalloc_v2     the same with mimalloc v2 (separate package: benchmarks/mimalloc_v2)
#   suite_jemalloc  the same with jemalloc
#   memory          bytes held after 2 x 150k handoff items, per implementation
#   scale           miss, steal, trim and stats with 0..4096 idle shards (criterion only;
#                   the table and chart: scripts/scale_table.sh)
# then `benchmarks/examples/bench_report.rs`, which writes
#   $CARGO_TARGET_DIR/bench-report/summary.md   (markdown tables, targets)
#   docs/perf/workloads.svg, docs/perf/scaling.svg
#
# Criterion results go to $CARGO_TARGET_DIR/bench-report/criterion (wiped at the
# start, so the summary holds this run only). Per-benchmark time is set by
# BENCH_WARMUP (s, default 0.2), BENCH_TIME (s, default 0.5), BENCH_SAMPLES
# (default 15); the defaults keep the whole run under 15 minutes on the 2-core
# development VM. Timings on a shared machine are noisy: compare ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$root/$CARGO_TARGET_DIR" ;; esac
report="$CARGO_TARGET_DIR/bench-report"
export CRITERION_HOME="$report/criterion"
filter=("$@")
crit_args=(--warm-up-time "${BENCH_WARMUP:-0.2}" --measurement-time "${BENCH_TIME:-0.5}"
  --sample-size "${BENCH_SAMPLES:-15}" --noplot)

start=$(date +%s)
stamp() { printf '[bench_all %4ds] %s\n' $(($(date +%s) - start)) "$*" >&2; }

stamp "building (release)"
cargo bench --no-run -q -p shardpool-benchmarks --bench suite_sys --bench suite_mimalloc --bench suite_jemalloc --bench memory --bench scale
cargo bench --no-run -q --manifest-path benchmarks/mimalloc_v2/Cargo.toml
cargo build -q --release -p shardpool-benchmarks --example bench_report
built=$(date +%s)

rm -rf "$report"
mkdir -p "$report"
run() { # name, cargo args...
  local name=$1
  shift
  stamp "running $name"
  cargo bench -q "$@" -- "${crit_args[@]}" "${filter[@]}" 2>&1 |
    grep -vE '^(Benchmarking|Found [0-9]+ outliers|  [0-9]+ \([0-9.]+%\)|\s*$)' || true
}
run suite_sys -p shardpool-benchmarks --bench suite_sys
run suite_mimalloc -p shardpool-benchmarks --bench suite_mimalloc
run mimalloc_v2 --manifest-path benchmarks/mimalloc_v2/Cargo.toml
run suite_jemalloc -p shardpool-benchmarks --bench suite_jemalloc
# The scale bench spawns its 4096 idle threads whatever the filter; skip it
# unless asked for.
if [ ${#filter[@]} -eq 0 ] || [[ "${filter[*]}" == *scale* ]]; then
  run scale -p shardpool-benchmarks --bench scale
fi
if [ ${#filter[@]} -eq 0 ]; then
  stamp "running memory"
  cargo bench -q -p shardpool-benchmarks --bench memory >/dev/null
fi

stamp "writing the report"
"$CARGO_TARGET_DIR/release/examples/bench_report" --criterion "$CRITERION_HOME" --out "$report" \
  --svg docs/perf >/dev/null
end=$(date +%s)
stamp "done: build $((built - start))s, benchmarks $((end - built))s"
echo "summary: $report/summary.md"
echo "charts:  docs/perf/workloads.svg docs/perf/scaling.svg"
