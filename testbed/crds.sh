#!/usr/bin/env bash
# Install the Gateway API standard-channel CRDs (sigs.k8s.io/gateway-api at GATEWAY_API_VERSION,
# taken from the Go module proxy) into the cluster of $KUBECONFIG, each one that is missing, and
# wait until all are Established (crdlib.sh). Used by `make demo` and by the e2e fixture. Only
# the route kinds kinspect reads are installed (not ListenerSets, BackendTLSPolicies, or the
# channel's ValidatingAdmissionPolicy). In v1.6 TLS/TCP/UDPRoute are in the standard channel.
#   testbed/crds.sh            install the missing ones (a no-op when all are there)
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
# shellcheck source=crdlib.sh
. "$here/crdlib.sh"
install_missing gateway.networking.k8s.io "$GATEWAY_API_VERSION" "$dir/config/crd/standard" "${crds[@]}"
