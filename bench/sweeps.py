"""Timing the sweeps over 100,000 due items, on a throw-away copy of the bench database.

The copy (`CREATE DATABASE … TEMPLATE`) leaves the loaded data untouched for the next run.
Due items are made with SQL: expired grants become active grants whose end date has
passed (expiry); decided approval requests become open ones whose reminder is due, and
their cases submitted ones (reminders). One worker is timed; then, on a fresh copy, two
workers run at once and the new emails and audit events are checked for duplicates.
"""

import inspect
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

from access_requests.models import AccessGrant, BusinessCase
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from bench.console import say
from notifications.models import OutboundEmail

GRANTS = AccessGrant._meta.db_table
CASES = BusinessCase._meta.db_table
APPROVALS = ApprovalRequest._meta.db_table
AUDIT = AuditEvent._meta.db_table
OUTBOX = OutboundEmail._meta.db_table

PREPARE = {
    "expiry": [
        f"""WITH picked AS (
              SELECT id FROM {GRANTS} WHERE status = 'expired' ORDER BY id LIMIT %(items)s)
            UPDATE {GRANTS} g SET status = 'active', expired_at = NULL, lapse_chosen_at = NULL,
              end_date = current_date - 2, start_date = LEAST(g.start_date, current_date - 2)
            FROM picked WHERE g.id = picked.id""",  # noqa: S608 - table names from the models
    ],
    "reminders": [
        f"""CREATE TEMP TABLE picked AS
              SELECT id, business_case_id FROM {APPROVALS}
              WHERE status = 'decided' ORDER BY id LIMIT %(items)s""",  # noqa: S608 - table names from the models
        f"""UPDATE {APPROVALS} a SET status = 'open', decision = '', decision_reason = '',
              decided_at = NULL, first_opened_at = NULL, reminders_sent = 0,
              next_reminder_at = now() - interval '1 hour',
              created_at = now() - interval '4 days', updated_at = now() - interval '4 days',
              token_expires_at = now() + interval '10 days', decide_by = current_date + 3
            FROM picked WHERE a.id = picked.id""",  # noqa: S608 - table names from the models
        f"""UPDATE {CASES} c SET status = 'submitted', decided_at = NULL, decision_reason = '',
              submitted_at = now() - interval '4 days'
            FROM picked WHERE c.id = picked.business_case_id""",  # noqa: S608 - table names from the models
    ],
}
DUE = {
    "expiry": f"SELECT count(*) FROM {GRANTS} WHERE status = 'active' AND end_date < current_date",  # noqa: S608 - table names from the models
    "reminders": (
        f"SELECT count(*) FROM {APPROVALS} WHERE status = 'open' AND next_reminder_at <= now() "  # noqa: S608 - table names from the models
        "AND reminders_sent = 0"
    ),
}


def find_service(paths: list[str]) -> str | None:
    for path in paths:
        try:
            import_string(path)
        except ImportError:
            continue
        return path
    return None


def db_params(name: str | None = None) -> dict:
    db = settings.DATABASES["default"]
    return {
        "dbname": name or db["NAME"],
        "user": db["USER"],
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
    }


