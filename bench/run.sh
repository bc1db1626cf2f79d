#!/usr/bin/env bash
# `make bench`: the scale benchmark (docs/performance.md).
#   SCALES   pod counts to measure (default "10000 30000 100000"); each scale has scale/10
#            services and scale/100 nodes, in a cluster of its own (kinspect-bench-<scale>), so
#            every point of the curve is measured by the same code on a cluster of exactly that size.
#   RUNS     measured runs per command after one warm-up (default 3)
#   BENCH_SMALL=1  CI's proof that the scripts work: one small scale, one run.
#   BENCH_POPULATE_ONLY=1  build (or top up) the clusters, measure nothing.
#   BENCH_SKIP   commands measure.py leaves out, by letter (e.g. "c,d": no kubectl, no official
#            client), for a quicker look at kinspect's own figures; "n" leaves out bench/gzip_link.py.
# Each benchmark cluster is separate from the test bed, has client rate limits lifted, runs alone
# while it is measured, and is stopped (not deleted) afterwards: its etcd data is the saved
# cluster, and the next run restarts it instead of recreating 100k pods (populate only creates
# what is missing). `KINSPECT_CLUSTER=kinspect-bench-<scale> testbed/cluster.sh down` discards one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ "${BENCH_SMALL:-}" = 1 ]; then
  SCALES=${SCALES:-3000} RUNS=${RUNS:-1}
else
  SCALES=${SCALES:-"10000 30000 100000"} RUNS=${RUNS:-3}
fi
# A 100k-pod API server fills its watch cache for minutes before it answers.
export KINSPECT_KEEP_STATE=1 KINSPECT_KWOKCTL_ARGS="--disable-qps-limits"
export KINSPECT_START_TIMEOUT=${KINSPECT_START_TIMEOUT:-1200}
cache=${KINSPECT_CACHE:-$HOME/.cache/kinspect}
results=bench/results
mkdir -p "$results"
tag=$([ "${BENCH_SMALL:-}" = 1 ] && echo small || echo full)
summary="$results/summary-$tag.md"
{
  echo "# kinspect benchmark — $(date -u +%Y-%m-%dT%H:%MZ), kinspect $(git rev-parse --short HEAD)"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -sr);"\
       "Python $(.venv/bin/python -c 'import platform; print(platform.python_version())');"\
       "Kubernetes $(grep K8S_VERSION testbed/versions.env | cut -d= -f2)."
} > "$summary"
# quiet NAME: wait (at most 10 min) until the cluster's control plane uses under 0.3 cores over
# 10 s. A restarted cluster is busy for minutes (kwok re-syncs every pod and node), and
# measuring then measures its settling, not the commands.
quiet() {
  local pids=("$cache/kwok/clusters/$1/pids/"*.pid) deadline=$((SECONDS + 600)) a b
  ticks() { local t=0 f; for f in "${pids[@]}"; do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$(cat "$f")/stat" 2>/dev/null || echo 0))); done
    echo "$t"; }
  while ((SECONDS < deadline)); do
    a=$(ticks); sleep 10; b=$(ticks)
    # clock ticks are 1/100 s: under 0.3 cores for 10 s is under 300 ticks
    if ((b - a < 300)); then echo "bench: $1 is quiet ($((b - a)) ticks in 10 s)" >&2; return; fi
    echo "bench: waiting for $1 to settle ($((b - a)) ticks in 10 s)" >&2
  done
  echo "bench: $1 did not settle in 10 min; measuring anyway" >&2
}
curve=()
for scale in $SCALES; do
  name=kinspect-bench-$scale
  export KINSPECT_CLUSTER=$name
  kc=$(testbed/cluster.sh up | tail -n 1)
  KUBECONFIG="$kc" testbed/crds.sh
  .venv/bin/python bench/populate.py --kubeconfig "$kc" --pods "$scale" \
    --services $((scale / 10)) --nodes $((scale / 100))
  if [ "${BENCH_POPULATE_ONLY:-}" != 1 ]; then
    quiet "$name"
    {
      echo
      echo "Control plane with $scale pods (RSS):"
      for f in "$cache/kwok/clusters/$name/pids/"*.pid; do
        pid=$(cat "$f")
        echo "- $(basename "$f" .pid): $(( $(ps -o rss= -p "$pid" 2>/dev/null || echo 0) / 1024 )) MiB"
      done
    } >> "$summary"
    .venv/bin/python bench/measure.py --kubeconfig "$kc" --kubectl "$cache/bin/current/kubectl" \
      --runs "$RUNS" --label "$scale pods" --skip "${BENCH_SKIP:-}" \
      --json "$results/bench-$scale.json" >> "$summary"
    curve+=("$results/bench-$scale.json")
    # --watch: the first sync beside map, and each event's cost under pod readiness flips.
    flips=$([ "${BENCH_SMALL:-}" = 1 ] && echo 200 || echo 10000)
    .venv/bin/python bench/watch_cluster.py --kubeconfig "$kc" --flips "$flips" --runs "$RUNS" \
      --json "$results/watch-$scale.json" >> "$summary"
    # Round two reads lists whole from the watch cache; round one read them by pages. Same
    # findings either way (issue 17): `kinspect diff` of the two audit reports exits 0.
    KINSPECT_UNPAGED_MAX=0 .venv/bin/kinspect audit -A -o json --kubeconfig "$kc" \
      > "$results/audit-$scale-paged.json" || [ $? = 7 ]
    .venv/bin/kinspect audit -A -o json --kubeconfig "$kc" > "$results/audit-$scale.json" || [ $? = 7 ]
    {
      echo
      echo "Audit findings, lists read by pages (round one) against whole (round two):"
      echo
      n=$(.venv/bin/python -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' \
        "$results/audit-$scale.json")
      if .venv/bin/kinspect diff "$results/audit-$scale-paged.json" "$results/audit-$scale.json" \
        > "$results/audit-$scale-diff.txt"; then
        echo "- identical: $n findings, \`kinspect diff\` exit 0"
      else
        echo "- DIFFERENT (exit $?): see $results/audit-$scale-diff.txt"
      fi
    } >> "$summary"
    # gzip on and off over a shaped link (bench/gzip_link.py; needs root): whether compressing
    # pays once there is a network between kinspect and the API server.
    if [[ ",${BENCH_SKIP:-}," != *,n,* ]]; then
      .venv/bin/python bench/gzip_link.py --kubeconfig "$kc" --runs "$RUNS" >> "$summary"
    fi
    # The same cluster without its Ingresses, HTTPRoutes and NetworkPolicies: what reading and
    # evaluating them costs map and audit (issues 14 and 17). They are created again after.
    .venv/bin/python bench/populate.py --kubeconfig "$kc" --kubectl "$cache/bin/current/kubectl" \
      --extras delete
    quiet "$name"
    .venv/bin/python bench/measure.py --kubeconfig "$kc" --kubectl "$cache/bin/current/kubectl" \
      --runs "$RUNS" --label "$scale pods, without entry points and policies" \
      --skip a2,b2,c,d,e1,e3,e4 --json "$results/bench-$scale-bare.json" >> "$summary"
    .venv/bin/python bench/populate.py --kubeconfig "$kc" --pods "$scale" \
      --services $((scale / 10)) --nodes $((scale / 100)) --extras only
  fi
  testbed/cluster.sh stop
done
if [ ${#curve[@]} -gt 0 ]; then
  .venv/bin/python bench/curve.py "${curve[@]}" >> "$summary"
  cat "$summary"
fi
