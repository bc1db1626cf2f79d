#!/usr/bin/env bash
# `make demo`: bring the test bed up, apply the demo workload, and show it with kinspect.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kc=$("$root/testbed/cluster.sh" up | tail -n 1)
export KUBECONFIG=$kc PATH="${KINSPECT_CACHE:-$HOME/.cache/kinspect}/bin/current:$PATH"
"$root/testbed/crds.sh"  # the Gateway API CRDs (versions.env), before apply.sh uses them
"$root/examples/apply.sh" demo 2>/dev/null
# Wait (with a deadline) until web has its two ready endpoints.
deadline=$((SECONDS + 60))
until [ "$(kubectl get endpointslices -n demo -l kubernetes.io/service-name=web \
  -o 'jsonpath={range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{" "}{end}' | wc -w)" -ge 2 ]; do
  ((SECONDS < deadline)) || { echo "demo: endpoints not ready after 60s" >&2; exit 1; }
  sleep 0.5
done
ks="$root/.venv/bin/kinspect"
set -x
"$ks" map -n demo
"$ks" map web -n demo -o tree
"$ks" trace "$(kubectl get svc web -n demo -o 'jsonpath={.spec.clusterIP}')":80
"$ks" trace 192.0.2.10:30080
"$ks" trace http://shop.example.com/api/orders -n demo
"$ks" trace 203.0.113.20:443 --host shop.example.com --path /api/health -n demo
"$ks" trace http://store.example.net/api/orders -n demo     # through the Gateway's HTTPRoute
"$ks" trace 203.0.113.30:80 --host broken.example.net --path /api -n demo || :  # exit 6: broken
"$ks" map -n demo --entrypoints
{ set +x; } 2>/dev/null
echo
echo "The test bed keeps running. Try: KUBECONFIG=$kc $ks ips"