def clone_url(clone: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{clone}"))


def clone_make(clone: str) -> None:
    connection.close()
    admin = psycopg2.connect(**db_params("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{clone}"')
            cursor.execute(f'CREATE DATABASE "{clone}" TEMPLATE "{db_params()["dbname"]}"')
    finally:
        admin.close()


def clone_drop(clone: str) -> None:
    admin = psycopg2.connect(**db_params("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{clone}"')
    finally:
        admin.close()


def clone_query(clone: str, statements: list[str], params: dict | None = None) -> list:
    db = psycopg2.connect(**db_params(clone))
    results = []
    try:
        with db, db.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement, params or {})
                results.append(cursor.fetchall() if cursor.description else cursor.rowcount)
    finally:
        db.close()
    return results


def broker_flush() -> None:
    """Drop the task messages the sweeps queued (no worker consumes them in the bench)."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis://"):
        import redis

        redis.Redis.from_url(url).flushdb()


def workers_run(service: str, clone: str, count: int, timeout: float) -> tuple[float, list]:
    env = {**os.environ, "DATABASE_URL": clone_url(clone)}
    command = [
        sys.executable,
        "-m",
        "bench.run",
        "sweep-worker",
        service,
        "--timeout",
        str(timeout),
    ]
    started = time.perf_counter()
    processes = [
        subprocess.Popen(  # noqa: S603
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )  # noqa: S603
        for _ in range(count)
    ]
    outputs = []
    for process in processes:
        try:
            left = max(1.0, timeout - (time.perf_counter() - started))
            out, err = process.communicate(timeout=left)
        except subprocess.TimeoutExpired:
            process.kill()  # our own child, by its Popen handle
            out, err = process.communicate()
            outputs.append({"error": f"stopped after {timeout:.0f} s", "stopped": True})
            continue
        line = next((x for x in out.splitlines() if x.startswith("SWEEP_JSON ")), None)
        outputs.append(json.loads(line[len("SWEEP_JSON ") :]) if line else {"error": err[-2000:]})
    return time.perf_counter() - started, outputs


def sweep_measure(sweep, args) -> dict:
    row = {
        "label": sweep.label,
        "items": sweep.items,
        "target_seconds": sweep.target_seconds,
        # batches a worker works on at once (the workers inherit this environment)
        "sweep_connections": getattr(settings, "SNS_SWEEP_CONNECTIONS", 1),
    }
    service = find_service(sweep.services)
    if service is None:
        say(f"{sweep.label}: not built (none of {sweep.services} imports)")
        return {**row, "state": "not built"}
    row["service"] = service
    clone = f"{db_params()['dbname']}_sweep"
    try:
        say(f"{sweep.label}: copying the database, making {sweep.items:,} items due")
        clone_make(clone)
        due = clone_query(
            clone, [*PREPARE[sweep.prepare], DUE[sweep.prepare]], {"items": sweep.items}
        )[-1][0][0]
        say(f"  {due:,} due; one worker running {service}")
        seconds, (one,) = workers_run(service, clone, 1, args.timeout)
        broker_flush()
        still_due = clone_query(clone, [DUE[sweep.prepare]])[0][0][0]
        row.update(due=due, seconds=seconds, still_due=still_due, worker=one)
        say(f"  {seconds:.1f} s, {due - still_due:,} handled, {still_due:,} still due")

        say(f"  fresh copy; two workers at once over {sweep.concurrent_items:,} due items")
        clone_make(clone)
        marks = clone_query(
            clone,
            [
                *PREPARE[sweep.prepare],
                f"SELECT COALESCE(MAX(id), 0) FROM {OUTBOX}",  # noqa: S608 - table names from the models
                f"SELECT COALESCE(MAX(id), 0) FROM {AUDIT}",  # noqa: S608 - table names from the models
                DUE[sweep.prepare],
            ],
            {"items": sweep.concurrent_items},
        )
        outbox_mark, audit_mark, both_due = marks[-3][0][0], marks[-2][0][0], marks[-1][0][0]
        both_seconds, both = workers_run(service, clone, 2, args.timeout)
        broker_flush()
        checks = clone_query(
            clone,
            [
                f"""SELECT count(*) FROM (SELECT 1 FROM {OUTBOX} WHERE id > %(o)s
                    GROUP BY "to", template, object_type, object_id HAVING count(*) > 1) d""",  # noqa: S608 - table names from the models
                f"""SELECT count(*) FROM (SELECT 1 FROM {AUDIT} WHERE id > %(a)s
                    GROUP BY action, object_type, object_id HAVING count(*) > 1) d""",  # noqa: S608 - table names from the models
                f"SELECT count(*) FROM {OUTBOX} WHERE id > %(o)s",  # noqa: S608 - table names from the models
                f"SELECT count(*) FROM {AUDIT} WHERE id > %(a)s",  # noqa: S608 - table names from the models
                DUE[sweep.prepare],
            ],
            {"o": outbox_mark, "a": audit_mark},
        )
        email_dupes, event_dupes, emails, events, both_still_due = (c[0][0] for c in checks)
        row.update(
            two_workers_seconds=both_seconds,
            two_workers=both,
            duplicate_emails=email_dupes,
            duplicate_events=event_dupes,
            new_emails=emails,
            new_events=events,
            two_workers_due=both_due,
            two_workers_still_due=both_still_due,
            duplicates=email_dupes + event_dupes,
        )
        say(
            f"  {both_seconds:.1f} s; {emails:,} emails, {events:,} events, duplicates: "
            f"{email_dupes} emails, {event_dupes} events"
        )
    except Exception as error:  # noqa: BLE001 - one sweep's failure must not stop the report
        say(f"  failed: {error!r}")
        return {**row, "state": f"failed: {error!r}"[:300]}
    finally:
        clone_drop(clone)
    misses = []
    errors = [
        w["error"]
        for w in [row["worker"], *row["two_workers"]]
        if w.get("error") and not w.get("stopped")
    ]
    if errors:
        misses.append("worker error: " + errors[0][-200:])
    handled = row["due"] - row["still_due"]
    row["handled"] = handled
    row["per_second"] = handled / row["seconds"] if row["seconds"] else 0.0
    if row["seconds"] >= sweep.target_seconds or row["still_due"]:
        misses.append(
            f"one worker handled {handled:,} of {row['due']:,} in {row['seconds']:.0f} s "
            f"({row['per_second']:,.0f}/s; target {sweep.target_seconds:g} s)"
        )
    if row["two_workers_still_due"]:
        misses.append(f"two workers left {row['two_workers_still_due']:,} of {both_due:,} due")
    if row["duplicates"]:
        misses.append(f"{row['duplicates']} duplicates with two workers")
    row["state"] = "measured"
    row["verdict"] = "met" if not misses else "MISSED: " + "; ".join(misses)
    return row


def worker_main(args) -> None:
    """One sweep worker (in its own process, on the copy): call the sweep until it says it
    handled nothing, and print what happened as one JSON line. It starts as the Celery
    worker does, at `SNS_WORKER_NICE` (core/priority.py)."""
    from django.utils import timezone

    from audit.services import SystemActor
    from core.priority import background_priority_lower

    nice = background_priority_lower()

    service = import_string(args.service)
    target = getattr(service, "run", service)  # a Celery task runs synchronously when called
    kwargs = {}
    for name, parameter in inspect.signature(target).parameters.items():
        if name == "now":
            kwargs[name] = timezone.now()
        elif name == "actor":
            kwargs[name] = SystemActor("bench")
        elif parameter.default is inspect.Parameter.empty and parameter.kind not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            print("SWEEP_JSON " + json.dumps({"error": f"cannot fill argument {name!r}"}))
            return
    started, cpu_started = time.perf_counter(), time.process_time()
    calls, results, error = 0, [], None
    try:
        while time.perf_counter() - started < args.timeout:
            result = service(**kwargs)
            calls += 1
            results.append(repr(result)[:200])
            handled = result if isinstance(result, int) and not isinstance(result, bool) else None
            if handled is None and isinstance(result, list | tuple | set):
                handled = len(result)
            if not handled:
                break
    except Exception as exc:  # noqa: BLE001 - reported in the table
        error = repr(exc)[:500]
    seconds = time.perf_counter() - started
    report = {
        "calls": calls,
        "seconds": seconds,
        "python_cpu_seconds": time.process_time() - cpu_started,
        "nice": nice,
        "connections": settings.SNS_SWEEP_CONNECTIONS,
        "duty_cycle": settings.SNS_SWEEP_DUTY_CYCLE,
        "results": results[:5],
        "error": error,
    }
    print("SWEEP_JSON " + json.dumps(report))
