#!/usr/bin/env bash
# The e2e suite again and again on one test bed that is never restarted, as a user's long-lived
# cluster would see it: each round runs it plainly (make e2e) and then through a copied context
# (make e2e-context). A test that passes once but not every time fails here. Not in CI: it is
# long (about 7 minutes a round on 2 cores).
#
#   dev/e2e_soak.sh [ROUNDS]     default 5; logs in .soak/, one per run; exit 0 only if all passed
#
# Every run goes on after a failure, so one soak finds every flaky test; the summary lists each
# run's pytest summary line. The test bed's kube-apiserver must keep its process from the first
# run to the last: a restart would hide what a long-lived cluster accumulates.
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
make=${MAKE:-make}
logs=.soak
rm -rf "$logs" && mkdir -p "$logs"
kc=$(testbed/cluster.sh up | tail -n 1) || { echo "e2e-soak: the test bed did not start" >&2; exit 2; }
pidfile="$(dirname "$kc")/pids/kube-apiserver.pid"
apiserver=$(cat "$pidfile")
summary=()
failed=0
for ((i = 1; i <= rounds; i++)); do
  for target in e2e e2e-context; do
    log="$logs/round-$i-$target.log"
    t0=$SECONDS
    "$make" --no-print-directory "$target" >"$log" 2>&1
    rc=$?
    # pytest's closing line, e.g. "===== 114 passed in 301.2s =====" (the last one in the log).
    line=$(grep -E '^=+ .* in [0-9.]+s' "$log" | tail -n 1 | tr -d '=' | sed 's/^ *//; s/ *$//')
    [ "$rc" -eq 0 ] || failed=$((failed + 1))
    summary+=("round $i $target: exit $rc after $((SECONDS - t0))s: ${line:-no pytest summary (see $log)}")
    echo "e2e-soak: ${summary[-1]}" >&2
  done
done
now=$(cat "$pidfile" 2>/dev/null || echo none)
echo
echo "e2e-soak: $rounds rounds on one test bed (kube-apiserver pid $apiserver, now $now):"
printf '  %s\n' "${summary[@]}"
if [ "$now" != "$apiserver" ]; then
  echo "e2e-soak: the test bed's API server was restarted during the soak" >&2
  exit 1
fi
if [ "$failed" -gt 0 ]; then
  echo "e2e-soak: $failed of $((rounds * 2)) runs failed; their logs: $logs/" >&2
  exit 1
fi
echo "e2e-soak: all $((rounds * 2)) runs passed"
