#!/usr/bin/env bash
# A throwaway PostgreSQL server for crm's tests, for CI and for developers:
#
#   eval "$(scripts/pg-test-server.sh start)"   # prints `export …` lines: PG*, CRM_TEST_PG_URL, CRM_TEST_PG_DIR
#   npm test                                    # the PostgreSQL tests run against it
#   scripts/pg-test-server.sh env               # the same lines again (reads $CRM_TEST_PG_DIR)
#   scripts/pg-test-server.sh stop              # stops it and deletes its folder (reads $CRM_TEST_PG_DIR)
#
# The server lives in a fresh temp folder (initdb), listens on 127.0.0.1 on a free port and on a
# socket in that folder, and asks TCP clients for a password (scram-sha-256), so wrong-password
# cases are real. Its superuser is `crmtest` with a random password. It runs with fsync off: it
# holds nothing worth keeping. PostgreSQL refuses to run as root, so under root (CI) the folder is
# given to the unprivileged user `nobody` and the server runs as that user. When `initdb` is not
# found, Debian's `postgresql` package is installed first (root only).
set -euo pipefail

PG_USER=crmtest

die() { echo "pg-test-server: $*" >&2; exit 1; }

find_bin() {
  local name=$1 dir
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  # Debian keeps the server programs out of PATH, one folder per major version: take the newest.
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
    if [ -x "$dir/$name" ]; then echo "$dir/$name"; return 0; fi
  done
  return 1
}

ensure_installed() {
  if find_bin initdb >/dev/null && find_bin pg_ctl >/dev/null; then return 0; fi
  [ "$(id -u)" = 0 ] || die "initdb not found: install PostgreSQL (Debian: sudo apt-get install postgresql)"
  echo "pg-test-server: installing Debian's postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # The package's post-install script would create and start a cluster of its own: not wanted.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/crm-no-main.conf
  apt-get install -y -qq --no-install-recommends postgresql >&2
  find_bin initdb >/dev/null || die "initdb still not found after installing postgresql"
}

# Runs a command as the server's owner: `nobody` under root, else the caller.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

print_env() {
  local dir=$1
  [ -f "$dir/env" ] || die "no server in ${dir:-(unset)}: run 'start' first"
  cat "$dir/env"
}

start() {
  ensure_installed
  local initdb pg_ctl dir port password started
  initdb=$(find_bin initdb)
  pg_ctl=$(find_bin pg_ctl)
  started=$(date +%s.%N)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/crm-pg-test.XXXXXX")
  chmod 700 "$dir"
  password=$(node -e "console.log(require('crypto').randomBytes(12).toString('hex'))")
  printf '%s\n' "$password" >"$dir/pwfile"
  if [ "$(id -u)" = 0 ]; then chown -R nobody:nogroup "$dir"; fi
  as_owner "$initdb" -D "$dir/data" -U "$PG_USER" --pwfile="$dir/pwfile" --auth-host=scram-sha-256 \
    --auth-local=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
  rm -f "$dir/pwfile"
  # A free port can be taken between the look-up and the start: try a few.
  local attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -s start \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2; then
      break
    fi
    port=
  done
  [ -n "$port" ] || { tail -20 "$dir/server.log" >&2; rm -rf "$dir"; die "the server did not start"; }
  cat >"$dir/env" <<EOF
export CRM_TEST_PG_DIR='$dir'
export CRM_TEST_PG_URL='postgres://$PG_USER@127.0.0.1:$port/postgres'
export PGHOST=127.0.0.1
export PGPORT=$port
export PGUSER=$PG_USER
export PGPASSWORD='$password'
export PGDATABASE=postgres
EOF
  if [ "$(id -u)" = 0 ]; then chown nobody:nogroup "$dir/env"; fi
  chmod 600 "$dir/env"
  echo "pg-test-server: PostgreSQL $("$pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port in $dir, started in $(node -e "console.log((Date.now()/1000-$started).toFixed(1))") s" >&2
  print_env "$dir"
}

stop() {
  local dir=${1:-${CRM_TEST_PG_DIR:-}}
  [ -n "$dir" ] || die "which server? give its folder or set CRM_TEST_PG_DIR"
  case "$dir" in */crm-pg-test.*) ;; *) die "$dir is not a folder this script made" ;; esac
  [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$(find_bin pg_ctl)" -D "$dir/data" -m immediate -w -s stop >&2 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  env) print_env "${2:-${CRM_TEST_PG_DIR:-}}" ;;
  *) echo "usage: $0 start | env [DIR] | stop [DIR]" >&2; exit 2 ;;
esac
