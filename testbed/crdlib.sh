# shellcheck shell=bash
# Sourced by crds.sh and anp-crds.sh: install each CRD of a bundle that the cluster lacks.
#
#   install_missing GROUP VERSION DIR NAME...   kubectl from the array `kubectl`
#
# Each CRD on its own: a cluster may hold some of a bundle's CRDs (installed by hand, or from an
# older bundle that lacked some kinds), and one present CRD says nothing about the others. A
# missing one is installed from DIR/GROUP_NAME.yaml; one at VERSION (its GROUP/bundle-version
# annotation) is left alone; one at another version, or with no such annotation (made by
# someone else), is kept and said so: on a user's cluster it is theirs. Then all must be
# Established within 60 s.
install_missing() {
  local group=$1 version=$2 dir=$3 have c; shift 3
  local key="${group//./\\.}\/bundle-version"
  for c in "$@"; do
    have=$("${kubectl[@]}" get crd "$c.$group" --ignore-not-found \
      -o "jsonpath={.metadata.name}/{.metadata.annotations.$key}")
    case "$have" in
      "") echo "${0##*/}: installing $c.$group (missing)" >&2
          "${kubectl[@]}" apply --server-side --force-conflicts -f "$dir/${group}_$c.yaml" >&2 ;;
      */"$version") ;;
      *) echo "${0##*/}: keeping $c.$group at bundle version '${have#*/}' (not $version): it was there" \
           "already" >&2 ;;
    esac
  done
  "${kubectl[@]}" wait --for condition=Established --timeout=60s \
    $(printf "crd/%s.$group " "$@") >&2
}
