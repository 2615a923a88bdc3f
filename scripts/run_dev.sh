#!/usr/bin/env bash
# Development server: migrate, load the demo data, then run together
#   web     manage.py runserver 127.0.0.1:$PORT --noreload   (whitenoise serves static files)
#   worker  celery -A portal worker  (pidfile var/run/worker.pid)
#   beat    celery -A portal beat    (pidfile var/run/beat.pid, django_celery_beat DatabaseScheduler)
# Ctrl-C (or SIGTERM/SIGHUP, or any of the three exiting) stops all three and waits for them.
#
# STAFF_CSV, when set, names a staff directory CSV imported after the demo data.
# Defaults, only when unset: DEBUG=1, SNS_DEMO_SENT_EMAILS=1 and METRICS_ALLOWED_ADDRESSES=127.0.0.1,::1
# (read by the settings), PORT=8000,
# PYTHONUNBUFFERED=1. DATABASE_URL and CELERY_BROKER_URL are left alone: without them the
# settings use their embedded defaults.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DEBUG="${DEBUG:-1}"
# The demo's Sent emails page, where mail written to var/sent-emails is read (it exists only
# with DEBUG on and no EMAIL_HOST as well).
export SNS_DEMO_SENT_EMAILS="${SNS_DEMO_SENT_EMAILS:-1}"

# /metrics answers this machine's own scraper (curl) without a token.
export METRICS_ALLOWED_ADDRESSES="${METRICS_ALLOWED_ADDRESSES:-127.0.0.1,::1}"

export PORT="${PORT:-8000}"
# Links in emails point at this server unless told otherwise.
export PORTAL_BASE_URL="${PORTAL_BASE_URL:-http://127.0.0.1:$PORT}"
export PYTHONUNBUFFERED="${PYTHONUNBUFFERED:-1}"

PY=.venv/bin/python
CELERY=.venv/bin/celery
RUN_DIR=var/run
WORKER_PIDFILE="$RUN_DIR/worker.pid"
BEAT_PIDFILE="$RUN_DIR/beat.pid"
STOP_TIMEOUT="${STOP_TIMEOUT:-20}" # seconds to wait for a clean stop before SIGKILL

say() { printf 'run_dev: %s\n' "$*" >&2; }

for exe in "$PY" "$CELERY"; do
    [ -x "$exe" ] || {
        say "$exe not found: run 'make install' first"
        exit 1
    }
done

mkdir -p "$RUN_DIR" var/log

# Stale pidfiles make celery refuse to start; a live one means another run is still going.
for pidfile in "$WORKER_PIDFILE" "$BEAT_PIDFILE"; do
    [ -f "$pidfile" ] || continue
    oldpid="$(tr -dc 0-9 <"$pidfile" || true)"
    if [ -n "$oldpid" ] && kill -0 "$oldpid" 2>/dev/null \
        && grep -qa celery "/proc/$oldpid/cmdline" 2>/dev/null; then
        say "celery is already running with pid $oldpid ($pidfile): stop it first"
        exit 1
    fi
    rm -f "$pidfile"
done

say "applying migrations"
"$PY" manage.py migrate --noinput
say "loading demo data"
"$PY" manage.py load_demo_data
# A staff directory of your own besides the demo's: STAFF_CSV=path/to/staff.csv make run
if [ -n "${STAFF_CSV:-}" ]; then
    say "importing the staff directory $STAFF_CSV"
    "$PY" manage.py import_staff "$STAFF_CSV"
fi

# The demo accounts for the banner; skipped if the command fails.
accounts="$("$PY" manage.py load_demo_data --list-accounts 2>/dev/null)" || accounts=""

# --- start the three processes ------------------------------------------------------------
# Each runs in its own session/process group (setsid), so only this script decides when they
# stop, and a stop signal to the group also reaches any child they started.

declare -A PIDS=()   # name -> pid (the pid is also the process-group id)
declare -A PIDFILE=( [worker]="$WORKER_PIDFILE" [beat]="$BEAT_PIDFILE" )
stopping=0

