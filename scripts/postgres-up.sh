#!/usr/bin/env bash
# Install Debian's PostgreSQL if needed, start it on loopback and create the role and databases
# the tests use (`analytics`, password `analytics`; databases `analytics`, `analytics_dagster`).
# Needs root (apt-get, the postgres system user). Prints the DSN for ANALYTICS_TEST_POSTGRES_DSN.
set -euo pipefail
# Only the DSN goes to stdout: callers capture it, and pg_ctlcluster and friends talk (for
# instance "Removed stale pid file.", which once became the DSN in CI).
exec 3>&1 1>&2

if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
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
echo "postgresql://analytics:analytics@127.0.0.1:5432/analytics" >&3
