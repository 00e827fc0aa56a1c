# Sourced by the scripts that start servers and load generators in the
# background (load.sh, soak.sh): makes a scratch directory `$tmp` and, on
# exit or interrupt, stops whatever the script started that still runs
# (politely first) and removes `$tmp`.
tmp=$(mktemp -d)
cleanup() {
  local left
  left=$(jobs -p)
  if [[ -n $left ]]; then
    kill -TERM $left 2>/dev/null || true
    sleep 1
    left=$(jobs -p)
    [[ -z $left ]] || kill -KILL $left 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
