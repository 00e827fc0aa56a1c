#!/usr/bin/env bash
# Load-tests the example server (package shardpool-server in server/, binaries
# http_server and http_server_mimalloc): fresh allocation vs shardpool, on the
# system allocator and on mimalloc, driven by wrk over loopback.
#
#   scripts/load.sh                      # defaults below
#   DURATION=30 CONNECTIONS=100 REPEATS=3 scripts/load.sh
#   scripts/load.sh 30 100 3             # the same, as DURATION CONNECTIONS REPEATS
#
# Settings (environment variables):
#   DURATION=10        seconds of load per run
#   CONNECTIONS=50     wrk connections (all keep-alive)
#   REPEATS=1          runs per configuration; the table shows median (min-max),
#                      and pool/fresh ratios paired run by run
#   WRK_THREADS=2      wrk threads (1 with PIN=1)
#   SERVER_THREADS=    server worker threads (default: one per core; 1 with PIN=1)
#   WORKLOAD=mixed     mixed: GET /, GET /echo-headers, POST /sum in turn; root: GET / only;
#                      gzip: POST /gzip with a 3.5 KB JSON body (the encoder state
#                      is pooled or made per request)
#   ALLOCATORS="system mimalloc"   MODES="fresh pool"
#   PIN=0              1: pin the server to CPU 0 and wrk to CPU 1 (taskset), with
#                      one thread each unless SERVER_THREADS/WRK_THREADS say
#                      otherwise. On a small shared machine this removes most
#                      of the scheduler's placement noise (server and wrk
#                      fighting over a core, or not).
#   INSTRUCTIONS=0     1: also count user-space instructions per request under
#                      callgrind (needs valgrind, installed if missing, and
#                      python3): one worker thread, one sequential keep-alive
#                      client, the same requests as WORKLOAD. Unlike wrk's numbers,
#                      these do not move with the machine's load.
#
# DURATION should exceed ~3 s: the steady-state window opens 1 s after the
# last connection opened, and is n/a (nan) before that.
#
# For each run it starts the server on a free loopback port, runs wrk, reads
# the server's peak RSS (VmHWM) while it is still up, stops it with SIGINT and
# takes allocations per request from its shutdown report. Runs are interleaved
# (fresh, pool, then pool, fresh, ...) so that drift in machine load hits both
# modes alike. Everything started is stopped on exit, whatever happens
# (servers with SIGTERM, then SIGKILL); each server also has --duration as a
# backstop.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-${DURATION:-10}}
CONNECTIONS=${2:-${CONNECTIONS:-50}}
REPEATS=${3:-${REPEATS:-1}}
WRK_THREADS=${WRK_THREADS:-}
SERVER_THREADS=${SERVER_THREADS:-}
WORKLOAD=${WORKLOAD:-mixed}
ALLOCATORS=${ALLOCATORS:-system mimalloc}
MODES=${MODES:-fresh pool}
INSTRUCTIONS=${INSTRUCTIONS:-0}
PIN=${PIN:-0}
server_pin=()
wrk_pin=()
if [[ $PIN == 1 ]]; then
  (($(nproc) >= 2)) || { echo "PIN=1 needs 2 CPUs" >&2; exit 2; }
  server_pin=(taskset -c 0)
  wrk_pin=(taskset -c 1)
  SERVER_THREADS=${SERVER_THREADS:-1}
  WRK_THREADS=${WRK_THREADS:-1}
fi
WRK_THREADS=${WRK_THREADS:-2}
for n in "$DURATION" "$CONNECTIONS" "$REPEATS" "$WRK_THREADS"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "not a positive integer: $n" >&2; exit 2; }
done
((WRK_THREADS <= CONNECTIONS)) || WRK_THREADS=$CONNECTIONS

if ! command -v wrk >/dev/null; then
  echo "installing wrk..." >&2
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

if [[ $INSTRUCTIONS == 1 ]] && ! command -v valgrind >/dev/null; then
  echo "installing valgrind..." >&2
  apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
fi

echo "building the server (release)..." >&2
cargo build -q --release -p shardpool-server --features mimalloc --bins
bin_dir=${CARGO_TARGET_DIR:-target}/release

clk_tck=$(getconf CLK_TCK)
# `$tmp`, and on exit stops what this script started (servers, wrk,
# valgrind). shellcheck source=scripts/lib/jobs.sh
source scripts/lib/jobs.sh
runs=0

