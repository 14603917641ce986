#!/usr/bin/env bash
# Load test: CONNECTIONS clients for DURATION against the production server, started as `make run` starts it
# (gunicorn, WORKERS x THREADS), on a new SpatiaLite file and on a new PostGIS database, with wrk on loopback.
# Prints the figures, writes them to bench/LOAD.md, and fails when any request failed (5xx, 4xx other than a
# lost If-Match race, socket error or timeout) or the server log holds "database is locked" or a traceback.
#
#   bench/load.sh                                 # 32 clients, 30 s, both databases (make load)
#   DURATION=5s CONNECTIONS=8 DATABASES=spatialite bench/load.sh    # a quick look
#
# PostGIS: the server of SCOUTING_TEST_POSTGIS_URL, else the local cluster that scripts/postgis.sh starts; a
# database of its own is created and dropped.  Nothing is left running: the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-32}
WORKERS=${WORKERS:-2}
THREADS=${THREADS:-4}
DATABASES=${DATABASES:-spatialite postgis}
WRK_TIMEOUT=${WRK_TIMEOUT:-30s}       # a request unanswered this long is a timeout (gunicorn's own timeout)
REPORT=${REPORT-bench/LOAD.md}        # REPORT= (empty) prints only
OUT=bench/out                         # logs and raw results (gitignored)
PY=.venv/bin/python
FLASK=(.venv/bin/flask --app app)
export WORKERS THREADS

make -s load-deps
make -s setup >/dev/null
mkdir -p "$OUT"
work=$(mktemp -d)
server_pid=""
pg_database_url=""

stop_server() {
  if [ -n "$server_pid" ]; then
    # TERM to gunicorn's master (make's child) is its graceful stop: requests in flight finish, an export's
    # child process included.  Whatever is left after 40 s is ended with the process group setsid made.
    pkill -TERM -P "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 80); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

drop_pg_database() {
  if [ -n "$pg_database_url" ]; then
    "$PY" - "$pg_database_url" <<'EOF' || true
import sys
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
url = make_url(sys.argv[1])
admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
with admin.connect() as conn:
    conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
EOF
    pg_database_url=""
  fi
}

cleanup() {
  stop_server
  drop_pg_database
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

new_pg_database() {
  local base=${SCOUTING_TEST_POSTGIS_URL:-}
  [ -n "$base" ] || base=$(scripts/postgis.sh)
  "$PY" - "$base" <<'EOF'
import sys, uuid
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
url = make_url(sys.argv[1])
name = f"scout_load_{uuid.uuid4().hex[:10]}"
admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
with admin.connect() as conn:
    conn.execute(text(f'CREATE DATABASE "{name}"'))
print(url.set(database=name).render_as_string(hide_password=False))
EOF
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_leg() {
  local db=$1 url
  if [ "$db" = spatialite ]; then
    url="sqlite:///$work/spatialite/scout.sqlite"
    mkdir -p "$work/spatialite"
  else
    url=$(new_pg_database)
    pg_database_url=$url
  fi
  local log="$OUT/load-$db-server.log" result="$OUT/load-$db.json" port
  port=$(free_port)
  export SCOUTING_DATABASE_URL=$url SCOUTING_SECRET_KEY=load-test SCOUTING_PHOTO_DIR="$work/$db-photos"

  echo "== $db: migrate and seed (make db), planner account and API token" >&2
  make -s db >/dev/null
  SCOUTING_PASSWORD=load-test-passphrase "${FLASK[@]}" create-user loadtest --role planner >/dev/null
  local token
  token=$("${FLASK[@]}" create-token loadtest)

  echo "== $db: make run (WORKERS=$WORKERS THREADS=$THREADS) on 127.0.0.1:$port" >&2
  setsid make -s run HOST=127.0.0.1 PORT="$port" >"$log" 2>&1 </dev/null &
  server_pid=$!
  local base="http://127.0.0.1:$port" ids
  ids=$("$PY" - "$base" <<'EOF'
import json, sys, time, urllib.request
base = sys.argv[1]
for _ in range(120):
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
            if json.load(r)["status"] == "ok":
                break
    except OSError:
        time.sleep(0.5)
else:
    sys.exit("the server did not answer /healthz within 60 s")
with urllib.request.urlopen(base + "/api/sites?limit=1000", timeout=10) as r:
    print(",".join(str(f["id"]) for f in json.load(r)["features"]))
EOF
)
  echo "== $db: wrk, $CONNECTIONS connections for $DURATION" >&2
  local load_before
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  wrk --threads "$CONNECTIONS" --connections "$CONNECTIONS" --duration "$DURATION" --timeout "$WRK_TIMEOUT" --latency \
      --script bench/load/mix.lua "$base" -- "$token" "$ids" >"$OUT/load-$db-wrk.txt"
  local load_after
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  stop_server
  "$PY" bench/load/report.py collect --wrk-output "$OUT/load-$db-wrk.txt" --server-log "$log" --database "$db" \
    --loadavg-before "$load_before" --loadavg-after "$load_after" --out "$result"
  drop_pg_database
  unset SCOUTING_DATABASE_URL
}

results=()
for db in $DATABASES; do
  run_leg "$db"
  results+=("$OUT/load-$db.json")
done
"$PY" bench/load/report.py report --duration "$DURATION" --connections "$CONNECTIONS" --workers "$WORKERS" \
  --timeout "$WRK_TIMEOUT" --report "$REPORT" --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "${results[@]}"
