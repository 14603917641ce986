#!/usr/bin/env bash
# Start the local PostgreSQL 15 cluster and make sure the test role exists (for the PostGIS test leg).
# Needs root (it uses pg_ctlcluster and runs psql as the postgres user).  Prints the URL to use.
set -euo pipefail
exec 3>&1 1>&2  # only the URL goes to standard output
ROLE=${SCOUTING_PG_ROLE:-scout}
PASSWORD=${SCOUTING_PG_PASSWORD:-scout}
DB=${SCOUTING_PG_DB:-scout_test}

if ! command -v pg_ctlcluster >/dev/null; then
  echo "postgis.sh: PostgreSQL is not installed (apt-get install postgresql-15-postgis-3)" >&2
  exit 1
fi
# The server is a daemon: it must not inherit any descriptor beyond 0-2.  It would keep this script's
# "$(scripts/postgis.sh)" pipe (fd 3) open and the caller would wait for ever (CI timed out on exactly that).
start_cluster() (
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
  done 2>/dev/null
  exec pg_ctlcluster 15 main start </dev/null
)
if ! start_cluster 2>/dev/null; then
  pg_ctlcluster 15 main status 3>&- </dev/null
fi
for _ in $(seq 1 30); do
  runuser -u postgres -- pg_isready -q -h 127.0.0.1 && break
  sleep 1
done
psql_admin() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtA "$@"; }
# Superuser so tests can drop and recreate their database and CREATE EXTENSION postgis.
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='$ROLE'")" != "1" ]; then
  psql_admin -c "CREATE ROLE $ROLE LOGIN SUPERUSER PASSWORD '$PASSWORD'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='$DB'")" != "1" ]; then
  psql_admin -c "CREATE DATABASE $DB OWNER $ROLE"
fi
echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:5432/$DB" >&3
