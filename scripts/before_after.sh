#!/usr/bin/env bash
# The fast-path workloads (single, parallel2, threads8, hold32, hold32x2,
# handoff) on the current pool and on the pool as of an earlier commit, side
# by side in one process (benchmarks/before_after/): ratios within one run,
# so a change of a few percent is visible on a noisy machine, where two
# separate runs can differ by 2x.
#
#   scripts/before_after.sh REV [-- ARGS]              # writes docs/perf/before-after.md
#   scripts/before_after.sh --out FILE REV [-- ARGS]   # writes FILE
#
# Run it with REV at the same code as now (an A/A run) to see how far the
# ratios stray when nothing changed.
#
# REV: the earlier commit (e.g. 692f019). Its crate (Cargo.toml, README.md,
# src/) is exported to benchmarks/before_after/old/ as the package
# `shardpool-before` (its dev-dependencies, targets and workspace dropped);
# the current crate is the working tree. ARGS go to the binary (`--rounds N`,
# `--ms MS`, `--workloads LIST`; default 31 rounds of 10 ms slices). Built
# in release with fat LTO and one codegen unit, like `--profile perf`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/perf/before-after.md
if [ "${1:-}" = "--out" ]; then
  out=$2
  shift 2
fi
[ $# -ge 1 ] || { echo "usage: scripts/before_after.sh [--out FILE] REV [-- ARGS]" >&2; exit 2; }
rev=$1
shift
[ "${1:-}" = "--" ] && shift
dir=benchmarks/before_after
old=$dir/old
rm -rf "$old"
mkdir -p "$old"
# The guides too, when the crate's docs include them (`src/guide.rs`).
paths="Cargo.toml README.md src"
git cat-file -e "$rev:docs" 2>/dev/null && paths="$paths docs"
# shellcheck disable=SC2086
git archive "$rev" $paths | tar -x -C "$old"
# Keep the package (renamed), its features, dependencies and lints; drop the
# rest (workspace, dev-dependencies, benches, profiles), which would need
# files that are not exported or would clash with this workspace.
python3 - "$old/Cargo.toml" <<'PY'
import re, sys
path = sys.argv[1]
out, keep, skipping = [], True, False
for line in open(path):
    if skipping:
        # Inside a multi-line `exclude = [ ... ]`.
        skipping = not line.strip().startswith("]")
        continue
    m = re.match(r"\s*\[\[?([^\]]+)\]\]?\s*$", line)
    if m:
        section = m.group(1).strip()
        keep = (section in ("package", "features", "dependencies", "lints.rust", "lints.clippy")
                or (section.startswith("target.") and section.endswith(".dependencies")))
    if keep:
        if re.match(r'\s*name\s*=\s*"shardpool"', line):
            line = 'name = "shardpool-before"\n'
        if re.match(r"\s*(exclude|include|readme)\s*=", line):
            skipping = "[" in line and "]" not in line
            continue
        out.append(line)
open(path, "w").write("".join(out))
PY
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$(pwd)/$target" ;; esac
CARGO_TARGET_DIR="$target/before_after" cargo build -q --release --manifest-path "$dir/Cargo.toml"
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
{
  echo "<!-- Generated: do not edit. Rerun the command below to refresh. -->"
  echo "Command: \`scripts/before_after.sh$([ "$out" = docs/perf/before-after.md ] || echo " --out $out") $rev${*:+ -- $*}\` (benchmarks/before_after/, release with fat LTO, one codegen unit)."
  echo "Started: $(date -u '+%Y-%m-%d %H:%M UTC'). Before: \`src/\` at $(git rev-parse --short "$rev"). Now: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' with uncommitted changes to src/')."
  echo "Machine: ${cpu}, $(nproc) CPUs (shared with other work), Linux $(uname -r), $(rustc -V)."
  echo
  "$target/before_after/release/shardpool-before-after" "$@"
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
