#!/usr/bin/env bash
# make bench: the department-scale benchmark (see README, "Performance benchmark").
#
#  1. PostgreSQL database $BENCH_DB (default sns_bench): created, migrated, and loaded with
#     load_bench_data at $BENCH_SCALE (default 1.0) unless already loaded at that scale.
#     The loader writes only to a database named sns_bench or sns_bench_<suffix>.
#  2. gunicorn (2 sync workers, production settings: DEBUG off, a random SECRET_KEY, mail to
#     a closed port so nothing is sent, SNS_BENCH=1 installs the bench app and mounts its
#     floor page) on loopback.
#  3. python -m bench.run pages: wrk on each page of bench/pages.py, then the CSV export.
#  4. gunicorn stopped; python -m bench.run writes: the write journeys (bench/writes.py) on a
#     copy of the database with a gunicorn of its own on $BENCH_PORT+1; then
#     python -m bench.run sweeps on a copy of the database.
#  4b. python -m bench.run replica: a streaming replica of the cluster (pg_basebackup of a
#     copy of the database, on loopback) serves the register and its CSV export while the
#     write journeys post to the primary; beside the same read from the primary. Webs on
#     $BENCH_PORT+2..+4; the replica is stopped and removed afterwards (the trap too).
#  5. python -m bench.run import: manage.py import_staff of a generated 50,000-person
#     directory into an empty scratch database ($BENCH_DB_import, dropped afterwards), then
#     the same file again with --full.
#  6. python -m bench.run report: prints the table, saves bench/results/<date>.md/.json
#     and bench/results/latest.md. Above scale 1 it sets each page's p50 beside the newest
#     scale-1 run's in bench/results (or the one BENCH_BASELINE names): `make bench`, then
#     `make bench BENCH_SCALE=10`, reports both in the second run.
#
# Variables: BENCH_SCALE (1.0), BENCH_DB (sns_bench; sns_bench_scale<N> at another scale),
# BENCH_BASELINE (the newest scale-1 results JSON), BENCH_PG (postgres://postgres@127.0.0.1:5432),
# BENCH_REDIS_URL (redis://127.0.0.1:6379/5), BENCH_PORT (8765), BENCH_DURATION (10 s per page),
# BENCH_WARMUP (2 s), BENCH_CONNECTIONS (16: the page targets are at 16), BENCH_SWEEP_TIMEOUT (120 s per sweep run),
# BENCH_SKIP_SWEEPS (unset), BENCH_SKIP_IMPORT (unset), BENCH_IMPORT_PEOPLE (50000),
# BENCH_SKIP_WRITES (unset), BENCH_WRITES_SECONDS (8 s per write journey and concurrency),
# BENCH_SKIP_REPLICA (unset), BENCH_REPLICA_PORT (the replica's PostgreSQL port; unset: a free one).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BENCH_SCALE="${BENCH_SCALE:-1.0}"
# Each scale has a database of its own by default (sns_bench at 1, sns_bench_scale10 at 10),
# so a run at scale 10 leaves scale 1's data in place for the run to compare with.
case "${BENCH_SCALE%.0}" in
1) BENCH_DB="${BENCH_DB:-sns_bench}" ;;
*) BENCH_DB="${BENCH_DB:-sns_bench_scale$(printf %s "${BENCH_SCALE%.0}" | tr . _)}" ;;
esac
BENCH_PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
BENCH_REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379/5}"
BENCH_PORT="${BENCH_PORT:-8765}"
BENCH_DURATION="${BENCH_DURATION:-10}"
BENCH_WARMUP="${BENCH_WARMUP:-2}"
BENCH_CONNECTIONS="${BENCH_CONNECTIONS:-16}"

# The loader refuses any other database (bench/data/guard.py): say so before creating one.
case "$BENCH_DB" in
sns_bench | sns_bench_*) ;;
*)
    printf 'bench: BENCH_DB=%s: the benchmark database is named sns_bench or sns_bench_<suffix>\n' "$BENCH_DB" >&2
    exit 1
    ;;
esac

PY=.venv/bin/python
GUNICORN=.venv/bin/gunicorn
WORK="$(mktemp -d /tmp/sns-bench.XXXXXX)"

say() { printf 'bench: %s\n' "$*" >&2; }

for exe in "$PY" "$GUNICORN"; do
    [ -x "$exe" ] || {
        say "$exe not found: run 'make install' first"
        exit 1
    }
done

if ! command -v wrk >/dev/null 2>&1; then
    say "installing wrk (Debian package)"
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    else
        sudo apt-get install -y wrk >/dev/null
    fi
fi

# A port nothing listens on: mail "sent" during the bench fails fast and stays in the outbox.
CLOSED_PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