SETSID=()
command -v setsid >/dev/null 2>&1 && SETSID=(setsid)

start() { # name command...
    local name="$1"
    shift
    "${SETSID[@]}" "$@" &
    PIDS[$name]=$!
    say "started $name (pid ${PIDS[$name]})"
}

alive() { kill -0 "$1" 2>/dev/null; }

signal_proc() { # signal name
    # Celery: TERM goes to the main process named in its pidfile (a warm shutdown that stops
    # its pool). Otherwise, and for KILL, the whole process group (falling back to the pid).
    local sig="$1" name="$2" pid="${PIDS[$2]}" pidfile="${PIDFILE[$2]:-}" filepid=""
    if [ -n "$pidfile" ] && [ -f "$pidfile" ]; then
        filepid="$(tr -dc 0-9 <"$pidfile" || true)"
    fi
    if [ "$sig" != KILL ] && [ -n "$filepid" ]; then
        kill "-$sig" "$filepid" 2>/dev/null || true
        if [ "$filepid" != "$pid" ]; then
            kill "-$sig" "$pid" 2>/dev/null || true
        fi
    elif [ "${#SETSID[@]}" -gt 0 ]; then
        kill "-$sig" -- "-$pid" 2>/dev/null || kill "-$sig" "$pid" 2>/dev/null || true
    else
        kill "-$sig" "$pid" 2>/dev/null || true
    fi
}

stop_all() {
    [ "$stopping" = 1 ] && return 0
    stopping=1
    trap '' INT TERM HUP
    local name any deadline
    [ "${#PIDS[@]}" -gt 0 ] || return 0
    say "stopping web, worker and beat"
    for name in "${!PIDS[@]}"; do
        signal_proc TERM "$name"
    done
    deadline=$((SECONDS + STOP_TIMEOUT))
    while :; do
        any=0
        for name in "${!PIDS[@]}"; do
            alive "${PIDS[$name]}" && any=1
        done
        [ "$any" = 0 ] && break
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "still running after ${STOP_TIMEOUT}s: sending SIGKILL"
            for name in "${!PIDS[@]}"; do
                signal_proc KILL "$name"
            done
            break
        fi
        sleep 0.2
    done
    for name in "${!PIDS[@]}"; do
        wait "${PIDS[$name]}" 2>/dev/null || true
    done
    rm -f "$WORKER_PIDFILE" "$BEAT_PIDFILE"
    say "stopped"
}

trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all; exit 129' HUP
trap 'stop_all' EXIT

start web "$PY" manage.py runserver "127.0.0.1:$PORT" --noreload
start worker "$CELERY" -A portal worker --loglevel=info --pidfile="$WORKER_PIDFILE" -c 2
start beat "$CELERY" -A portal beat --loglevel=info --pidfile="$BEAT_PIDFILE" \
    --scheduler django_celery_beat.schedulers:DatabaseScheduler

# Print the banner once the web server listens (or give up after 30 s).
for _ in $(seq 1 150); do
    alive "${PIDS[web]}" || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        break
    fi
    sleep 0.2
done
{
    echo
    echo "=================================================================="
    echo "  SNS access portal: http://127.0.0.1:$PORT/"
    if [ -n "$accounts" ]; then
        echo "  Demo accounts:"
        printf '%s\n' "$accounts" | sed 's/^/    /'
    fi
    echo "  Ctrl-C stops the web server, the celery worker and celery beat."
    echo "=================================================================="
    echo
} >&2

# Run until one of the three exits (or a signal arrives).
set +e
exited_pid=""
wait -n -p exited_pid "${PIDS[@]}"
status=$?
set -e
for name in "${!PIDS[@]}"; do
    if [ "${PIDS[$name]}" = "$exited_pid" ]; then
        say "$name exited with status $status: stopping the others"
    fi
done
stop_all
exit "$status"
