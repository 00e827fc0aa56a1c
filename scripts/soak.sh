#!/usr/bin/env bash
# Soak test of the example server (package shardpool-server, `--alloc pool`):
# idle / burst / idle cycles from 1 to 512 connections for SOAK_SECONDS,
# every route mixed with deliberately malformed requests, driven by wrk over
# loopback. Not part of `cargo test`.
#
#   scripts/soak.sh                                  # the full run: 12 minutes
#   SOAK_SECONDS=60 OUT=target/soak scripts/soak.sh  # the short one
#
# Settings (environment variables):
#   SOAK_SECONDS=720   total length: 2 s before any traffic, a warm-up of three
#                      15 s bursts at the largest level 5 s apart (one 5 s burst in
#                      runs under 120 s), the first idle phase (30 s; 5 s), then
#                      bursts and idle phases share the rest
#   LEVELS="1 4 16 64 256 512 512 256 64 16 4 1"   connections of each burst
#                      (runs under 120 s default to "1 64 512")
#   OUT=docs           where soak.csv (RSS every second), soak-phases.csv (one row
#                      per phase: requests, statuses, RSS), soak-metrics.txt (the
#                      last GET /metrics), soak-memory.txt (resident memory by
#                      mapping, before any traffic and at the end) and soak.svg
#                      (the chart, drawn by scripts/soak_report.py from the two
#                      CSVs; rerun it alone to redraw) are written
#   TRIM_EVERY=2       the server's --trim-every, in seconds
#   RELEASE_TO_OS=1    the server's --release-to-os (glibc's malloc_trim after
#                      each trim)
#   PROFILE=release    cargo profile of the server build (dev: no release build)
#   THREADS=           server worker threads (default: one per core)
#   TOLERANCE=0.10     how far above the first idle level each later idle level
#                      may end
#
# What it checks, failing (exit 1) if any check fails:
#   1. RSS at the end of every idle phase is within TOLERANCE of the first idle
#      phase's (the server trims every TRIM_EVERY seconds; two trims free what
#      a burst left idle). The first idle phase follows the warm-up, so what
#      the first bursts leave resident for good outside the pools (the worker
#      threads' stack pages, and the pages glibc's per-thread arenas keep
#      after malloc_trim: about 1.5 MiB here, creeping up by less with each
#      burst at the peak, see docs/soak.md) is in the baseline; the RSS before
#      any traffic is in the CSV and the chart.
#   2. Every response is 200, except the answers to the malformed requests,
#      which are all 400: wrk's Lua script counts what it sent and what came
#      back, per status.
#   3. At the end, from GET /metrics, every pool's counters obey
#      created + adopted == idle + dropped + detached + in_use, with in_use
#      counted independently (gets - returned - detached), and nothing is out
#      but the scrape's own objects.
#   4. The server panicked nowhere and reports the same error count.
# RSS is VmRSS from /proc, sampled every second by this script.
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_SECONDS=${SOAK_SECONDS:-720}
OUT=${OUT:-docs}
TRIM_EVERY=${TRIM_EVERY:-2}
RELEASE_TO_OS=${RELEASE_TO_OS:-1}
PROFILE=${PROFILE:-release}
THREADS=${THREADS:-}
TOLERANCE=${TOLERANCE:-0.10}
if ((SOAK_SECONDS < 120)); then
  LEVELS=${LEVELS:-1 64 512}
  warmups=1 warmup=5 settle=0 first_idle=5
else
  LEVELS=${LEVELS:-1 4 16 64 256 512 512 256 64 16 4 1}
  warmups=3 warmup=15 settle=5 first_idle=30
