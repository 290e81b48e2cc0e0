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

  no_build=false
  case "${1:-}" in
    --no-build) no_build=true ;;
    "") ;;
    *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
  esac

  root="$(cd "$(dirname "$0")/.." && pwd)"
  recipe_dir="$root/test/apiserver"
  bins=(kube-apiserver etcd kubectl)

  say() { printf 'ensure-apiserver: %s\n' "$*" >&2; }
  fail() {
    say "ERROR: $*"
    say "Either install Go (go.dev/doc/install; the version test/apiserver/go.mod names or newer) and rerun,"
    say "or point KUBEBUILDER_ASSETS at a directory holding kube-apiserver, etcd and kubectl"
    say "(for example the one printed by: setup-envtest use -p path)."
    exit 1
  }

  has_all() {
    local b
    for b in "${bins[@]}"; do [ -x "$1/$b" ] || return 1; done
  }

  if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
    if has_all "$KUBEBUILDER_ASSETS"; then
      echo "$KUBEBUILDER_ASSETS"
      return 0
    fi
    say "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks one of ${bins[*]}; using the pushsync build instead"
  fi

  k8s_version="$(sed -n 's/^[[:space:]]*\(require[[:space:]]\+\)\?k8s\.io\/kubernetes \(v[^[:space:]]*\).*/\2/p' "$recipe_dir/go.mod" | head -n1)"
  [ -n "$k8s_version" ] || fail "cannot read the k8s.io/kubernetes version from $recipe_dir/go.mod"
  k8s_minor="${k8s_version#v1.}"
  k8s_minor="${k8s_minor%%.*}"

  # Without these the API server reports v0.0.0-master as its version (what
  # kubernetes' hack/lib/version.sh injects at release time).
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor -X $pkg.gitTreeState=clean"
  done

  # A cache only counts when it was built from exactly this recipe: any change to the
  # module files or the flags gets a fresh build instead of silently stale binaries.
  stamp="$(cat "$recipe_dir/go.mod" "$recipe_dir/go.sum" "$recipe_dir/etcd/go.mod" "$recipe_dir/etcd/go.sum" \
    && echo "CGO_ENABLED=0 -trimpath $ldflags")"
  stamp="$(printf '%s' "$stamp" | sha256sum | cut -d' ' -f1)"

  cache_dir="${PUSHSYNC_ASSETS_DIR:-$HOME/.cache/pushsync/k8s-$k8s_version}"
  is_current() { has_all "$1" && [ "$(cat "$1/recipe.sha256" 2>/dev/null)" = "$stamp" ]; }

  if is_current "$cache_dir"; then
    echo "$cache_dir"
    return 0
  fi

  if $no_build; then
    say "ERROR: no current build of kube-apiserver, etcd and kubectl in $cache_dir."
    say "Run 'bash scripts/ensure-apiserver.sh' once (builds them with Go, ~20 minutes the first time),"
    say "or 'npm test', which does that; or set KUBEBUILDER_ASSETS to setup-envtest's directory."
    exit 1
  fi
  command -v go >/dev/null 2>&1 || fail "kube-apiserver/etcd/kubectl are not in $cache_dir and 'go' is not installed to build them."

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
  tmp="$(mktemp -d "$parent/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT

  # The checked-in go.sum is the recipe: never rewrite it, never read a go.work around it.
  export CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"
  start=$SECONDS
  say "building kube-apiserver and kubectl $k8s_version with $(go version | cut -d' ' -f3) into $cache_dir"
  say "(once per machine: about 12-25 minutes on 2 cores; later runs reuse it)"
  (cd "$recipe_dir" && go build -trimpath -ldflags="$ldflags" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl) \
    || fail "building kube-apiserver/kubectl failed (see the Go errors above)."
  say "kube-apiserver and kubectl built in $((SECONDS - start))s; building etcd"
  (cd "$recipe_dir/etcd" && go build -trimpath -ldflags="-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3) \
    || fail "building etcd failed (see the Go errors above)."
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
