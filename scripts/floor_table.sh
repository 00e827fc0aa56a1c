#!/usr/bin/env bash
# The floor side by side: the two bare free-list loops (`floor`, inline; and
# `free-list`, behind `#[inline]` get/put methods of a small struct), with
# floor-boxed and shardpool (and regex-automata's pool where the harness has
# peers), in each harness that reports a floor, one run each:
#
#   1. floor_check   the free list written out literally next to the suite's
#                    generic loops, interleaved rounds, median of same-round ratios
#   2. compare       examples/compare.rs (single, parallel 2 and 8, hold32, hold32x2)
#   3. fast_path     cargo bench --bench fast_path (criterion; the floors and shardpool)
#   4. suite_sys     the suite's criterion groups single/parallel2/oversub8/hold32/hold32x2
#   5. perf_tables   the tables of docs/performance.md, same five workloads
#   6. callgrind     scripts/fast_path_instructions.sh (instructions, not time)
#
#   scripts/floor_table.sh            # writes docs/perf/floors.md (about 10 minutes with the builds)
#
# Every binary is built with `--profile perf` (fat LTO, one codegen unit),
# except the criterion benches, which use the bench profile (release).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
out=docs/perf/floors.md
crit="$target/floor-table-criterion"
rm -rf "$crit"
mkdir -p "$crit"

cargo build -q --profile perf -p shardpool-benchmarks --example floor_check --example perf_tables
cargo build -q --profile perf --example compare
cargo bench -q --bench fast_path --no-run
cargo bench -q -p shardpool-benchmarks --bench suite_sys --no-run

criterion_table() { # dir of criterion results -> markdown: group, function, median ns
  python3 - "$1" <<'PY'
import json, os, sys
rows = {}
for dirpath, _, files in os.walk(sys.argv[1]):
    if "estimates.json" in files and os.path.basename(dirpath) == "new":
        bench = json.load(open(os.path.join(dirpath, "benchmark.json")))
        est = json.load(open(os.path.join(dirpath, "estimates.json")))
        rows.setdefault(bench["group_id"], {})[bench["function_id"]] = est["median"]["point_estimate"]
order = ["single", "parallel2", "threads8", "oversub8", "hold32", "hold32x2"]
names = ["floor", "free-list", "floor-boxed", "floor-guard", "shardpool", "regex-automata"]
names = [n for n in names if any(n in r for r in rows.values())]
print("| workload | " + " | ".join(f"{n} ns" for n in names) + " | floor / free-list | shardpool / faster floor |")
print("|---|" + "--:|" * (len(names) + 2))
for g in sorted(rows, key=lambda g: order.index(g) if g in order else 99):
    r = rows[g]
    cells = [f"{r[n]:.1f}" if n in r else "-" for n in names]
    floor = min(r[n] for n in ("floor", "free-list") if n in r)
    print(f"| {g} | " + " | ".join(cells) + f" | {r['floor'] / r['free-list']:.2f}x | {r['shardpool'] / floor:.2f}x |")
PY
}

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
{
  echo "<!-- Generated: do not edit. Rerun the command below to refresh. -->"
  echo "Command: \`scripts/floor_table.sh\`."
  echo "Started: $(date -u '+%Y-%m-%d %H:%M UTC'). Commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benchmarks examples benches || echo ' (with uncommitted changes)'); src/ last changed in $(git log -1 --format=%h -- src)."
  echo "Machine: ${cpu}, $(nproc) CPUs (shared with other work), Linux $(uname -r), $(rustc -V)."
  echo
  echo "\`floor\`: the \`thread_local!\` \`RefCell<Vec<Vec<u8>>>\` used inline (pop or create, write 64 B,"
  echo "\`black_box\` of the bytes, \`clear\`, push). \`free-list\`: the same list behind \`#[inline]\` \`get\`"
  echo "(pop or create) and \`put\` (\`clear\`, push if fewer than 256) methods of a small struct, with"
  echo "\`black_box(&mut v)\` between. Every harness that reports a floor now takes the faster of the two."
  echo
  echo "## 1. floor_check (\`floor_check --rounds 21\`)"
  echo
  "$target/perf/examples/floor_check" --rounds 21 2>/dev/null
  echo
  echo "## 2. compare (\`compare --workloads single,parallel,hold32,hold32x2 --threads 2,8\`)"
  echo
  echo '```text'
  "$target/perf/examples/compare" --workloads single,parallel,hold32,hold32x2 --threads 2,8 2>/dev/null |
    sed -n '/^workload/,/^$/{/^$/!p}'
  echo '```'
  echo
  echo "## 3. fast_path (\`cargo bench --bench fast_path\`, criterion median)"
  echo
  CRITERION_HOME="$crit/fast_path" cargo bench -q --bench fast_path -- --noplot >/dev/null 2>&1
  criterion_table "$crit/fast_path"
  echo
  echo "## 4. suite_sys (\`cargo bench -p shardpool-benchmarks --bench suite_sys -- '^(single|parallel2|oversub8|hold32|hold32x2)/(floor|free-list|floor-boxed|shardpool|regex-automata)\$'\`, criterion median)"
  echo
  CRITERION_HOME="$crit/suite" cargo bench -q -p shardpool-benchmarks --bench suite_sys -- --noplot \
    '^(single|parallel2|oversub8|hold32|hold32x2)/(floor|free-list|floor-boxed|shardpool|regex-automata)$' >/dev/null 2>&1
  criterion_table "$crit/suite"
  echo
  echo "## 5. perf_tables (\`perf_tables --workloads single,parallel2,threads8,hold32,hold32x2\`)"
  echo
  "$target/perf/examples/perf_tables" --workloads single,parallel2,threads8,hold32,hold32x2 2>/dev/null
  echo
  echo "## 6. Instructions (\`scripts/fast_path_instructions.sh\`, callgrind)"
  echo
  echo '```text'
  scripts/fast_path_instructions.sh
  echo '```'
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
