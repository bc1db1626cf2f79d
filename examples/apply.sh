#!/usr/bin/env bash
# Apply the demo workload into NAMESPACE of the current kubectl context (or $KUBECONFIG):
#   examples/apply.sh NAMESPACE [--any-nodeport]
# Maps the manifest's node names (kwok-node-0..2, the test bed's) onto the cluster's own
# schedulable nodes when they differ (on kind: its workers), and sets the `lb` service's
# status.loadBalancer.ingress to 203.0.113.10 (TEST-NET-3: data, never dialed), since no
# load-balancer controller runs here. --any-nodeport lets the API server pick web's nodePort
# instead of 30080 (so a second copy can live in the same cluster).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ns=${1:?usage: apply.sh NAMESPACE [--any-nodeport]}
# KUBECTL may carry flags, e.g. "kubectl --context kind-kinspect".
read -r -a kubectl <<<"${KUBECTL:-kubectl}"
manifest=$(cat "$here/demo.yaml")
if [ "${2:-}" = "--any-nodeport" ]; then
  manifest=${manifest//, nodePort: 30080/}
fi
mapfile -t nodes < <("${kubectl[@]}" get nodes \
  -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.spec.taints[*].effect}{"\n"}{end}' \
  | awk '$0 !~ /NoSchedule/ {print $1}' | sort)
if [ ${#nodes[@]} -eq 0 ]; then echo "apply.sh: no schedulable nodes" >&2; exit 1; fi
if ! printf '%s\n' "${nodes[@]}" | grep -qx kwok-node-0; then
  for i in 0 1 2; do
    manifest=${manifest//nodeName: kwok-node-$i/nodeName: ${nodes[$((i % ${#nodes[@]}))]}}
  done
fi
"${kubectl[@]}" get namespace "$ns" >/dev/null 2>&1 || "${kubectl[@]}" create namespace "$ns" >/dev/null
# The namespace's default ServiceAccount comes from a controller; admission wants it first.
for _ in $(seq 1 100); do
  "${kubectl[@]}" get serviceaccount default -n "$ns" >/dev/null 2>&1 && break
  sleep 0.2
done
printf '%s\n' "$manifest" | "${kubectl[@]}" apply -n "$ns" -f - >&2
"${kubectl[@]}" patch service lb -n "$ns" --subresource=status --type=merge \
  -p '{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.10"}]}}}' >/dev/null
# Entry points (Ingress), and the address an Ingress controller would have written.
"${kubectl[@]}" apply -n "$ns" -f "$here/entry.yaml" >&2
"${kubectl[@]}" patch ingress shop -n "$ns" --subresource=status --type=merge \
  -p '{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.20"}]}}}' >/dev/null
# Gateway API entry points, only where its CRDs are installed (testbed/crds.sh).
if "${kubectl[@]}" get crd gateways.gateway.networking.k8s.io httproutes.gateway.networking.k8s.io \
    grpcroutes.gateway.networking.k8s.io >/dev/null 2>&1; then
  "${kubectl[@]}" apply -n "$ns" -f "$here/gateway.yaml" >&2
  "${kubectl[@]}" patch gateway shop-gw -n "$ns" --subresource=status --type=merge \
    -p '{"status":{"addresses":[{"type":"IPAddress","value":"203.0.113.30"}]}}' >/dev/null
  # What a controller would write: store accepted (agreeing with kinspect), elsewhere accepted
  # although its hostname matches no listener (kinspect shows both).
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for route in store elsewhere; do
    cond='{"type":"Accepted","status":"True","reason":"Accepted","message":"","lastTransitionTime":"'$now'","observedGeneration":1}'
    "${kubectl[@]}" patch httproute "$route" -n "$ns" --subresource=status --type=merge -p \
      '{"status":{"parents":[{"parentRef":{"name":"shop-gw","sectionName":"http"},"controllerName":"example.com/kinspect-demo","conditions":['"$cond"']}]}}' >/dev/null
  done
fi
