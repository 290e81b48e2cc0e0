#!/usr/bin/env bash
# Fills the Lambda layer that gives the sync and apply functions kustomize and helm (issue #12),
# and prints (last line of stdout) the layer directory: DIR/bin/kustomize and DIR/bin/helm, which
# Lambda mounts as /opt/bin/… (serverless.yml `layers.renderTools`, PUSHSYNC_RENDER_TOOLS=/opt/bin).
#
#   bash scripts/render-layer.sh [--arch arm64|amd64] [DIR]     (default: arm64, .build/render-tools-layer)
#
# The binaries are the linux/ARCH ones scripts/ensure-render-tools.sh builds from Go modules once
# per machine and caches; here they are only copied, so packaging downloads nothing once that
# cache exists. scripts/serverless-render-layer.mjs runs this before `serverless package`.
# DIR is rebuilt whole (a temp directory renamed into place), so it never holds anything else:
# everything in it goes into the layer zip.
set -euo pipefail

main() {
  root="$(cd "$(dirname "$0")/.." && pwd)"
  arch=arm64
  dir=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --arch) [ $# -ge 2 ] || usage; arch="$2"; shift ;;
      --arch=*) arch="${1#--arch=}" ;;
      -*) usage ;;
      *) [ -z "$dir" ] || usage; dir="$1" ;;
    esac
    shift
  done
  dir="${dir:-$root/.build/render-tools-layer}"

  local tools
  # Builds only when this machine has no current build (its progress goes to stderr).
  tools="$(bash "$root/scripts/ensure-render-tools.sh" --arch "$arch" | tail -n1)"
  [ -x "$tools/kustomize" ] && [ -x "$tools/helm" ] || { say "ERROR: ensure-render-tools.sh printed '$tools', which lacks kustomize or helm"; exit 1; }

  mkdir -p "$(dirname "$dir")"
  tmp="$(mktemp -d "$(dirname "$dir")/.render-layer.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  mkdir "$tmp/bin"
  # 755 whatever the cache's umask was: the zip keeps the exec bit only when the file has it.
  install -m 755 "$tools/kustomize" "$tools/helm" "$tmp/bin/"
  chmod 755 "$tmp"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  say "kustomize and helm for linux/$arch in $dir/bin ($(du -sh "$dir" | cut -f1))"
  echo "$dir"
}

say() { printf 'render-layer: %s\n' "$*" >&2; }
usage() { echo "usage: $0 [--arch arm64|amd64] [DIR]" >&2; exit 2; }

main "$@"
exit
