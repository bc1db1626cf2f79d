#!/usr/bin/env bash
# The test bed: a real control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler) on loopback, with kwok playing the kubelets of three nodes.
#
#   cluster.sh up      idempotent; builds binaries if needed; prints the kubeconfig path LAST
#   cluster.sh down    stops every component and removes the cluster's state
#   cluster.sh status  prints where the kubeconfig and each component's log are
#
# Environment: KINSPECT_CACHE (default ~/.cache/kinspect) holds binaries and cluster state;
# KINSPECT_CLUSTER (default kinspect) names the cluster, so two can run side by side;
# KINSPECT_KWOKCTL_ARGS adds kwokctl create flags (the benchmark lifts rate limits with it);
# KINSPECT_KEEP_STATE=1 restarts a stopped cluster with its data instead of recreating it
# (the benchmark's saved cluster) within KINSPECT_START_TIMEOUT seconds (default 120; a failed
# restart keeps the data and fails), and `cluster.sh stop` stops one keeping its state.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${KINSPECT_CACHE:-$HOME/.cache/kinspect}
name=${KINSPECT_CLUSTER:-kinspect}
export KWOK_WORKDIR="$cache/kwok"
dir="$KWOK_WORKDIR/clusters/$name"
kc="$dir/kubeconfig.yaml"

log() { echo "testbed: $*" >&2; }
# kwokctl's JSON log lines and kubectl's "created" lines go here, not to the terminal; a
# failing step shows the end of it.
klog="$KWOK_WORKDIR/cluster-$name.log"
mkdir -p "$KWOK_WORKDIR"
quiet() { "$@" >>"$klog" 2>&1 || { tail -n 20 "$klog" >&2; log "failed: $1 (whole log: $klog)"; return 1; }; }

bin=$("$here/build.sh" | tail -n 1)
export PATH="$bin:$PATH"
k() { kubectl --kubeconfig "$kc" "$@"; }

healthy() { [ -f "$kc" ] && k get --raw /readyz >/dev/null 2>&1; }

# wait_for DESCRIPTION SECONDS COMMAND...: poll until COMMAND succeeds, or fail at the deadline.
wait_for() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${secs}s waiting for $what; component logs: $dir/logs/"
      return 1
    fi
    sleep 0.5
  done
}

pod_has_ip() { [ -n "$(k get pod testbed-smoke -n default -o 'jsonpath={.status.podIP}')" ]; }

# A fresh pod, bound to a node within KINSPECT_SCHEDULE_TIMEOUT seconds (default 20; a healthy
# scheduler binds in well under one). After a long e2e session the scheduler has been seen to
# stall: new pods stayed Pending with no event while its lease was still renewed (it had
# logged "Pod doesn't exist in informer cache" for pods of deleted namespaces). Then its process
# is killed and started again from its own command line, and the pod must be bound within 90 s
# (the new process first waits for the old one's leader lease to expire). The smoke pod above
# proves nothing on a running cluster: it was bound long ago.
scheduler_binds() {
  local pod secs=${KINSPECT_SCHEDULE_TIMEOUT:-20}
  pod=$(k create -n default -o name -f - <<'YAML'
apiVersion: v1
kind: Pod
metadata: {generateName: testbed-schedule-check-, namespace: default}
spec:
  containers: [{name: main, image: registry.invalid/smoke:1}]
  terminationGracePeriodSeconds: 0
YAML
  ) || { log "cannot create a pod to check the scheduler"; return 1; }
  bound() { [ -n "$(k get -n default "$pod" -o 'jsonpath={.spec.nodeName}')" ]; }
  if ! wait_for "$pod to be scheduled" "$secs" bound 2>/dev/null; then
    log "the scheduler bound no new pod in ${secs}s: restarting it"
    restart_scheduler
    wait_for "$pod to be scheduled by the restarted scheduler" 90 bound || return 1
    log "the restarted scheduler binds pods again"
  fi
  quiet k delete -n default "$pod" --wait=false
}

