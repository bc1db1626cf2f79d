#!/usr/bin/env bash
# Build cyclonus (an independent NetworkPolicy analyzer, the differential test's oracle) with
# the installed Go from the Go module proxy, into the test bed's binary cache keyed by version.
# Rebuilt only when CYCLONUS_VERSION changes. Prints the binary's path as the last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${KINSPECT_CACHE:-$HOME/.cache/kinspect}
dir="$cache/bin/cyclonus-$CYCLONUS_VERSION"
out="$dir/cyclonus"
if [ -x "$out" ] && [ -f "$out.ok" ]; then echo "$out"; exit 0; fi
mkdir -p "$dir" "$cache/build-logs"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$dir"
t0=$SECONDS
echo "building cyclonus $CYCLONUS_VERSION" >&2
go install -trimpath -ldflags "-s -w" "github.com/mattfenwick/cyclonus/cmd/cyclonus@$CYCLONUS_VERSION" \
  >"$cache/build-logs/cyclonus.log" 2>&1 || { cat "$cache/build-logs/cyclonus.log" >&2; exit 1; }
touch "$out.ok"
echo "built cyclonus in $((SECONDS - t0))s" >&2
echo "$out"