export DATABASE_URL="$BENCH_PG/$BENCH_DB"
export CELERY_BROKER_URL="$BENCH_REDIS_URL"
export DEBUG=0
export SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')"
# A fixed key of its own, so the trail loaded once still verifies on later runs.
export AUDIT_CHAIN_KEY="${AUDIT_CHAIN_KEY:-bench-only-audit-chain-key-never-for-production}"
export EMAIL_HOST=127.0.0.1
export EMAIL_PORT="$CLOSED_PORT"
export EMAIL_TIMEOUT=1
export ALLOWED_HOSTS=127.0.0.1
export SECURE_COOKIES=0
# Plain HTTP on loopback: production's redirect to HTTPS would answer every page with a 301.
export SECURE_SSL_REDIRECT=0
export SNS_BENCH=1
# The read API's pages are measured with one token each: no rate limit in the way.
export SNS_API_RATE_PER_MINUTE=1000000000
# ICT is told through its team mailbox, as a department would configure it.
export SNS_ICT_MAILBOX="${SNS_ICT_MAILBOX:-ict-provisioning@bench.example.gov.uk}"
export DB_CONN_MAX_AGE=600
export LOG_LEVEL=WARNING
export PORTAL_BASE_URL="http://127.0.0.1:$BENCH_PORT"
export PORTAL_VAR_DIR="$WORK/var"
export PYTHONUNBUFFERED=1

say "database $BENCH_DB at scale $BENCH_SCALE (work folder $WORK)"
"$PY" - "$BENCH_PG" "$BENCH_DB" <<'EOF'
import sys
import psycopg2

server, name = sys.argv[1], sys.argv[2]
db = psycopg2.connect(f"{server}/postgres")
db.autocommit = True
with db.cursor() as cursor:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    if cursor.fetchone() is None:
        cursor.execute(f'CREATE DATABASE "{name}"')
        print(f"bench: created database {name}", file=sys.stderr)
EOF
"$PY" manage.py migrate --noinput -v0

LOADED="$(DJANGO_SETTINGS_MODULE=portal.settings "$PY" -c 'import django
django.setup()
from bench.data.marker import marker_read
m = marker_read()
print(m["scale"] if m else "")')"
if [ -z "$LOADED" ]; then
    say "loading the data set at scale $BENCH_SCALE (on an idle machine of two cores: a few minutes at scale 1, a quarter of an hour at scale 10)"
    "$PY" manage.py load_bench_data --scale "$BENCH_SCALE" --reset
elif "$PY" -c "import sys; sys.exit(0 if abs(float('$LOADED') - float('$BENCH_SCALE')) < 1e-9 else 1)"; then
    say "data already loaded at scale $LOADED"
else
    say "data loaded at scale $LOADED: reloading at $BENCH_SCALE"
    "$PY" manage.py load_bench_data --scale "$BENCH_SCALE" --reset
fi
"$PY" manage.py clearsessions
"$PY" manage.py collectstatic --noinput -v0

say "starting gunicorn on 127.0.0.1:$BENCH_PORT (2 sync workers)"
"$GUNICORN" portal.wsgi:application \
    --workers 2 --worker-class sync --bind "127.0.0.1:$BENCH_PORT" --timeout 300 \
    --log-level warning --error-logfile "$WORK/gunicorn.log" &
GUNICORN_PID=$!

gunicorn_stop() {
    if [ -n "${GUNICORN_PID:-}" ] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
        kill -TERM "$GUNICORN_PID"
        wait "$GUNICORN_PID" 2>/dev/null || true
    fi
    GUNICORN_PID=""
}
# A replica step whose process was killed leaves its replica running: remove it.
replica_remove() {
    if [ -f "$WORK/replica-state.json" ]; then
        "$PY" -m bench.run replica-remove --work "$WORK" || true
    fi
}
trap 'gunicorn_stop; replica_remove' EXIT INT TERM

for _ in $(seq 1 60); do
    if "$PY" -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$BENCH_PORT/healthz', timeout=2)" 2>/dev/null; then
        break
    fi
    kill -0 "$GUNICORN_PID" 2>/dev/null || {
        say "gunicorn stopped: see $WORK/gunicorn.log"
        cat "$WORK/gunicorn.log" >&2
        exit 1
    }
    sleep 0.5
done

"$PY" -m bench.run pages --base-url "http://127.0.0.1:$BENCH_PORT" --master-pid "$GUNICORN_PID" \
    --duration "$BENCH_DURATION" --warmup "$BENCH_WARMUP" --connections "$BENCH_CONNECTIONS" \
    --out "$WORK/pages.json"
gunicorn_stop

if [ -z "${BENCH_SKIP_WRITES:-}" ]; then
    "$PY" -m bench.run writes --out "$WORK/writes.json" --work "$WORK" \
        --port "$((BENCH_PORT + 1))" --seconds "${BENCH_WRITES_SECONDS:-8}"
fi
if [ -z "${BENCH_SKIP_REPLICA:-}" ]; then
    "$PY" -m bench.run replica --out "$WORK/replica.json" --work "$WORK" \
        --port "$((BENCH_PORT + 2))" --replica-port "${BENCH_REPLICA_PORT:-0}" \
        --seconds "$BENCH_DURATION" --warmup "$BENCH_WARMUP" --connections "$BENCH_CONNECTIONS"
fi
if [ -z "${BENCH_SKIP_SWEEPS:-}" ]; then
    "$PY" -m bench.run sweeps --out "$WORK/sweeps.json" --timeout "${BENCH_SWEEP_TIMEOUT:-120}"
fi
if [ -z "${BENCH_SKIP_IMPORT:-}" ]; then
    "$PY" -m bench.run import --out "$WORK/import.json" --work "$WORK"
fi
"$PY" -m bench.run report "$WORK/pages.json" "$WORK/sweeps.json" "$WORK/import.json" "$WORK/writes.json" \
    "$WORK/replica.json"
say "raw files and the gunicorn log are in $WORK"
