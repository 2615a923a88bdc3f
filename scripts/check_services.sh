#!/usr/bin/env bash
# Check that the services the tests need are up, and prepare PostgreSQL for pytest-django.
#
#   DATABASE_URL       default postgres://postgres@127.0.0.1:5432/sns_portal
#   CELERY_BROKER_URL  default redis://127.0.0.1:6379/0
#   PG_SUPERUSER       role used to create a missing role or grant CREATEDB (default postgres)
#
# PostgreSQL: reachable (pg_isready, else a TCP connect); the role in DATABASE_URL exists and
# may create databases (pytest-django creates test_<name>); the database in the URL exists.
# Redis: answers PING (redis-cli, else a small Python client).
# A URL of another scheme (sqlite://, filesystem://, memory://) is reported and skipped.
# Exit status 1 if anything is missing, after checking everything.
set -uo pipefail

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/sns_portal}"
CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"
PG_SUPERUSER="${PG_SUPERUSER:-postgres}"
PY="${PYTHON3:-python3}"

PG_START_HINT='pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
REDIS_START_HINT='redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'

failed=0
ok() { printf 'check_services: ok: %s\n' "$*"; }
warn() { printf 'check_services: warning: %s\n' "$*" >&2; }
fail() {
    printf 'check_services: FAILED: %s\n' "$*" >&2
    failed=1
}

# parse_url URL DEFAULT_PORT -> six lines: scheme, host, port, user, password, path
# (user, password and path are percent-decoded; path without its leading slash).
parse_url() {
    "$PY" - "$1" "$2" <<'PY'
import sys
from urllib.parse import unquote, urlsplit

url, default_port = sys.argv[1], sys.argv[2]
parts = urlsplit(url)
try:
    port = parts.port
except ValueError:
    port = None
fields = [
    parts.scheme,
    parts.hostname or "",
    str(port or default_port),
    unquote(parts.username or ""),
    unquote(parts.password or ""),
    unquote(parts.path.lstrip("/")),
]
print("\n".join(f.replace("\n", " ") for f in fields))
PY
}

# URL without its password, for messages.
redact() { printf '%s' "$1" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#'; }

tcp_open() { # host port -> 0 if a TCP connection succeeds within 3 s
    "$PY" - "$1" "$2" <<'PY'
import socket
import sys

try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
except OSError:
    sys.exit(1)
PY
}

# --- PostgreSQL ---------------------------------------------------------------------------

check_postgres() {
    local parsed scheme host port user password dbname
    parsed="$(parse_url "$DATABASE_URL" 5432)" || {
        fail "cannot parse DATABASE_URL=$(redact "$DATABASE_URL")"
        return
    }
    {
        IFS= read -r scheme
        IFS= read -r host
        IFS= read -r port
        IFS= read -r user
        IFS= read -r password
        IFS= read -r dbname
    } <<<"$parsed"
    case "$scheme" in
        postgres | postgresql | pgsql | postgis) ;;
        *)
            ok "DATABASE_URL uses '$scheme', not PostgreSQL: skipping the PostgreSQL check"
            return
            ;;
    esac
    host="${host:-127.0.0.1}"
    user="${user:-postgres}"
    dbname="${dbname:-sns_portal}"

    local reachable=1
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$host" -p "$port" -t 5 || reachable=0
    else
        tcp_open "$host" "$port" || reachable=0
    fi
    if [ "$reachable" = 0 ]; then
        fail "PostgreSQL is not accepting connections on $host:$port (DATABASE_URL=$(redact "$DATABASE_URL")).
    Start it with:  $PG_START_HINT"
        return
    fi
    ok "PostgreSQL is accepting connections on $host:$port"

    if ! command -v psql >/dev/null 2>&1; then
        warn "psql not found: cannot check that role '$user' may create databases, or create database '$dbname'"
        return
    fi

    # psql as the URL's role, and as the superuser (trust auth on this machine).
    as_user() { PGPASSWORD="$password" psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" "$@"; }
    as_super() { psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$PG_SUPERUSER" "$@"; }

    local rights err
    if rights="$(as_user -d postgres -tA -c \
        "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user" 2>&1)"; then
        :
    elif printf '%s' "$rights" | grep -q 'does not exist' && printf '%s' "$rights" | grep -q 'role'; then
        echo "check_services: role '$user' does not exist: creating it with CREATEDB (as $PG_SUPERUSER)"
        if ! err="$(as_super -d postgres -v role="$user" -v pw="$password" 2>&1 <<'SQL'
SELECT :'pw' = '' AS nopw \gset
\if :nopw
CREATE ROLE :"role" LOGIN CREATEDB;
\else
CREATE ROLE :"role" LOGIN CREATEDB PASSWORD :'pw';
\endif
SQL
        )"; then
            fail "could not create role '$user' as '$PG_SUPERUSER': $err"
            return
        fi
        rights=t
    else
        fail "cannot connect to PostgreSQL as '$user': $rights"
        return
    fi

    if [ "$rights" != t ]; then
        echo "check_services: role '$user' may not create databases: granting CREATEDB (as $PG_SUPERUSER)"
        if ! err="$(as_super -d postgres -v role="$user" 2>&1 <<<'ALTER ROLE :"role" CREATEDB;')"; then
            fail "role '$user' lacks CREATEDB and granting it as '$PG_SUPERUSER' failed: $err
    pytest-django needs a role that may create databases."
            return
        fi
    fi
    ok "role '$user' may create databases"

    local exists
    if ! exists="$(as_user -d postgres -tA -v db="$dbname" 2>&1 \
        <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")"; then
        fail "cannot look up database '$dbname': $exists"
        return
    fi
    if [ "$exists" = 1 ]; then
        ok "database '$dbname' exists"
    elif err="$(as_user -d postgres -v db="$dbname" 2>&1 <<<'CREATE DATABASE :"db";')"; then
        ok "database '$dbname' created (owner '$user')"
    else
        fail "could not create database '$dbname' as '$user': $err"
    fi
}

