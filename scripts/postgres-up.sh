#!/usr/bin/env bash
# Install Debian's PostgreSQL if needed, start it on loopback and create the role and databases
# the tests use (`analytics`, password `analytics`; databases `analytics`, `analytics_dagster`).
# Needs root (apt-get, the postgres system user). Prints the DSN for ANALYTICS_TEST_POSTGRES_DSN.
set -euo pipefail
# The postgres user may not be allowed into the caller's directory (su would complain per call).
cd /

start_server() {
  if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local version
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk '$1=="'"$version"'" && $2=="main" {print $4}' | grep -qx online; then
    pg_ctlcluster "$version" main start
  fi
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.5
  done
  pg_isready -h 127.0.0.1 -p 5432 >/dev/null

  as_postgres() { su postgres -c "psql -v ON_ERROR_STOP=1 -tAc \"$1\""; }
  if [ -z "$(as_postgres "select 1 from pg_roles where rolname = 'analytics'")" ]; then
    as_postgres "create role analytics login createdb password 'analytics'" >/dev/null
  fi
  for database in analytics analytics_dagster; do
    if [ -z "$(as_postgres "select 1 from pg_database where datname = '$database'")" ]; then
      su postgres -c "createdb -O analytics $database"
    fi
  done
}

# Only the DSN goes to stdout: callers capture it with $(...). Everything else, and the server
# started here, gets stderr: a server that inherited the capturing pipe would hold it open, and
# the caller would wait for the end of the DSN forever (seen in CI). Bash saves the redirected
# stdout of a group on a close-on-exec descriptor, so no child process inherits it.
start_server >&2
echo "postgresql://analytics:analytics@127.0.0.1:5432/analytics"
