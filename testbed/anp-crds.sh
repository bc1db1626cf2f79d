#!/usr/bin/env bash
# Install the AdminNetworkPolicy and BaselineAdminNetworkPolicy CRDs (policy.networking.k8s.io
# v1alpha1, sigs.k8s.io/network-policy-api at NETWORK_POLICY_API_VERSION, taken from the Go
# module proxy) into the cluster of $KUBECTL, each one that is missing, and wait until they are
# Established (crdlib.sh).
# The experimental channel: a superset of the standard one (also `nodes` and `domainNames`
# peers and `namedPort`), so every field kinspect reads can be created. Only the e2e tests that
# need them call it (tests/e2e/test_admin_policy.py); with no objects they change no output.
#   testbed/anp-crds.sh              install the missing ones (a no-op when both are there)
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
# shellcheck source=crdlib.sh
. "$here/crdlib.sh"
install_missing policy.networking.k8s.io "$NETWORK_POLICY_API_VERSION" "$channel" "${crds[@]}"
