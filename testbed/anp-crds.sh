#!/usr/bin/env bash
# Install the AdminNetworkPolicy and BaselineAdminNetworkPolicy CRDs (policy.networking.k8s.io
# v1alpha1, sigs.k8s.io/network-policy-api at NETWORK_POLICY_API_VERSION, taken from the Go
# module proxy) into the cluster of $KUBECTL, idempotently, and wait until they are Established.
# The experimental channel: a superset of the standard one (also `nodes` and `domainNames`
# peers and `namedPort`), so every field kinspect reads can be created. Only the e2e tests that
# need them call it (tests/e2e/test_admin_policy.py); with no objects they change no output.
#   testbed/anp-crds.sh              install (a no-op when this version is already there)
#   testbed/anp-crds.sh --print-dir  only download, print the module's directory
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${KINSPECT_CACHE:-$HOME/.cache/kinspect}
export PATH="$cache/bin/current:$PATH" GOTOOLCHAIN=local GOFLAGS=-mod=mod
# `go mod download` outside any module: the module cache keeps it, the proxy is asked once.
dir=$(cd /tmp && go mod download -json "sigs.k8s.io/network-policy-api@$NETWORK_POLICY_API_VERSION" \
  | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
channel="$dir/config/crd/experimental"
[ -f "$channel/policy.networking.k8s.io_adminnetworkpolicies.yaml" ] \
  || { echo "anp-crds.sh: no CRDs in '$dir'" >&2; exit 1; }
if [ "${1:-}" = "--print-dir" ]; then echo "$dir"; exit 0; fi
# KUBECTL may carry flags, e.g. "kubectl --kubeconfig FILE" (as the e2e fixture passes it).
read -r -a kubectl <<<"${KUBECTL:-kubectl}"
crds=(adminnetworkpolicies baselineadminnetworkpolicies)
# Already there at this version: nothing to do (the CRDs carry the bundle version annotation).
have=$("${kubectl[@]}" get crd baselineadminnetworkpolicies.policy.networking.k8s.io \
  -o 'jsonpath={.metadata.annotations.policy\.networking\.k8s\.io/bundle-version}' 2>/dev/null || true)
if [ "$have" != "$NETWORK_POLICY_API_VERSION" ]; then
  for c in "${crds[@]}"; do
    "${kubectl[@]}" apply --server-side --force-conflicts -f "$channel/policy.networking.k8s.io_$c.yaml" >&2
  done
fi
"${kubectl[@]}" wait --for condition=Established --timeout=60s \
  $(printf 'crd/%s.policy.networking.k8s.io ' "${crds[@]}") >&2
