#!/bin/sh
# Entrypoint of the redis:7 stand-in (see Dockerfile beside it), as the official image's.
set -e

# First argument an option or a .conf file: run redis-server with them.
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

# The official image compiles protected mode off; Debian's build has it on, which would refuse
# every client from another container. Passed first, so that the caller's options still win (a
# config file has to come first, so it stays first).
if [ "$1" = 'redis-server' ]; then
  shift
  if [ "${1%.conf}" != "$1" ]; then
    conf="$1"; shift
    set -- redis-server "$conf" --protected-mode no "$@"
  else
    set -- redis-server --protected-mode no "$@"
  fi
fi

umask 0077
exec "$@"