cat >"$tmp/mixed.lua" <<'EOF'
local requests = {}
local i = 0
init = function(args)
  requests[1] = wrk.format("GET", "/")
  requests[2] = wrk.format("GET", "/echo-headers")
  requests[3] = wrk.format("POST", "/sum", { ["Content-Type"] = "text/plain" },
    "1 2 3 4 5 6 7 8 9 10\n-11,12,-13,14")
end
request = function()
  i = i % 3 + 1
  return requests[i]
end
EOF
# The 3.5 KB JSON body (scripts/lib/json_body.lua), POSTed to /gzip.
cat scripts/lib/json_body.lua - >"$tmp/gzip.lua" <<'EOF'
init = function(args)
  local body = json_body()
  req = wrk.format("POST", "/gzip", { ["Content-Type"] = "application/json" }, body)
end
request = function()
  return req
end
EOF
case $WORKLOAD in
  mixed) script=(-s "$tmp/mixed.lua") ;;
  root) script=() ;;
  gzip) script=(-s "$tmp/gzip.lua") ;;
  *) echo "WORKLOAD must be mixed, root or gzip" >&2; exit 2 ;;
esac

# to_ms VALUE_WITH_UNIT -> milliseconds (wrk prints us, ms or s)
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}

# stop PID [SECONDS]: SIGINT, then wait (10 s by default) for the report,
# then SIGKILL.
stop() {
  local pid=$1
  kill -INT "$pid" 2>/dev/null || return 0
  for _ in $(seq $((${2:-10} * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# await_port PID OUTPUT SECONDS -> the port the server announced in OUTPUT
await_port() {
  local pid=$1 out=$2 port=
  for _ in $(seq $(($3 * 10))); do
    port=$(sed -n 's/^listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out")
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $port ]]; then
    echo "server did not start:" >&2
    cat "$out" >&2
    exit 1
  fi
  echo "$port"
}

server_bin() { # ALLOCATOR -> path of the server binary
  if [[ $1 == mimalloc ]]; then
    echo "$bin_dir/http_server_mimalloc"
  else
    echo "$bin_dir/http_server"
  fi
}

# run ALLOCATOR MODE: one server, one wrk run against it; appends a row to
# results.tsv.
run() {
  local allocator=$1 mode=$2 bin out wrk_out pid port
  bin=$(server_bin "$allocator")
  runs=$((runs + 1))
  out=$tmp/server-$runs.out
  wrk_out=$tmp/wrk-$runs.out
  local args=(--port 0 --alloc "$mode" --duration $((DURATION + 60)))
  [[ -n $SERVER_THREADS ]] && args+=(--threads "$SERVER_THREADS")
  : >"$out"
  "${server_pin[@]}" "$bin" "${args[@]}" >>"$out" 2>&1 &
  pid=$!
  port=$(await_port "$pid" "$out" 10) || exit 1
  if ! "${wrk_pin[@]}" timeout $((DURATION + 30)) wrk -t "$WRK_THREADS" -c "$CONNECTIONS" \
    -d "${DURATION}s" --latency "${script[@]}" "http://127.0.0.1:$port/" >"$wrk_out" 2>&1; then
    echo "wrk failed ($allocator $mode):" >&2
    cat "$wrk_out" >&2
    exit 1
  fi
  local rss ticks minflt
  rss=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
  # utime + stime (fields 14 and 15; the command name has no spaces), and
  # minor page faults (field 10): memory the kernel had to map in, which is
  # what an allocator that hands pages back and takes them again costs.
  ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  minflt=$(awk '{ print $10 }' "/proc/$pid/stat")
  stop "$pid"
  local rps p50 p99 steady whole served cpu faults bad
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$wrk_out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$wrk_out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$wrk_out")")
  steady=$(sed -n 's/^summary:.* steady_allocs_per_request=\([^ ]*\).*/\1/p' "$out")
  whole=$(sed -n 's/^summary:.* allocs_per_request=\([^ ]*\).*/\1/p' "$out")
  served=$(sed -n 's/^summary:.* requests=\([0-9]*\) .*/\1/p' "$out")
  cpu=$(awk -v t="$ticks" -v hz="$clk_tck" -v n="${served:-0}" \
    'BEGIN { if (n > 0) printf "%.2f", t / hz * 1e6 / n; else print "nan" }')
  faults=$(awk -v f="$minflt" -v n="${served:-0}" \
    'BEGIN { if (n > 0) printf "%.2f", f / n; else print "nan" }')
  bad=$(awk '/Non-2xx|Socket errors/' "$wrk_out")
  [[ -n $bad ]] && echo "warning ($allocator $mode): $bad" >&2
  if [[ -z $steady ]]; then
    echo "no report from the server ($allocator $mode):" >&2
    cat "$out" >&2
    exit 1
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$allocator" "$mode" "$rps" "$p50" "$p99" \
    "$rss" "$steady" "$whole" "$cpu" "$faults" >>"$tmp/results.tsv"
  printf '  %-8s %-5s %9s req/s  p50 %7s ms  p99 %8s ms  RSS %6s MiB  allocs/req %s (steady) %s (whole run)  CPU %s us/req  page faults %s/req\n' \
    "$allocator" "$mode" "$rps" "$p50" "$p99" "$rss" "$steady" "$whole" "$cpu" "$faults" >&2
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "load: wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s, workload $WORKLOAD, server threads ${SERVER_THREADS:-default}, $REPEATS run(s) each$([[ $PIN == 1 ]] && echo ", server on CPU 0 and wrk on CPU 1" || true)"
for ((r = 1; r <= REPEATS; r++)); do
  echo "run $r/$REPEATS" >&2
  # Every other repeat runs the modes in reverse order, so neither always
  # goes first.
  modes=$MODES
  if ((r % 2 == 0)); then
    modes=$(printf '%s\n' $MODES | tac | tr '\n' ' ')
  fi
  for allocator in $ALLOCATORS; do
    for mode in $modes; do
      run "$allocator" "$mode"
    done
  done
done

echo
# One row per configuration: the median over the repeats, then min-max.
awk -F'\t' '
  function cell(key, col,   n, i, j, v, t, lo, hi, med, fmt) {
    n = count[key]; fmt = fmts[col]
    for (i = 1; i <= n; i++) v[i] = val[key, col, i] + 0
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    lo = sprintf(fmt, v[1]); hi = sprintf(fmt, v[n])
    return (lo == hi) ? lo : sprintf(fmt " (" fmt "-" fmt ")", med, v[1], v[n])
  }
  BEGIN {
    fmts[3] = "%.0f"; fmts[4] = "%.2f"; fmts[5] = "%.1f"; fmts[6] = "%.1f"
    fmts[7] = "%.3f"; fmts[8] = "%.3f"; fmts[9] = "%.1f"; fmts[10] = "%.2f"
    row = "%-9s %-5s  %-24s %-19s %-20s %-19s %-19s %-17s %-11s %s\n"
    printf row, "allocator", "mode", "req/s", "p50 ms", "p99 ms", "server CPU", "page faults", "peak RSS MiB", "allocs/req", "allocs/req"
    printf row, "", "", "", "", "", "us/req", "per req", "", "steady", "whole run"
  }
  {
    key = $1 SUBSEP $2
    if (!(key in count)) order[++keys] = key
    n = ++count[key]
    for (c = 3; c <= 10; c++) val[key, c, n] = $c
  }
  END {
    for (i = 1; i <= keys; i++) {
      split(order[i], k, SUBSEP)
      printf row, k[1], k[2], cell(order[i], 3), cell(order[i], 4), cell(order[i], 5),
        cell(order[i], 9), cell(order[i], 10), cell(order[i], 6), cell(order[i], 7), cell(order[i], 8)
    }
    print "cells: median (min-max) over the runs. server CPU: user+system time of the server process"
    print "per request served; page faults: its minor faults per request served. allocs/req:"
    print "allocations on the server runtime threads per request; steady = keep-alive requests"
    print "after warm-up, with no connection opening or closing"
  }' "$tmp/results.tsv"

# Paired: the k-th pool run of an allocator against its k-th fresh run (same
# repeat: adjacent in time, or simultaneous), which cancels slow drifts in the
# machine's load.
if [[ " $MODES " == *" fresh "* && " $MODES " == *" pool "* ]]; then
  echo
  echo "pool / fresh, paired run by run: median (min-max); req/s above 1 and latency or CPU below 1 favour pool"
  awk -F'\t' '
    function stat(a, n,   i, j, t, med) {
      for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      return sprintf("%.3f (%.3f-%.3f)", med, a[1], a[n])
    }
    # The k-th pool run of an allocator pairs with its k-th fresh run.
    $2 == "fresh" || $2 == "pool" {
      if (!(($1, $2) in count)) count[$1, $2] = 0
      k = ++count[$1, $2]
      for (c = 3; c <= 9; c++) v[$1, $2, k, c] = $c
      if (!($1 in seen)) { seen[$1] = 1; order[++allocators] = $1 }
    }
    END {
      printf "%-9s %-22s %-22s %-22s %s\n", "allocator", "req/s", "p50", "p99", "server CPU/req"
      for (i = 1; i <= allocators; i++) {
        a = order[i]; m = 0
        pairs = count[a, "fresh"] < count[a, "pool"] ? count[a, "fresh"] : count[a, "pool"]
        for (k = 1; k <= pairs; k++) {
          if (v[a, "fresh", k, 3] <= 0 || v[a, "fresh", k, 4] <= 0 || v[a, "fresh", k, 5] <= 0 || v[a, "fresh", k, 9] <= 0) continue
          m++
          r[m] = v[a, "pool", k, 3] / v[a, "fresh", k, 3]
          l[m] = v[a, "pool", k, 4] / v[a, "fresh", k, 4]
          q[m] = v[a, "pool", k, 5] / v[a, "fresh", k, 5]
          u[m] = v[a, "pool", k, 9] / v[a, "fresh", k, 9]
        }
        if (m > 0) printf "%-9s %-22s %-22s %-22s %s\n", a, stat(r, m), stat(l, m), stat(q, m), stat(u, m)
      }
    }' "$tmp/results.tsv"
fi

[[ $INSTRUCTIONS == 1 ]] || exit 0

cat >"$tmp/client.py" <<'EOF'
# client.py PORT N WORKLOAD: N requests (the mixed workload in turn, GET /,
# or POST /gzip with gzip.lua's body) on one keep-alive connection, each sent
# after the previous response arrived.
import socket, sys
port, n, workload = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body = b"1 2 3 4 5 6 7 8 9 10\n-11,12,-13,14"
requests = [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /echo-headers HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
    b"POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
]
if workload == "root":
    requests = requests[:1]
elif workload == "gzip":
    records, i, size = [], 0, 2
    while size < 3500:
        r = ('{"id":%d,"name":"user-%d","email":"user%d@example.com","active":%s,"score":%d}'
             % (i, i, i, "true" if i % 3 else "false", i * 37 % 1000))
        records.append(r)
        size += len(r) + 1
        i += 1
    body = ("[" + ",".join(records) + "]").encode()
    requests = [b"POST /gzip HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)]
s = socket.create_connection(("127.0.0.1", port), timeout=60)
buf = b""
for i in range(n):
    s.sendall(requests[i % len(requests)])
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:"))
    while len(rest) < length:
        rest += s.recv(65536)
    buf = rest[length:]
EOF

# instructions ALLOCATOR MODE N: sets `ir` to the user-space instructions of a
# server run that served N requests, start-up and shutdown included. (Not
# called in $(...), so that the server it starts is a job of this shell,
# which the trap stops.)
instructions() {
  local bin out log pid port
  bin=$(server_bin "$1")
  runs=$((runs + 1))
  out=$tmp/ir-$runs.out
  log=$tmp/ir-$runs.log
  : >"$out"
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$bin" --port 0 --threads 1 --alloc "$2" --duration 600 >>"$out" 2>"$log" &
  pid=$!
  port=$(await_port "$pid" "$out" 120) || exit 1
  timeout 600 python3 "$tmp/client.py" "$port" "$3" "$WORKLOAD"
  stop "$pid" 60
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log")
  if [[ -z $ir ]]; then
    echo "no instruction count ($1 $2):" >&2
    cat "$log" >&2
    exit 1
  fi
}

small=2000
large=12000
echo
echo "user-space instructions per request (callgrind; 1 worker thread; 1 sequential keep-alive client;"
echo "the difference between runs of $small and $large requests cancels start-up and shutdown):"
printf '%-9s %-5s  %s\n' allocator mode "instructions/request"
for allocator in $ALLOCATORS; do
  for mode in $MODES; do
    instructions "$allocator" "$mode" $small
    a=$ir
    instructions "$allocator" "$mode" $large
    printf '%-9s %-5s  %s\n' "$allocator" "$mode" $(((ir - a) / (large - small)))
  done
done
