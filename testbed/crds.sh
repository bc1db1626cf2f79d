#!/usr/bin/env bash
# Install the Gateway API standard-channel CRDs (sigs.k8s.io/gateway-api at GATEWAY_API_VERSION,
# taken from the Go module proxy) into the cluster of $KUBECONFIG, idempotently, and wait until
# they are Established. Used by `make demo` and by the e2e fixture that needs them. Only the
# route kinds kinspect reads are installed (not ListenerSets, BackendTLSPolicies, or the
# channel's ValidatingAdmissionPolicy). In v1.6 TLS/TCP/UDPRoute are in the standard channel.
#   testbed/crds.sh            install (a no-op when this version is already there)
#   testbed/crds.sh --print-dir   only download, print the module's directory
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${KINSPECT_CACHE:-$HOME/.cache/kinspect}
export PATH="$cache/bin/current:$PATH" GOTOOLCHAIN=local GOFLAGS=-mod=mod
# `go mod download` outside any module: the module cache keeps it, the proxy is asked once.
dir=$(cd /tmp && go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir/config/crd/standard" ] || { echo "crds.sh: no CRDs in '$dir'" >&2; exit 1; }
if [ "${1:-}" = "--print-dir" ]; then echo "$dir"; exit 0; fi
# KUBECTL may carry flags, e.g. "kubectl --context kind-kinspect" (as in examples/apply.sh).
read -r -a kubectl <<<"${KUBECTL:-kubectl}"
crds=(gatewayclasses gateways httproutes grpcroutes referencegrants tlsroutes tcproutes udproutes)
# Already there at this version: nothing to do (the CRDs carry the bundle version annotation).
have=$("${kubectl[@]}" get crd httproutes.gateway.networking.k8s.io \
  -o 'jsonpath={.metadata.annotations.gateway\.networking\.k8s\.io/bundle-version}' 2>/dev/null || true)
if [ "$have" != "$GATEWAY_API_VERSION" ]; then
  for c in "${crds[@]}"; do
    "${kubectl[@]}" apply --server-side --force-conflicts -f "$dir/config/crd/standard/gateway.networking.k8s.io_$c.yaml" >&2
  done
fi
"${kubectl[@]}" wait --for condition=Established --timeout=60s \
  $(printf 'crd/%s.gateway.networking.k8s.io ' "${crds[@]}") >&2
