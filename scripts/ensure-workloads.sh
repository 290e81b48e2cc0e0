#!/usr/bin/env bash
# Makes sure the workload tests have what runs workloads besides the API server, and prints
# (last line of stdout) a directory holding kube-controller-manager, kube-scheduler and kwok.
# (kube-apiserver, etcd and kubectl come from scripts/ensure-apiserver.sh, unchanged.)
#
# Built from Go modules like the API server (recipe: test/workloads/go.mod for the two
# Kubernetes controllers, the same k8s.io/kubernetes release and staging pins as
# test/apiserver/go.mod; test/workloads/kwok/go.mod for KWOK) once per machine and kept in
# a cache directory of its own, so this recipe can change without invalidating the API
# server's cache; later runs only check the cache.
#
# Where the binaries come from, first match wins:
#   1. $PUSHSYNC_WORKLOAD_ASSETS, when it holds all three;
#   2. ${PUSHSYNC_WORKLOADS_DIR:-$HOME/.cache/pushsync/workloads-<k8s version>-kwok-<kwok version>},
#      when it holds a build of the current recipe;
#   3. a fresh build into that directory (needs Go; takes minutes; progress on stderr).
#
# --no-build: only look, never build; exit 1 when nothing is there. Test helpers use it so a
# test hook never starts a long compile.
set -euo pipefail

# All of it in one function, so bash has read the whole file before running any of it: a
# checkout that changes this file during a long build cannot make it run half-edited lines.
main() {
  root="$(cd "$(dirname "$0")/.." && pwd)"
  # shellcheck source=lib/cached-build.sh
  . "$root/scripts/lib/cached-build.sh"
  parse_no_build "$@"
  recipe_dir="$root/test/workloads"
  kwok_dir="$recipe_dir/kwok"
  bins=(kube-controller-manager kube-scheduler kwok)
  override="${PUSHSYNC_WORKLOAD_ASSETS:-}"
  override_name=PUSHSYNC_WORKLOAD_ASSETS

  say() { printf 'ensure-workloads: %s\n' "$*" >&2; }
  fail() {
    say "ERROR: $*"
    say "Either install Go (go.dev/doc/install; the version test/workloads/go.mod names or newer) and rerun,"
    say "or point PUSHSYNC_WORKLOAD_ASSETS at a directory holding kube-controller-manager, kube-scheduler"
    say "and kwok (Kubernetes $k8s_version, KWOK $kwok_version)."
    exit 1
  }

  k8s_version="$(module_version "$recipe_dir/go.mod" k8s.io/kubernetes)"
  kwok_version="$(module_version "$kwok_dir/go.mod" sigs.k8s.io/kwok)"
  [ -n "$k8s_version" ] || { k8s_version=unknown; fail "cannot read the k8s.io/kubernetes version from $recipe_dir/go.mod"; }
  [ -n "$kwok_version" ] || { kwok_version=unknown; fail "cannot read the sigs.k8s.io/kwok version from $kwok_dir/go.mod"; }

  # Kubernetes' version stamping (k8s_ldflags, as for the API server), and KWOK's own (its hack/releases.sh).
  ldflags="$(k8s_ldflags "$k8s_version")"
  kwok_ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version"

  stamp="$(cat "$recipe_dir/go.mod" "$recipe_dir/go.sum" "$kwok_dir/go.mod" "$kwok_dir/go.sum" \
    && echo "CGO_ENABLED=0 -trimpath $ldflags | $kwok_ldflags")"
  stamp="$(printf '%s' "$stamp" | sha256sum | cut -d' ' -f1)"
  cache_dir="${PUSHSYNC_WORKLOADS_DIR:-$HOME/.cache/pushsync/workloads-$k8s_version-kwok-$kwok_version}"
  no_build_hint="Run 'bash scripts/ensure-workloads.sh' once (builds them with Go, about 15 minutes the first time), or 'npm test', which does that; or set PUSHSYNC_WORKLOAD_ASSETS to a directory holding all three."

  build_into() {
    local start=$SECONDS
    say "building kube-controller-manager and kube-scheduler $k8s_version with $(go version | cut -d' ' -f3) into $cache_dir"
    say "(once per machine: about 15 minutes on 2 cores after the API server's build, more before it; later runs reuse it)"
    (cd "$recipe_dir" && go build -trimpath -ldflags="$ldflags" -o "$1/" \
      k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler) \
      || fail "building kube-controller-manager/kube-scheduler failed (see the Go errors above)."
    say "kube-controller-manager and kube-scheduler built in $((SECONDS - start))s; building kwok $kwok_version"
    (cd "$kwok_dir" && go build -trimpath -ldflags="$kwok_ldflags" -o "$1/kwok" sigs.k8s.io/kwok/cmd/kwok) \
      || fail "building kwok failed (see the Go errors above)."
  }

  cached_build
}

main "$@"
exit
