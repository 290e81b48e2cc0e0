# Go binaries built once per machine into a cache directory stamped with their recipe: what
# scripts/ensure-apiserver.sh and scripts/ensure-workloads.sh share. Sourced; defines
# functions only.
#
# Before calling cached_build, the caller defines
#   say MSG…        progress and errors on stderr, prefixed with the script's name
#   fail MSG…       says ERROR, the script's own remedy, and exits 1
#   build_into DIR  builds every binary into DIR (CGO, GOWORK and GOFLAGS are set)
# and sets
#   bins=(…)        the binaries the directory must hold
#   override        a directory the user pointed at (e.g. $KUBEBUILDER_ASSETS), or ""
#   override_name   that variable's name, for the message when it lacks a binary
#   stamp           sha256 of the recipe: the module files and the build flags
#   cache_dir       where the build lives
#   no_build        true: only look, never build
#   no_build_hint   what to run when --no-build finds nothing
# It prints the directory to use as the last line of stdout.

has_all() {
  local b
  for b in "${bins[@]}"; do [ -x "$1/$b" ] || return 1; done
}

# A cache only counts when it was built from exactly this recipe: any change to the module
# files or the flags gets a fresh build instead of silently stale binaries.
is_current() { has_all "$1" && [ "$(cat "$1/recipe.sha256" 2>/dev/null)" = "$stamp" ]; }

cached_build() {
  if [ -n "$override" ]; then
    if has_all "$override"; then
      echo "$override"
      return 0
    fi
    say "$override_name=$override lacks one of ${bins[*]}; using the pushsync build instead"
  fi

  if is_current "$cache_dir"; then
    echo "$cache_dir"
    return 0
  fi

  if $no_build; then
    say "ERROR: no current build of ${bins[*]} in $cache_dir."
    say "$no_build_hint"
    exit 1
  fi
  command -v go >/dev/null 2>&1 || fail "${bins[*]} are not in $cache_dir and 'go' is not installed to build them."

  local parent
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

  # The checked-in go.sum files are the recipe: never rewrite them, never read a go.work.
  export CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"
  local start=$SECONDS
  build_into "$tmp"
  echo "$stamp" >"$tmp/recipe.sha256"
  chmod 755 "$tmp"
  say "all built in $((SECONDS - start))s"

  if [ -e "$cache_dir" ]; then
    # A stale build of an older recipe: move it aside first, since rename cannot replace
    # a non-empty directory.
    local old
    old="$(mktemp -d "$parent/.old.XXXXXX")"
    mv "$cache_dir" "$old/" 2>/dev/null || true
    rm -rf "$old"
  fi
  if ! mv -T "$tmp" "$cache_dir" 2>/dev/null; then
    is_current "$cache_dir" || fail "could not move the build into $cache_dir"
  fi
  echo "$cache_dir"
}

# The scripts' one flag: --no-build (only look, never build). Sets no_build.
parse_no_build() {
  no_build=false
  case "${1:-}" in
    --no-build) no_build=true ;;
    "") ;;
    *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
  esac
}

# The version go.mod FILE requires of MODULE (e.g. k8s.io/kubernetes), or "".
module_version() {
  local quoted="${2//./\\.}"
  sed -n "s#^[[:space:]]*\(require[[:space:]]\+\)\?$quoted \(v[^[:space:]]*\).*#\2#p" "$1" | head -n1
}

# What kubernetes' hack/lib/version.sh injects at release time; without it a binary reports
# v0.0.0-master as its version.
k8s_ldflags() {
  local version=$1 minor flags="-s -w" pkg
  minor="${version#v1.}"
  minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  printf '%s' "$flags"
}
