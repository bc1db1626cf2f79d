#!/usr/bin/env bash
# `make bench`: the scale benchmark (docs/performance.md).
#   SCALES   pod counts to measure, ascending (default "10000 30000 100000"); each scale has
#            scale/10 services and scale/100 nodes, and adds to the objects of the one before.
#   RUNS     measured runs per command after one warm-up (default 3)
#   BENCH_SMALL=1  CI's proof that the scripts work: one small scale, one run.
# The benchmark cluster is separate from the test bed, with client rate limits lifted, and is
# stopped (not deleted) at the end: the next run restarts it with its data instead of
# recreating 100k pods. `KINSPECT_CLUSTER=kinspect-bench testbed/cluster.sh down` discards it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ "${BENCH_SMALL:-}" = 1 ]; then
  SCALES=${SCALES:-3000} RUNS=${RUNS:-1} name=kinspect-bench-small
else
  SCALES=${SCALES:-"10000 30000 100000"} RUNS=${RUNS:-3} name=kinspect-bench
fi
export KINSPECT_CLUSTER=$name KINSPECT_KEEP_STATE=1 KINSPECT_KWOKCTL_ARGS="--disable-qps-limits"
cache=${KINSPECT_CACHE:-$HOME/.cache/kinspect}
kc=$(testbed/cluster.sh up | tail -n 1)
results=bench/results
mkdir -p "$results"
summary="$results/summary-$name.md"
{
  echo "# kinspect benchmark — $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -sr);"\
       "Python $(.venv/bin/python -c 'import platform; print(platform.python_version())');"\
       "Kubernetes $(grep K8S_VERSION testbed/versions.env | cut -d= -f2)."
} > "$summary"
for scale in $SCALES; do
  .venv/bin/python bench/populate.py --kubeconfig "$kc" --pods "$scale" \
    --services $((scale / 10)) --nodes $((scale / 100))
  {
    echo
    echo "Control plane after populating $scale pods (RSS):"
    for f in "$cache/kwok/clusters/$name/pids/"*.pid; do
      pid=$(cat "$f")
      echo "- $(basename "$f" .pid): $(( $(ps -o rss= -p "$pid" 2>/dev/null || echo 0) / 1024 )) MiB"
    done
  } >> "$summary"
  .venv/bin/python bench/measure.py --kubeconfig "$kc" --kubectl "$cache/bin/current/kubectl" \
    --runs "$RUNS" --label "$scale pods" --json "$results/$name-$scale.json" >> "$summary"
done
.venv/bin/python bench/curve.py "$results/$name"-*.json >> "$summary"
testbed/cluster.sh stop
cat "$summary"
