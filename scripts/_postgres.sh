# Source this: start a throwaway PostgreSQL from Debian's packages and export DATABASE_URL.
#
#   source scripts/_postgres.sh      # installs postgresql if missing (needs root for apt-get)
#
# The cluster lives in a temporary directory, listens on 127.0.0.1 on a free port (and on
# a Unix socket in that directory only), trusts local connections, and is stopped and
# removed when the sourcing shell exits. PostgreSQL refuses to run as root, so as root
# the server runs as the `postgres` system user the Debian package creates.

_pg_bin_dir() {
  local initdb_path
  initdb_path=$(command -v initdb 2>/dev/null || true)
  if [ -n "$initdb_path" ]; then
    dirname "$(readlink -f "$initdb_path")"  # /usr/local/bin may hold only a symlink
    return
  fi
  # Debian keeps the server binaries off PATH, in /usr/lib/postgresql/<version>/bin.
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(_pg_bin_dir)" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)" >&2
    return 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN=$(_pg_bin_dir)

_pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

PG_DIR=$(mktemp -d /tmp/vandamme-pg.XXXXXX)
PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" = 0 ]; then
  chown postgres "$PG_DIR"
fi

_pg_as_owner "$PG_BIN/initdb" --pgdata="$PG_DIR/data" --username=vandamme --auth=trust \
  --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 || {
  cat "$PG_DIR/initdb.log" >&2
  return 1
}
# fsync off: a throwaway test cluster; durability buys nothing and costs seconds per run.
_pg_as_owner "$PG_BIN/pg_ctl" --pgdata="$PG_DIR/data" --log="$PG_DIR/server.log" --wait \
  -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR -c fsync=off -c max_connections=200" \
  start >/dev/null || {
  cat "$PG_DIR/server.log" >&2
  return 1
}
"$PG_BIN/createdb" --host=127.0.0.1 --port="$PG_PORT" --username=vandamme vandamme

_pg_stop() {
  _pg_as_owner "$PG_BIN/pg_ctl" --pgdata="$PG_DIR/data" --mode=fast stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap _pg_stop EXIT

export DATABASE_URL="postgres://vandamme@127.0.0.1:$PG_PORT/vandamme"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT ($PG_DIR)"
