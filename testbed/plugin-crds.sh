#!/usr/bin/env bash
# Install the network plugins' policy CRDs (issue 23 item 8) into the cluster of $KUBECTL, each
# one that is missing, and wait until they are Established:
#   cilium.io/v2              CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy
#                             (github.com/cilium/cilium at CILIUM_VERSION)
#   crd.projectcalico.org/v1  NetworkPolicy, GlobalNetworkPolicy
#                             (github.com/projectcalico/calico at CALICO_VERSION)
#   crd.antrea.io/v1beta1     NetworkPolicy, ClusterNetworkPolicy (a stand-in of our own:
#                             the Go module proxy refuses antrea.io/antrea; versions.env)
# Modules come from the Go module proxy (the module cache keeps them). No controller runs: the
# objects are data, which is all kinspect reads of them. Only the e2e test that needs them calls
# it (tests/e2e/test_plugin_policies.py). A CRD already there (whoever made it) is left alone.
#   testbed/plugin-crds.sh              install the missing ones (a no-op when all are there)
#   testbed/plugin-crds.sh --print-dir  only download, print the two modules' directories
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${KINSPECT_CACHE:-$HOME/.cache/kinspect}
export PATH="$cache/bin/current:$PATH" GOTOOLCHAIN=local GOFLAGS=-mod=mod
module_dir() {  # `go mod download` outside any module prints the module's Dir
  (cd /tmp && go mod download -json "$1") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
cilium=$(module_dir "github.com/cilium/cilium@$CILIUM_VERSION")/pkg/k8s/apis/cilium.io/client/crds/v2
calico=$(module_dir "github.com/projectcalico/calico@$CALICO_VERSION")/libcalico-go/config/crd
# CRD name -> its file.
declare -A files=(
  [ciliumnetworkpolicies.cilium.io]="$cilium/ciliumnetworkpolicies.yaml"
  [ciliumclusterwidenetworkpolicies.cilium.io]="$cilium/ciliumclusterwidenetworkpolicies.yaml"
  [networkpolicies.crd.projectcalico.org]="$calico/crd.projectcalico.org_networkpolicies.yaml"
  [globalnetworkpolicies.crd.projectcalico.org]="$calico/crd.projectcalico.org_globalnetworkpolicies.yaml"
  [networkpolicies.crd.antrea.io]="$here/antrea-policy-crds.yaml"
  [clusternetworkpolicies.crd.antrea.io]="$here/antrea-policy-crds.yaml"
)
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "plugin-crds.sh: no CRD file '$f'" >&2; exit 1; }
done
if [ "${1:-}" = "--print-dir" ]; then printf '%s\n' "$cilium" "$calico"; exit 0; fi
# KUBECTL may carry flags, e.g. "kubectl --kubeconfig FILE" (as the e2e fixture passes it).
read -r -a kubectl <<<"${KUBECTL:-kubectl}"
applied=()
for crd in "${!files[@]}"; do
  [ -n "$("${kubectl[@]}" get crd "$crd" --ignore-not-found -o name)" ] && continue
  f=${files[$crd]}
  case " ${applied[*]} " in *" $f "*) continue ;; esac  # one file may hold two CRDs
  echo "${0##*/}: installing $crd (missing)" >&2
  # Server-side: Cilium's CRDs are 400 kB, over the client-side apply annotation's limit.
  "${kubectl[@]}" apply --server-side --force-conflicts -f "$f" >&2
  applied+=("$f")
done
"${kubectl[@]}" wait --for condition=Established --timeout=60s \
  $(printf "crd/%s " "${!files[@]}") >&2
