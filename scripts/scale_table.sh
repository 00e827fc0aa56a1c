#!/usr/bin/env bash
# The `scale` table: a get on an empty pool (miss), a steal, `trim` and
# `stats` with K = 0, 1, 64, 512, 2048, 4096 idle shards (live threads that
# used the pool once), and a `pooling(false)` get at K = 0 for comparison.
#
#   scripts/scale_table.sh            # writes docs/perf/scale.{md,tsv,svg}; the chart has the
#                                     # rows of docs/perf/scale-before.tsv dashed, if it exists
#   scripts/scale_table.sh --before   # writes docs/perf/scale-before.{md,tsv,svg} (keep them
#                                     # across a core change)
#
# Runs `benchmarks/examples/scale.rs` (the fixture: benchmarks/benches/scale_fixture/mod.rs),
# built with `--profile perf` (fat LTO, one codegen unit); extra arguments after
# `--` go to it (`--ks`, `--runs`, `--ms`). Needs about 4,100 threads (`ulimit -u`);
# the idle ones have 64 KiB stacks. Takes about 10 seconds after the build.
# The criterion version of the same workloads: `cargo bench -p shardpool-benchmarks --bench scale`.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
name=scale
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --before) name=scale-before ;;
    --) shift; args=("$@"); break ;;
    *) echo "scale_table.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
dir=docs/perf
out=$dir/$name.md
files=(--tsv "$dir/$name.tsv" --svg "$dir/$name.svg")
if [ $name = scale ] && [ -f $dir/scale-before.tsv ]; then
  files+=(--before $dir/scale-before.tsv)
fi
mkdir -p "$dir"
cargo build -q --profile perf -p shardpool-benchmarks --example scale
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
mem=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
{
  echo "<!-- Generated: do not edit. Rerun the command below to refresh. -->"
  echo "Command: \`scripts/scale_table.sh$([ $name = scale-before ] && echo ' --before')${args[*]:+ -- ${args[*]}}\` (runs \`scale ${files[*]}${args[*]:+ ${args[*]}}\`, built with \`--profile perf\`: fat LTO, one codegen unit). Chart: [\`$name.svg\`]($name.svg)."
  echo "Started: $(date -u '+%Y-%m-%d %H:%M UTC'). Commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benchmarks examples || echo ' (with uncommitted changes)'); the pool's code (\`src/\`) as last changed in $(git log -1 --format=%h -- src)."
  echo "Machine: ${cpu}, $(nproc) CPUs (shared with other work), ${mem}, \`ulimit -u\` $(ulimit -u), Linux $(uname -r), $(rustc -V)."
  echo
  "$target/perf/examples/scale" "${files[@]}" "${args[@]}"
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out $dir/$name.tsv $dir/$name.svg"
