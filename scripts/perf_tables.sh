#!/usr/bin/env bash
# Writes every generated table of docs/performance.md into docs/perf/:
#
#   scripts/perf_tables.sh            # everything below (~3 minutes of runs after the build)
#   scripts/perf_tables.sh --before   # only docs/perf/fastpath-before.{md,tsv}: the fast-path
#                                     # workloads (single, parallel2, threads8, hold32, hold32x2,
#                                     # handoff) with every peer, and the callgrind counts, to
#                                     # keep across a core change
#   scripts/perf_tables.sh --instructions  # only docs/perf/instructions.md (callgrind, ~1 minute)
#
#   docs/perf/tables.md          perf_tables: 8 workloads x (floor, shardpool, every peer,
#                                fresh allocation with the system allocator)
#   docs/perf/alloc_jemalloc.md  perf_tables_jemalloc: floor, shardpool, fresh with jemalloc
#   docs/perf/alloc_mimalloc.md  perf_tables_mimalloc: the same with mimalloc
#   docs/perf/instructions.md    scripts/fast_path_instructions.sh --md (callgrind)
#   docs/perf/before_after.md    the fast-path workloads from fastpath-before.tsv next to this run's
#   docs/perf/runs/*.tsv         every full run's numbers (kept; delete them when the code changes)
#   docs/perf/spread.md          shardpool's ratios in every kept run, and their median
#
# Every file starts with the command that wrote it, the date, the commit and
# the machine. The binaries are built with `--profile perf` (fat LTO, one
# codegen unit). Timings on a shared machine are noisy: each table's ratios
# come from one run, with the implementations interleaved.
# PERF_MS and PERF_ROUNDS set the slice length and count (default 20, 15).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
out=docs/perf
mkdir -p "$out"
ms=${PERF_MS:-20}
rounds=${PERF_ROUNDS:-15}
args=(--ms "$ms" --rounds "$rounds")

cargo build -q --profile perf -p shardpool-benchmarks \
  --example perf_tables --example perf_tables_jemalloc --example perf_tables_mimalloc
bin="$target/perf/examples"

header() { # command -> the header of a generated file
  local cpu
  cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
  echo "<!-- Generated: do not edit. Rerun the command below to refresh. -->"
  echo "Command: \`$1\` (from \`scripts/perf_tables.sh\`, binaries built with \`--profile perf\`: fat LTO, one codegen unit)."
  echo "Started: $(date -u '+%Y-%m-%d %H:%M UTC'). Commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benchmarks benches examples || echo ' (with uncommitted changes)')."
  echo "Machine: ${cpu}, $(nproc) CPUs (shared with other work), Linux $(uname -r), $(rustc -V)."
  echo
}

instructions() {
  echo "Instructions per get+put (callgrind), the difference between runs of 220,000 and 20,000 operations."
  echo "First table: benchmarks/examples/fast_path_probe.rs (the loops written out by hand); second: the"
  echo "suite's loops for every implementation (benchmarks/examples/bench_probe.rs, examples/common/user.rs)."
  echo
  scripts/fast_path_instructions.sh --md
}

fastpath=single,parallel2,threads8,hold32,hold32x2,handoff
if [ "${1:-}" = "--before" ]; then
  cmd="perf_tables --workloads $fastpath ${args[*]} --tsv $out/fastpath-before.tsv"
  {
    header "$cmd; scripts/fast_path_instructions.sh --md"
    echo "src/ last changed in $(git log -1 --format=%h -- src)."
    echo
    "$bin/perf_tables" --workloads "$fastpath" "${args[@]}" --tsv "$out/fastpath-before.tsv"
    echo
    echo "### Instructions (callgrind)"
    echo
    instructions
  } >"$out/fastpath-before.md.tmp"
  mv "$out/fastpath-before.md.tmp" "$out/fastpath-before.md"
  echo "wrote $out/fastpath-before.md $out/fastpath-before.tsv"
  exit 0
fi

write_instructions() {
  {
    header "scripts/fast_path_instructions.sh --md"
    instructions
  } >"$out/instructions.md.tmp"
  mv "$out/instructions.md.tmp" "$out/instructions.md"
}
if [ "${1:-}" = "--instructions" ]; then
  write_instructions
  echo "wrote $out/instructions.md"
  exit 0
fi

run() { # file binary args...
  local file=$1 name=$2
  shift 2
  echo "running $name $*" >&2
  { header "$name $*"; "$bin/$name" "$@"; } >"$out/$file.tmp"
  mv "$out/$file.tmp" "$out/$file"
}
run tables.md perf_tables "${args[@]}" --tsv "$target/perf_tables.tsv"
mkdir -p "$out/runs"
cp "$target/perf_tables.tsv" "$out/runs/$(date -u +%Y-%m-%dT%H%MZ)-$(git rev-parse --short HEAD).tsv"
run alloc_jemalloc.md perf_tables_jemalloc "${args[@]}"
run alloc_mimalloc.md perf_tables_mimalloc "${args[@]}"
write_instructions