# --- Redis ------------------------------------------------------------------------------

redis_ping_py() { # host port password -> prints the reply to PING
    "$PY" - "$1" "$2" "$3" <<'PY'
import socket
import sys

host, port, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def command(sock, *args):
    payload = f"*{len(args)}\r\n".encode()
    for arg in args:
        data = arg.encode()
        payload += b"$%d\r\n%s\r\n" % (len(data), data)
    sock.sendall(payload)
    return sock.recv(256).decode(errors="replace").strip()


try:
    with socket.create_connection((host, port), timeout=3) as sock:
        if password:
            command(sock, "AUTH", password)
        print(command(sock, "PING"))
except OSError as exc:
    print(exc)
    sys.exit(1)
PY
}

check_redis() {
    local parsed scheme host port user password path
    parsed="$(parse_url "$CELERY_BROKER_URL" 6379)" || {
        fail "cannot parse CELERY_BROKER_URL=$(redact "$CELERY_BROKER_URL")"
        return
    }
    {
        IFS= read -r scheme
        IFS= read -r host
        IFS= read -r port
        IFS= read -r user
        IFS= read -r password
        IFS= read -r path
    } <<<"$parsed"
    case "$scheme" in
        redis) ;;
        rediss)
            ok "CELERY_BROKER_URL uses TLS (rediss): checking only that $host:$port accepts connections"
            if tcp_open "${host:-127.0.0.1}" "$port"; then ok "Redis port open"; else
                fail "Redis is not reachable on ${host:-127.0.0.1}:$port"
            fi
            return
            ;;
        *)
            ok "CELERY_BROKER_URL uses '$scheme', not Redis: skipping the Redis check"
            return
            ;;
    esac
    host="${host:-127.0.0.1}"

    local reply
    if command -v redis-cli >/dev/null 2>&1; then
        if [ -n "$password" ]; then
            reply="$(REDISCLI_AUTH="$password" redis-cli -h "$host" -p "$port" ping 2>&1)"
        else
            reply="$(redis-cli -h "$host" -p "$port" ping 2>&1)"
        fi
    else
        reply="$(redis_ping_py "$host" "$port" "$password" 2>&1)"
    fi
    if [ "$reply" = PONG ] || [ "$reply" = +PONG ]; then
        ok "Redis answers PING on $host:$port"
    else
        fail "Redis does not answer PING on $host:$port (CELERY_BROKER_URL=$(redact "$CELERY_BROKER_URL")): ${reply:-no reply}
    Start it with:  $REDIS_START_HINT"
    fi
}

check_postgres
check_redis

if [ "$failed" != 0 ]; then
    echo "check_services: a service the tests need is missing (see above)." >&2
    exit 1
fi
