#!/usr/bin/env bash
# Makes sure rendering (lib/render/) has its tools, and prints (last line of stdout) a
# directory holding kustomize and helm.
#
# Built from Go modules (recipe: test/render-tools/kustomize/go.mod for kustomize,
# test/render-tools/helm/go.mod for Helm; each its own module so neither moves the other's
# dependencies) once per machine, stamped with their release versions the way their own
# release builds do, and kept in a cache directory of their own; later runs only check it.
#
# Where the binaries come from, first match wins:
#   1. $PUSHSYNC_RENDER_TOOLS, when it holds both (not with --arch: it is the host's tools);
#   2. ${PUSHSYNC_RENDER_TOOLS_DIR:-$HOME/.cache/pushsync/render-tools-kustomize-<v>-helm-<v>},
#      when it holds a build of the current recipe;
#   3. a fresh build into that directory (needs Go; a few minutes; progress on stderr).
#
# --no-build: only look, never build; exit 1 when nothing is there. lib/render/tools.ts and
# the test helpers use it so looking never starts a long compile.
# --arch ARCH: linux/ARCH binaries (e.g. arm64, the Lambda functions' architecture),
# cross-compiled into their own directory: the one above with -linux-ARCH appended.
set -euo pipefail

# All of it in one function, so bash has read the whole file before running any of it: a
# checkout that changes this file during a long build cannot make it run half-edited lines.
main() {
  root="$(cd "$(dirname "$0")/.." && pwd)"
  # shellcheck source=lib/cached-build.sh
  . "$root/scripts/lib/cached-build.sh"
  usage() { echo "usage: $0 [--no-build] [--arch ARCH]" >&2; exit 2; }
  no_build=false
  arch=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --no-build) no_build=true ;;
      --arch) [ $# -ge 2 ] || usage; arch="$2"; shift ;;
      --arch=*) arch="${1#--arch=}" ;;
      *) usage ;;
    esac
    shift
  done
  case "$arch" in
    "" | amd64 | arm64) ;;
    *) echo "ensure-render-tools: --arch must be amd64 or arm64, not '$arch'" >&2; exit 2 ;;
  esac

  kustomize_dir="$root/test/render-tools/kustomize"
  helm_dir="$root/test/render-tools/helm"
  bins=(kustomize helm)
  override_name=PUSHSYNC_RENDER_TOOLS
  override="${PUSHSYNC_RENDER_TOOLS:-}"
  [ -z "$arch" ] || override=""

  say() { printf 'ensure-render-tools: %s\n' "$*" >&2; }
  fail() {
    say "ERROR: $*"
    say "Either install Go (go.dev/doc/install; the version test/render-tools/*/go.mod names or newer) and rerun,"
    say "or put kustomize >= v5.4 and helm >= v3.15 on PATH (lib/render finds them there),"
    say "or point PUSHSYNC_RENDER_TOOLS at a directory holding both (kustomize $kustomize_version, helm $helm_version)."
    exit 1
  }

  kustomize_version="$(module_version "$kustomize_dir/go.mod" sigs.k8s.io/kustomize/kustomize/v5)"
  helm_version="$(module_version "$helm_dir/go.mod" helm.sh/helm/v3)"
  client_go_version="$(module_version "$helm_dir/go.mod" k8s.io/client-go)"
  [ -n "$kustomize_version" ] || { kustomize_version=unknown; fail "cannot read the sigs.k8s.io/kustomize/kustomize/v5 version from $kustomize_dir/go.mod"; }
  [ -n "$helm_version" ] || { helm_version=unknown; fail "cannot read the helm.sh/helm/v3 version from $helm_dir/go.mod"; }
  [ -n "$client_go_version" ] || fail "cannot read the k8s.io/client-go version from $helm_dir/go.mod"

  # kustomize's release build (its goreleaser config): provenance.version, plus buildDate
  # (added at build time below, not part of the recipe).
  kustomize_ldflags="-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$kustomize_version"
  # Helm's Makefile: the release version with empty metadata (a release, not "+unreleased"),
  # and the Kubernetes version its client-go speaks, which `helm template` reports as
  # .Capabilities.KubeVersion (client-go v0.37 -> 1.37).
  local k8s_minor="${client_go_version#v0.}"
  k8s_minor="${k8s_minor%%.*}"
  helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.metadata="
  helm_ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  local pkg
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
  done

  target="${arch:+linux/$arch}"
  stamp="$(cat "$kustomize_dir/go.mod" "$kustomize_dir/go.sum" "$helm_dir/go.mod" "$helm_dir/go.sum" \
    && echo "CGO_ENABLED=0 -trimpath $kustomize_ldflags | $helm_ldflags | ${target:-native}")"
  stamp="$(printf '%s' "$stamp" | sha256sum | cut -d' ' -f1)"
  cache_dir="${PUSHSYNC_RENDER_TOOLS_DIR:-$HOME/.cache/pushsync/render-tools-kustomize-$kustomize_version-helm-$helm_version}"
  [ -z "$arch" ] || cache_dir="$cache_dir-linux-$arch"
  no_build_hint="Run 'bash scripts/ensure-render-tools.sh${arch:+ --arch $arch}' once (builds them with Go, a few minutes the first time), or 'npm test', which does that; or put kustomize >= v5.4 and helm >= v3.15 on PATH, or set PUSHSYNC_RENDER_TOOLS to a directory holding both."

  build_into() {
    local start=$SECONDS
    # cached_build exports CGO_ENABLED=0, which is what makes the cross-compile need no C toolchain.
    if [ -n "$arch" ]; then export GOOS=linux GOARCH="$arch"; fi
    local date
    date="$(date -u +'%Y-%m-%dT%H:%M:%SZ')"
    say "building kustomize $kustomize_version and helm $helm_version${target:+ for $target} with $(go version | cut -d' ' -f3) into $cache_dir"
    say "(once per machine: a few minutes on 2 cores; later runs reuse it)"
    (cd "$kustomize_dir" && go build -trimpath -ldflags="$kustomize_ldflags -X sigs.k8s.io/kustomize/api/provenance.buildDate=$date" \
      -o "$1/kustomize" sigs.k8s.io/kustomize/kustomize/v5) \
      || fail "building kustomize failed (see the Go errors above)."
    say "kustomize built in $((SECONDS - start))s; building helm"
    (cd "$helm_dir" && go build -trimpath -ldflags="$helm_ldflags" -o "$1/helm" helm.sh/helm/v3/cmd/helm) \
      || fail "building helm failed (see the Go errors above)."
  }

  cached_build
}

main "$@"
exit