# Whether process $1 has exited (a zombie counts: a container's init may never reap it).
gone() {
  local state
  state=$(sed -n 's/^.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
  [ -z "$state" ] || [ "$state" = Z ]
}

# Kill the scheduler (SIGKILL: a stalled or stopped process ignores less) and start it again
# with the command line, working directory and log file kwokctl gave it; its pid file then names
# the new process, so `kwokctl stop` and `delete` still find it.
restart_scheduler() {
  local pidfile="$dir/pids/kube-scheduler.pid" pid cwd
  local -a cmd
  pid=$(cat "$pidfile")
  [ -r "/proc/$pid/cmdline" ] || { log "no scheduler process $pid (from $pidfile)"; return 1; }
  mapfile -d '' -t cmd <"/proc/$pid/cmdline"
  cwd=$(readlink "/proc/$pid/cwd")
  kill -KILL "$pid"
  wait_for "scheduler process $pid to exit" 10 gone "$pid"
  (cd "$cwd" && exec setsid "${cmd[@]}" >>"$dir/logs/kube-scheduler.log" 2>&1 </dev/null) &
  echo $! >"$pidfile"
  disown
}

up() {
  local t0=$SECONDS
  if healthy; then
    log "reusing running cluster $name"
  elif [ "${KINSPECT_KEEP_STATE:-}" = 1 ] && [ -f "$kc" ]; then
    # Saved state is worth more than a fresh cluster (the benchmark's 100k pods take half an
    # hour to make): a failed restart stops here and keeps it, never deletes it.
    if ! restart; then
      quiet kwokctl stop cluster --name "$name" || true
      log "cannot restart $name with its saved state (logs: $dir/logs/); state kept in $dir;" \
        "retry with a longer KINSPECT_START_TIMEOUT, or discard it: KINSPECT_CLUSTER=$name $0 down"
      exit 1
    fi
    log "restarted cluster $name with its saved state"
  else
    if [ -d "$dir" ]; then
      log "removing stale cluster state in $dir"
      quiet kwokctl delete cluster --name "$name" || true
      rm -rf "$dir"
    fi
    log "creating cluster $name (logs: $dir/logs/ and $klog)"
    quiet kwokctl -c "$here/kwokctl.yaml" create cluster --name "$name" \
      --runtime binary --kubeconfig "" \
      --kube-apiserver-binary "$bin/kube-apiserver" \
      --kube-controller-manager-binary "$bin/kube-controller-manager" \
      --kube-scheduler-binary "$bin/kube-scheduler" \
      --kwok-controller-binary "$bin/kwok" \
      --etcd-binary "$bin/etcd" \
      --kube-audit-policy "$here/audit-policy.yaml" \
      ${KINSPECT_KWOKCTL_ARGS:-} \
      --wait 120s
  fi
  # A node's podCIDRs cannot change: a cluster made before the test bed was dual-stack keeps
  # single-stack nodes (and service CIDR), and the apply below would fail. Say what to do.
  local cidrs
  cidrs=$(k get node kwok-node-0 --ignore-not-found -o 'jsonpath={.spec.podCIDRs}' 2>/dev/null || true)
  if [ -n "$cidrs" ] && [[ "$cidrs" != *:* ]]; then
    if [ "${KINSPECT_KEEP_STATE:-}" = 1 ]; then
      # Saved state (the benchmark's) is worth more than dual-stack: keep its nodes.
      log "cluster $name is single-stack (saved before the test bed was dual-stack); kept as it is"
    else
      log "cluster $name is single-stack (made before the test bed was dual-stack): recreate" \
        "it with: KINSPECT_CLUSTER=$name $0 down && KINSPECT_CLUSTER=$name $0 up"
      exit 1
    fi
  else
    quiet k apply -f "$here/nodes.yaml"
  fi
  wait_for "3 Ready nodes" 90 k wait --for=condition=Ready node/kwok-node-0 node/kwok-node-1 \
    node/kwok-node-2 --timeout=2s
  # The ServiceAccount admission plugin refuses pods until the controller-manager has made the
  # namespace's default ServiceAccount: on a fresh cluster that takes a moment.
  wait_for "the default service account" 60 k get serviceaccount default -n default
  quiet k apply -f - <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: testbed-smoke, namespace: default, labels: {app: testbed-smoke}}
spec:
  containers: [{name: main, image: registry.invalid/smoke:1}]
YAML
  wait_for "the smoke pod to be Running with an IP" 90 pod_has_ip
  wait_for "the smoke pod to be Ready" 60 k wait --for=condition=Ready pod/testbed-smoke --timeout=2s
  scheduler_binds
  log "cluster $name up in $((SECONDS - t0))s"
  echo "$kc"
}

restart() {
  log "restarting cluster $name from $dir"
  local secs=${KINSPECT_START_TIMEOUT:-120} port
  # A saved cluster keeps the ports kwokctl gave it, and kwokctl gives a new cluster the first
  # free one, even when a stopped cluster owns it: while another cluster holds the API server's
  # port, this one cannot start. Say so at once rather than wait out the whole timeout.
  port=$(sed -n 's/^ *server: https:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$kc" | head -n 1)
  if [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "port $port of $name is taken, most likely by another running kwok cluster" \
      "(kwokctl get clusters); stop that one first"
    return 1
  fi
  quiet kwokctl start cluster --name "$name" --wait "${secs}s" || return 1
  wait_for "the API server" "$secs" healthy
}

stop() {
  [ -d "$dir" ] && quiet kwokctl stop cluster --name "$name"
  log "cluster $name stopped; its state stays in $dir"
}

down() {
  if [ -d "$dir" ]; then
    quiet kwokctl delete cluster --name "$name" || true
    rm -rf "$dir"
  fi
  log "cluster $name removed"
}

status() {
  healthy && log "running" || log "not running"
  echo "kubeconfig: $kc"
  echo "logs: $dir/logs/ (audit log: $dir/logs/audit.log)"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 up|stop|down|status" >&2; exit 2 ;;
esac
