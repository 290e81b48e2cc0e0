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

  no_build=false
  case "${1:-}" in
    --no-build) no_build=true ;;
    "") ;;
    *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
  esac

  root="$(cd "$(dirname "$0")/.." && pwd)"
  recipe_dir="$root/test/workloads"
  kwok_dir="$recipe_dir/kwok"
  bins=(kube-controller-manager kube-scheduler kwok)

  say() { printf 'ensure-workloads: %s\n' "$*" >&2; }
  fail() {
    say "ERROR: $*"
    say "Either install Go (go.dev/doc/install; the version test/workloads/go.mod names or newer) and rerun,"
    say "or point PUSHSYNC_WORKLOAD_ASSETS at a directory holding kube-controller-manager, kube-scheduler"
    say "and kwok (Kubernetes $k8s_version, KWOK $kwok_version)."
    exit 1
  }

  has_all() {
    local b
    for b in "${bins[@]}"; do [ -x "$1/$b" ] || return 1; done
  }

  k8s_version="$(sed -n 's/^[[:space:]]*\(require[[:space:]]\+\)\?k8s\.io\/kubernetes \(v[^[:space:]]*\).*/\2/p' "$recipe_dir/go.mod" | head -n1)"
  kwok_version="$(sed -n 's/^[[:space:]]*\(require[[:space:]]\+\)\?sigs\.k8s\.io\/kwok \(v[^[:space:]]*\).*/\2/p' "$kwok_dir/go.mod" | head -n1)"
  [ -n "$k8s_version" ] || { k8s_version=unknown; fail "cannot read the k8s.io/kubernetes version from $recipe_dir/go.mod"; }
  [ -n "$kwok_version" ] || { kwok_version=unknown; fail "cannot read the sigs.k8s.io/kwok version from $kwok_dir/go.mod"; }

  if [ -n "${PUSHSYNC_WORKLOAD_ASSETS:-}" ]; then
    if has_all "$PUSHSYNC_WORKLOAD_ASSETS"; then
      echo "$PUSHSYNC_WORKLOAD_ASSETS"
      return 0
    fi
    say "PUSHSYNC_WORKLOAD_ASSETS=$PUSHSYNC_WORKLOAD_ASSETS lacks one of ${bins[*]}; using the pushsync build instead"
  fi

  k8s_minor="${k8s_version#v1.}"
  k8s_minor="${k8s_minor%%.*}"

  # The same version stamping as scripts/ensure-apiserver.sh (what kubernetes'
  # hack/lib/version.sh injects at release time), and KWOK's own (its hack/releases.sh).
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor -X $pkg.gitTreeState=clean"
  done
  kwok_ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version"

  # A cache only counts when it was built from exactly this recipe: any change to the
  # module files or the flags gets a fresh build instead of silently stale binaries.
  stamp="$(cat "$recipe_dir/go.mod" "$recipe_dir/go.sum" "$kwok_dir/go.mod" "$kwok_dir/go.sum" \
    && echo "CGO_ENABLED=0 -trimpath $ldflags | $kwok_ldflags")"
  stamp="$(printf '%s' "$stamp" | sha256sum | cut -d' ' -f1)"

  cache_dir="${PUSHSYNC_WORKLOADS_DIR:-$HOME/.cache/pushsync/workloads-$k8s_version-kwok-$kwok_version}"
  is_current() { has_all "$1" && [ "$(cat "$1/recipe.sha256" 2>/dev/null)" = "$stamp" ]; }

  if is_current "$cache_dir"; then
    echo "$cache_dir"
    return 0
  fi

  if $no_build; then
    say "ERROR: no current build of kube-controller-manager, kube-scheduler and kwok in $cache_dir."
    say "Run 'bash scripts/ensure-workloads.sh' once (builds them with Go, about 15 minutes the first time),"
    say "or 'npm test', which does that; or set PUSHSYNC_WORKLOAD_ASSETS to a directory holding all three."
    exit 1
  fi
  command -v go >/dev/null 2>&1 || fail "kube-controller-manager/kube-scheduler/kwok are not in $cache_dir and 'go' is not installed to build them."

  parent="$(dirname "$cache_dir")"
  mkdir -p "$parent"

  # Two test runs at once must not both spend a quarter hour compiling on two cores:
  # the second waits for the first, then finds the cache ready.
  exec 9>"$parent/.$(basename "$cache_dir").lock"
  if command -v flock >/dev/null 2>&1; then
    flock -n 9 || { say "another run is building $cache_dir; waiting for it"; flock 9; }
    if is_current "$cache_dir"; then
      echo "$cache_dir"
      return 0
    fi
  fi

  # Build into a temporary directory and rename it into place, so a run that is killed
  # (or a racing run without flock) never leaves a half-filled cache behind.
  tmp="$(mktemp -d "$parent/.build-workloads.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT

  # The checked-in go.sum files are the recipe: never rewrite them, never read a go.work.
  export CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"
  start=$SECONDS
  say "building kube-controller-manager and kube-scheduler $k8s_version with $(go version | cut -d' ' -f3) into $cache_dir"
  say "(once per machine: about 15 minutes on 2 cores after the API server's build, more before it; later runs reuse it)"
  (cd "$recipe_dir" && go build -trimpath -ldflags="$ldflags" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler) \
    || fail "building kube-controller-manager/kube-scheduler failed (see the Go errors above)."
  say "kube-controller-manager and kube-scheduler built in $((SECONDS - start))s; building kwok $kwok_version"
  (cd "$kwok_dir" && go build -trimpath -ldflags="$kwok_ldflags" -o "$tmp/kwok" sigs.k8s.io/kwok/cmd/kwok) \
    || fail "building kwok failed (see the Go errors above)."
  echo "$stamp" >"$tmp/recipe.sha256"
  chmod 755 "$tmp"
  say "all built in $((SECONDS - start))s"

  if [ -e "$cache_dir" ]; then
    # A stale build of an older recipe: move it aside first, since rename cannot replace
    # a non-empty directory.
    old="$(mktemp -d "$parent/.old.XXXXXX")"
    mv "$cache_dir" "$old/" 2>/dev/null || true
    rm -rf "$old"
  fi
  if ! mv -T "$tmp" "$cache_dir" 2>/dev/null; then
    is_current "$cache_dir" || fail "could not move the build into $cache_dir"
  fi
  echo "$cache_dir"
}

main "$@"
exit
