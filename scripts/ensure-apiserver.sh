#!/usr/bin/env bash
# Makes sure the cluster tests have a real control plane to start, and prints (last line
# of stdout) a directory holding kube-apiserver, etcd and kubectl.
#
# No package ships kube-apiserver and there is no Docker, so the binaries are built from
# Go modules (recipe: test/apiserver/go.mod and test/apiserver/etcd/go.mod) once per
# machine and kept in a cache directory; later runs only check that cache.
#
# Where the binaries come from, first match wins:
#   1. $KUBEBUILDER_ASSETS, when it holds all three (e.g. setup-envtest's directory);
#   2. ${PUSHSYNC_ASSETS_DIR:-$HOME/.cache/pushsync/k8s-<version>}, when it holds a build
#      of the current recipe;
#   3. a fresh build into that directory (needs Go; takes minutes; progress on stderr).
#
# --no-build: only look, never build; exit 1 when nothing is there. Test helpers use it so a
# test hook never starts a quarter-hour compile.
set -euo pipefail

# All of it in one function, so bash has read the whole file before running any of it: a
# checkout that changes this file during a long build cannot make it run half-edited lines.
main() {
  root="$(cd "$(dirname "$0")/.." && pwd)"
  # shellcheck source=lib/cached-build.sh
  . "$root/scripts/lib/cached-build.sh"
  parse_no_build "$@"
  recipe_dir="$root/test/apiserver"
  bins=(kube-apiserver etcd kubectl)
  override="${KUBEBUILDER_ASSETS:-}"
  override_name=KUBEBUILDER_ASSETS

  say() { printf 'ensure-apiserver: %s\n' "$*" >&2; }
  fail() {
    say "ERROR: $*"
    say "Either install Go (go.dev/doc/install; the version test/apiserver/go.mod names or newer) and rerun,"
    say "or point KUBEBUILDER_ASSETS at a directory holding kube-apiserver, etcd and kubectl"
    say "(for example the one printed by: setup-envtest use -p path)."
    exit 1
  }

  # A directory the user points at needs no recipe: look at it before reading one.
  if [ -n "$override" ] && has_all "$override"; then
    echo "$override"
    return 0
  fi

  k8s_version="$(module_version "$recipe_dir/go.mod" k8s.io/kubernetes)"
  [ -n "$k8s_version" ] || fail "cannot read the k8s.io/kubernetes version from $recipe_dir/go.mod"

  ldflags="$(k8s_ldflags "$k8s_version")"

  stamp="$(cat "$recipe_dir/go.mod" "$recipe_dir/go.sum" "$recipe_dir/etcd/go.mod" "$recipe_dir/etcd/go.sum" \
    && echo "CGO_ENABLED=0 -trimpath $ldflags")"
  stamp="$(printf '%s' "$stamp" | sha256sum | cut -d' ' -f1)"
  cache_dir="${PUSHSYNC_ASSETS_DIR:-$HOME/.cache/pushsync/k8s-$k8s_version}"
  no_build_hint="Run 'bash scripts/ensure-apiserver.sh' once (builds them with Go, ~20 minutes the first time), or 'npm test', which does that; or set KUBEBUILDER_ASSETS to setup-envtest's directory."

  build_into() {
    local start=$SECONDS
    say "building kube-apiserver and kubectl $k8s_version with $(go version | cut -d' ' -f3) into $cache_dir"
    say "(once per machine: about 12-25 minutes on 2 cores; later runs reuse it)"
    (cd "$recipe_dir" && go build -trimpath -ldflags="$ldflags" -o "$1/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl) \
      || fail "building kube-apiserver/kubectl failed (see the Go errors above)."
    say "kube-apiserver and kubectl built in $((SECONDS - start))s; building etcd"
    (cd "$recipe_dir/etcd" && go build -trimpath -ldflags="-s -w" -o "$1/etcd" go.etcd.io/etcd/server/v3) \
      || fail "building etcd failed (see the Go errors above)."
  }

  cached_build
}

main "$@"
exit
