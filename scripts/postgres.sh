#!/usr/bin/env bash
# Sourced by scripts/test.sh: make sure a PostgreSQL server runs for the ledger's tests and export
#   WORUN_TEST_PG_URL=postgresql+psycopg://worun:worun@127.0.0.1:PORT/worun_test
# Debian/Ubuntu: reuses the installed cluster (pg_lsclusters) or creates one (pg_createcluster), starts it
# with pg_ctlcluster, then creates the role and database when missing. Idempotent and quick when the
# server already runs. Leaves an already exported WORUN_TEST_PG_URL alone. Never fatal: when PostgreSQL
# cannot be set up it says why and the tests decide (skip locally, fail with CI=true).
# It must not `exit` (it is sourced) and keeps the caller's shell options.

_worun_pg_setup() {
  if [ -n "${WORUN_TEST_PG_URL:-}" ]; then
    echo "== PostgreSQL: using WORUN_TEST_PG_URL from the environment"
    return 0
  fi
  if ! command -v pg_lsclusters >/dev/null 2>&1; then
    echo "== PostgreSQL: pg_lsclusters not found (apt-get install postgresql); PostgreSQL tests will skip" >&2
    return 0
  fi
  local asroot=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      asroot="sudo -n"
    fi
  fi
  local line ver name port status
  line=$(pg_lsclusters --no-header 2>/dev/null | head -n1 || true)
  if [ -z "$line" ]; then
    ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1 || true)
    if [ -z "$ver" ]; then
      echo "== PostgreSQL: no server binaries under /usr/lib/postgresql; PostgreSQL tests will skip" >&2
      return 0
    fi
    echo "== PostgreSQL: creating cluster $ver/main"
    $asroot pg_createcluster "$ver" main >/dev/null || { echo "== PostgreSQL: pg_createcluster failed" >&2; return 0; }
    line=$(pg_lsclusters --no-header | head -n1)
  fi
  read -r ver name port status _ <<<"$line"
  if [ "$status" != "online" ]; then
    echo "== PostgreSQL: starting cluster $ver/$name (port $port)"
    $asroot pg_ctlcluster "$ver" "$name" start || { echo "== PostgreSQL: pg_ctlcluster start failed" >&2; return 0; }
  fi
  local psql_as=(psql -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres)
  if [ "$(id -u)" = 0 ]; then
    psql_as=(runuser -u postgres -- "${psql_as[@]}")
  elif [ -n "$asroot" ]; then
    psql_as=(sudo -n -u postgres "${psql_as[@]}")
  fi
  local i
  for i in $(seq 1 50); do
    "${psql_as[@]}" -c 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.2
  done
  if ! "${psql_as[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname='worun'" 2>/dev/null | grep -q 1; then
    "${psql_as[@]}" -c "CREATE ROLE worun LOGIN PASSWORD 'worun' CREATEDB" >/dev/null \
      || { echo "== PostgreSQL: cannot create role worun (not allowed to act as postgres?)" >&2; return 0; }
  fi
  if ! "${psql_as[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname='worun_test'" | grep -q 1; then
    "${psql_as[@]}" -c "CREATE DATABASE worun_test OWNER worun" >/dev/null \
      || { echo "== PostgreSQL: cannot create database worun_test" >&2; return 0; }
  fi
  export WORUN_TEST_PG_URL="postgresql+psycopg://worun:worun@127.0.0.1:${port}/worun_test"
  echo "== PostgreSQL: $ver/$name on port $port; WORUN_TEST_PG_URL exported"
}
_worun_pg_setup
unset -f _worun_pg_setup