fi
read -ra levels <<<"$LEVELS"
peak=$(printf '%s\n' "${levels[@]}" | sort -n | tail -1)
phase_len=$(((SOAK_SECONDS - 2 - warmups * warmup - (warmups - 1) * settle - first_idle) / (2 * ${#levels[@]})))
((phase_len >= 4)) || { echo "SOAK_SECONDS too short for ${#levels[@]} bursts" >&2; exit 2; }

if ! command -v wrk >/dev/null; then
  echo "installing wrk..." >&2
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
(($(ulimit -n) >= 2048)) || ulimit -n 4096

echo "building the server ($PROFILE)..." >&2
cargo build -q --profile "$PROFILE" -p shardpool-server --bin http_server
case $PROFILE in
  dev) bin=${CARGO_TARGET_DIR:-target}/debug/http_server ;;
  *) bin=${CARGO_TARGET_DIR:-target}/$PROFILE/http_server ;;
esac

# shellcheck source=scripts/lib/jobs.sh
source scripts/lib/jobs.sh

# The load: every route, and one malformed request in every twelve or so.
# Each thread cycles through `plan`; `response` counts statuses; `done` sums
# the threads' counts into one line for this script.
cat scripts/lib/json_body.lua - >"$tmp/soak.lua" <<'EOF'
local threads = {}

setup = function(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

init = function(args)
  sent, bad_sent, statuses = 0, 0, {}
  local json = json_body()
  local good = {
    wrk.format("GET", "/"),
    wrk.format("GET", "/echo-headers", { ["User-Agent"] = "soak", ["Accept"] = "*/*" }),
    wrk.format("POST", "/sum", nil, "1 2 3 4 5 6 7 8 9 10\n-11,12,-13,14"),
    wrk.format("POST", "/gzip", { ["Content-Type"] = "application/json" }, json),
    "POST /gzip HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n"
      .. "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
  }
  -- Each answered with 400; all but the last close the connection.
  local bad = {
    "GET / HTTP/1.1\r\n\r\n",                                          -- no Host
    "hello there\r\n\r\n",                                             -- no request line
    "GET / HTTP/1.1\r\nHost: soak\r\nContent-Length: 1x\r\n\r\n",      -- bad length
    "POST /sum HTTP/1.1\r\nHost: soak\r\nContent-Length: 3\r\n"
      .. "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",                -- both framings
    "POST /gzip HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    wrk.format("POST", "/sum", nil, "one two three"),                  -- not integers
  }
  plan = {}
  local b = 0
  for k = 1, 60 do
    plan[#plan + 1] = { good[(k - 1) % #good + 1], false }
    if k % 5 == 0 then
      b = b % #bad + 1
      plan[#plan + 1] = { bad[b], true }
    end
    if k % 30 == 0 then
      plan[#plan + 1] = { wrk.format("GET", "/metrics"), false }
    end
  end
  -- Threads start at different points of the plan.
  n = (id * 7) % #plan
end

request = function()
  n = n % #plan + 1
  sent = sent + 1
  if plan[n][2] then bad_sent = bad_sent + 1 end
  return plan[n][1]
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  local total_sent, total_bad, ok, bad, other = 0, 0, 0, 0, 0
  local others = {}
  for _, t in ipairs(threads) do
    total_sent = total_sent + t:get("sent")
    total_bad = total_bad + t:get("bad_sent")
    for status, count in pairs(t:get("statuses")) do
      if status == 200 then ok = ok + count
      elseif status == 400 then bad = bad + count
      else
        other = other + count
        others[#others + 1] = status .. "x" .. count
      end
    end
  end
  local e = summary.errors
  io.write(string.format(
    "soak: sent=%d bad_sent=%d status_200=%d status_400=%d status_other=%d other=%s "
      .. "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    total_sent, total_bad, ok, bad, other, table.concat(others, ","),
    e.connect, e.read, e.write, e.timeout))
end
EOF

server_args=(--port 0 --alloc pool --trim-every "$TRIM_EVERY" --release-to-os "$RELEASE_TO_OS"
  --duration $((SOAK_SECONDS + 300)))
[[ -n $THREADS ]] && server_args+=(--threads "$THREADS")
# Created here, not by the background job's redirection, which may run after
# the first look for the port.
: >"$tmp/server.out"
"$bin" "${server_args[@]}" >>"$tmp/server.out" 2>&1 &
pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/server.out")
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { echo "server did not start:" >&2; cat "$tmp/server.out" >&2; exit 1; }

mkdir -p "$OUT"
csv=$OUT/soak.csv
phases_csv=$tmp/phases.csv
echo "t_s,phase,kind,connections,rss_kib" >"$csv"
echo "phase,kind,connections,start_s,end_s,requests,bad_sent,status_200,status_400,status_other,socket_errors" >"$phases_csv"
# The phase running, for the sampler: "index kind connections", replaced
# whole (written aside, then renamed) so a read never sees half of it.
set_phase() {
  echo "$*" >"$tmp/phase.new"
  mv "$tmp/phase.new" "$tmp/phase"
}
set_phase 0 start 0
start=$EPOCHREALTIME

# Samples VmRSS once a second, tagged with the phase running.
sampler() {
  local next=0 now rss phase kind conns
  while kill -0 "$pid" 2>/dev/null && [[ ! -e $tmp/stop ]]; do
    now=$(awk -v a="$EPOCHREALTIME" -v b="$start" 'BEGIN { printf "%.2f", a - b }')
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || break
    read -r phase kind conns <"$tmp/phase"
    echo "$now,$phase,$kind,$conns,$rss" >>"$csv"
    next=$((next + 1))
    # Sleep to the next whole second since the start (no drift).
    sleep "$(awk -v a="$EPOCHREALTIME" -v b="$start" -v n="$next" \
      'BEGIN { d = b + n - a; printf "%.3f", (d > 0 ? d : 0) }')"
  done
}
sampler &
sampler_pid=$!

elapsed() { awk -v a="$EPOCHREALTIME" -v b="$start" 'BEGIN { printf "%.2f", a - b }'; }

phase=0
idle() { # SECONDS [KIND]
  local from kind=${2:-idle}
  from=$(elapsed)
  set_phase "$phase" "$kind" 0
  sleep "$1"
  echo "$phase,$kind,0,$from,$(elapsed),0,0,0,0,0,0" >>"$phases_csv"
  phase=$((phase + 1))
}

failures=()
burst() { # CONNECTIONS SECONDS [KIND]
  local c=$1 threads=2 from line kind=${3:-burst}
  ((c >= threads)) || threads=$c
  from=$(elapsed)
  set_phase "$phase" "$kind" "$c"
  if ! timeout $(($2 + 60)) wrk -t"$threads" -c"$c" -d"$2s" --timeout 10s -s "$tmp/soak.lua" \
    "http://127.0.0.1:$port/" >"$tmp/wrk-$phase.out" 2>&1; then
    cat "$tmp/wrk-$phase.out" >&2
    failures+=("phase $phase: wrk failed")
  fi
  line=$(grep '^soak:' "$tmp/wrk-$phase.out" || echo "soak:")
  # key=value pairs of wrk's summary line
  local sent bad_sent s200 s400 other errors
  get() {
    local v
    v=$(sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" ${line#soak: }")
    echo "${v:-0}"
  }
  sent=$(get sent); bad_sent=$(get bad_sent); s200=$(get status_200); s400=$(get status_400)
  other=$(get status_other)
  errors=$(($(get connect_errors) + $(get read_errors) + $(get write_errors) + $(get timeouts)))
  echo "$phase,$kind,$c,$from,$(elapsed),$((s200 + s400 + other)),$bad_sent,$s200,$s400,$other,$errors" >>"$phases_csv"
  printf '  phase %2d: %3d connections, %7d responses (%d x 400 for %d malformed sent), %d other non-2xx, %d socket errors\n' \
    "$phase" "$c" $((s200 + s400 + other)) "$s400" "$bad_sent" "$other" "$errors" >&2
  # Every 400 answers a malformed request; the ones sent but not answered are
  # at most one per connection when the run stopped, plus one per socket
  # error (a request written to a connection that then failed).
  ((other == 0)) || failures+=("phase $phase: $other responses neither 200 nor 400: $line")
  ((s400 <= bad_sent)) || failures+=("phase $phase: $s400 x 400 for $bad_sent malformed requests")
  ((bad_sent - s400 <= c + errors)) ||
    failures+=("phase $phase: $((bad_sent - s400)) malformed requests unanswered")
  ((errors == 0)) || failures+=("phase $phase: $errors socket errors: $line")
  phase=$((phase + 1))
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "soak: $SOAK_SECONDS s; 2 s before traffic, a warm-up of $warmups burst(s) of $peak connections for $warmup s ($settle s apart), $first_idle s idle, then bursts of ${levels[*]} connections, ${phase_len} s each, each followed by ${phase_len} s idle; server --trim-every $TRIM_EVERY --release-to-os $RELEASE_TO_OS ($PROFILE build)"
# Where the server's resident memory is, by mapping, from /proc/PID/smaps:
# file-backed pages summed (the binary and libraries), each anonymous mapping
# with what of it is resident (the heap, glibc's per-thread arenas, thread
# stacks).
memory_map() { # LABEL
  echo "== $1: VmRSS $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status") KiB"
  awk '/^[0-9a-f]+-[0-9a-f]+ / {
         split($1, r, "-"); name = $6
         size = 0; for (i = 1; i <= length(r[2]); i++) size = size * 16 + index("0123456789abcdef", substr(r[2], i, 1)) - 1
         start = 0; for (i = 1; i <= length(r[1]); i++) start = start * 16 + index("0123456789abcdef", substr(r[1], i, 1)) - 1
         size = (size - start) / 1024 }
       /^Rss:/ { if (name ~ /^\//) files += $2
                 else if ($2 > 0) printf "   %-8s %8d KiB mapped %6d KiB resident\n", (name == "" ? "anon" : name), size, $2 }
       END { printf "   files    %6d KiB resident (binary and libraries)\n", files }' "/proc/$pid/smaps"
}
memory_map "before any traffic" >"$OUT/soak-memory.txt"

idle 2 start
for ((w = 1; w <= warmups; w++)); do
  burst "$peak" "$warmup" warmup
  ((w == warmups)) || idle "$settle" settle
done
idle "$first_idle"
for c in "${levels[@]}"; do
  burst "$c" "$phase_len"
  idle "$phase_len"
done

memory_map "after the last idle phase" >>"$OUT/soak-memory.txt"
# The pools' counters, from the server itself, while it is quiet.
python3 - "$port" >"$OUT/soak-metrics.txt" <<'EOF'
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10) as r:
    sys.stdout.write(r.read().decode())
EOF
touch "$tmp/stop"
wait "$sampler_pid" || true
kill -INT "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" || true
report=$(cat "$tmp/server.out")
echo
grep -E '^(requests served|connections|allocations)' <<<"$report" || true

panics=$(sed -n 's/^connections: .* \([0-9]*\) panicked$/\1/p' <<<"$report")
[[ $panics == 0 ]] || failures+=("server: ${panics:-unknown} connection tasks panicked")
served_errors=$(sed -n 's/^requests served: .* (\([0-9]*\) with an error status)$/\1/p' <<<"$report")
client_400=$(awk -F, 'NR > 1 { n += $9 } END { print n + 0 }' "$phases_csv")
# The server counts every error response it sent; the client saw them all,
# except at most one per connection of a burst cut off by wrk's end.
[[ -n $served_errors ]] && ((served_errors >= client_400)) ||
  failures+=("server counted ${served_errors:-no} error responses, the client saw $client_400")

if ! python3 scripts/soak_report.py "$OUT" "$phases_csv" "$TOLERANCE"; then
  failures+=("RSS or pool accounting: see above")
fi
if ((${#failures[@]})); then
  echo
  printf 'FAILED: %s\n' "${failures[@]}"
  exit 1
fi
echo "soak passed"
