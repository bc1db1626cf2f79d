#!/usr/bin/env bash
# Build the test bed's binaries with the installed Go from the Go module proxy, into a cache
# outside the repo keyed by version. A component is rebuilt only when its version changes.
# Prints the bin directory as the last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${KINSPECT_CACHE:-$HOME/.cache/kinspect}
bin="$cache/bin"
log="$cache/build-logs"
mkdir -p "$bin" "$log"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

built() { [ -x "$1" ] && [ -f "$1.ok" ]; }
stamp() { touch "$1.ok"; }

# Build one command from one wrapper module: build MODULE_DIR OUT PKG [LDFLAGS]
build() {
  local mod=$1 out=$2 pkg=$3 ldflags=${4:-}
  if built "$out"; then return 0; fi
  local t0=$SECONDS
  echo "building $(basename "$out") ($pkg)" >&2
  (cd "$here/go/$mod" && go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg") \
    >"$log/$(basename "$out").log" 2>&1 || { cat "$log/$(basename "$out").log" >&2; return 1; }
  mv "$out.tmp" "$out"; stamp "$out"
  echo "built $(basename "$out") in $((SECONDS - t0))s" >&2
}

k8s_ldflags() {
  local v=${K8S_VERSION#v} pkg
  local major=${v%%.*} rest=${v#*.}; local minor=${rest%%.*}
  local out=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    out+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    out+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$out"
}

kdir="$bin/k8s-$K8S_VERSION"; edir="$bin/etcd-$ETCD_VERSION"; wdir="$bin/kwok-$KWOK_VERSION"
mkdir -p "$kdir" "$edir" "$wdir"
ld=$(k8s_ldflags)
for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  build k8s "$kdir/$c" "k8s.io/kubernetes/cmd/$c" "$ld"
done
build etcd "$edir/etcd" go.etcd.io/etcd/server/v3
kv="-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
build kwok "$wdir/kwok" sigs.k8s.io/kwok/cmd/kwok "$kv"
build kwok "$wdir/kwokctl" sigs.k8s.io/kwok/cmd/kwokctl "$kv"

# One directory of links, so callers need a single PATH entry.
cur="$bin/current"; mkdir -p "$cur"
for f in "$kdir"/* "$edir"/* "$wdir"/*; do
  case $f in *.ok|*.tmp) continue;; esac
  ln -sf "$f" "$cur/$(basename "$f")"
done
echo "$cur"