# Ratios of every kept run (docs/perf/runs/*.tsv, one per full run; delete
# the old ones when the code changes), so a verdict does not rest on one run.
{
  header "python3 (in scripts/perf_tables.sh) over docs/perf/runs/*.tsv"
  echo "shardpool's time over the floor's, over floor-boxed's, and over the fastest peer's, in each kept run"
  echo "(\`docs/perf/runs/*.tsv\`, one per full run of this script; each ratio is within one run), and their median."
  echo
  python3 - "$out"/runs/*.tsv <<'PY'
import os, statistics, sys
runs = []
for p in sys.argv[1:]:
    d = {}
    for line in open(p):
        w, n, v = line.rstrip("\n").split("\t")
        d.setdefault(w, {})[n] = float(v)
    runs.append((os.path.basename(p)[:-4], d))
order = ["single", "parallel2", "threads8", "hold32", "hold32x2", "big", "request", "handoff"]
target = {"single": 1.00, "parallel2": 1.05, "threads8": 1.15, "hold32": 1.15, "hold32x2": 1.20,
          "big": 1.05, "request": 1.05}
not_peers = {"floor", "free-list", "shardpool", "floor-boxed", "floor-guard", "channel-only"}
def ratios(key):
    out = {}
    for w in order:
        vals = []
        for _, d in runs:
            r = d.get(w)
            if not r or "shardpool" not in r:
                continue
            if key == "peer":
                peers = [v for n, v in r.items() if n not in not_peers and not n.startswith("fresh@")]
                base = min(peers) if peers else None
            elif key == "floor":
                # The floor: the faster of the two bare loops in that run.
                base = min(v for n, v in r.items() if n in ("floor", "free-list"))
            else:
                base = r.get(key)
            if base:
                vals.append(r["shardpool"] / base)
        out[w] = vals
    return out
names = [n for n, _ in runs]
for title, key in [("shardpool / floor", "floor"), ("shardpool / floor-boxed", "floor-boxed"),
                   ("shardpool / fastest peer (a ratio below 1.00x: ahead of every peer)", "peer")]:
    r = ratios(key)
    print(f"{title}:\n")
    print("| workload | " + " | ".join(names) + " | median |" + (" target |" if key == "floor" else ""))
    print("|---|" + "--:|" * (len(names) + 1) + ("--:|" if key == "floor" else ""))
    for w in order:
        vals = r[w]
        if not vals:
            continue
        cells = [f"{v:.2f}x" for v in vals] + ["-"] * (len(names) - len(vals))
        med = statistics.median(vals)
        row = f"| {w} | " + " | ".join(cells) + f" | {med:.2f}x |"
        if key == "floor":
            t = target.get(w)
            row += f" ≤ {t:.2f}x {'met' if med <= t else 'not met'} |" if t else " - |"
        print(row)
    print()
PY
} >"$out/spread.md.tmp"
mv "$out/spread.md.tmp" "$out/spread.md"

if [ -f "$out/fastpath-before.tsv" ]; then
  {
    header "python3 (in scripts/perf_tables.sh) over docs/perf/fastpath-before.tsv and this run's perf_tables --tsv"
    echo "Before: \`docs/perf/fastpath-before.md\` (its commit and date are in its header). After: \`docs/perf/tables.md\`."
    echo "Each side's ratio is from its own run; ns across two runs on a shared machine compare loosely."
    echo
    python3 - "$out/fastpath-before.tsv" "$target/perf_tables.tsv" <<'PY'
import sys
def load(p):
    d = {}
    for line in open(p):
        w, n, v = line.rstrip("\n").split("\t")
        d[(w, n)] = float(v)
    return d
b, a = load(sys.argv[1]), load(sys.argv[2])
def floor(d, w):
    # The faster of the two bare loops, where both ran.
    return min(v for (x, n), v in d.items() if x == w and n in ("floor", "free-list"))
f = lambda v: f"{v:.0f}" if v >= 1000 else f"{v:.1f}"
print("| workload | floor ns before | shardpool ns before | ratio before | floor ns after | shardpool ns after | ratio after |")
print("|---|--:|--:|--:|--:|--:|--:|")
for w in ["single", "parallel2", "threads8", "hold32", "hold32x2", "handoff"]:
    if (w, "floor") in b and (w, "floor") in a:
        bf, bp, af, ap = floor(b, w), b[(w, "shardpool")], floor(a, w), a[(w, "shardpool")]
        print(f"| {w} | {f(bf)} | {f(bp)} | {bp/bf:.2f}x | {f(af)} | {f(ap)} | {ap/af:.2f}x |")
PY
  } >"$out/before_after.md.tmp"
  mv "$out/before_after.md.tmp" "$out/before_after.md"
fi
ls -1 "$out"/*.md
