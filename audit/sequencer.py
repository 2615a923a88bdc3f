"""Chaining events without making writers wait for the chain head.

A transaction that records an event takes the chain head only if it is free
(`pg_try_advisory_xact_lock` on `CHAIN_LOCK`, then the head's row): it then chains its events
itself, as before. If another transaction holds the head (a sweep's batch of 250 events, a
request appending), it does not wait: it writes its events into `AuditPendingEvent`, in its
own transaction, and commits. The sequencer then chains pending events oldest first: in one
transaction it takes the head, reads a batch of pending rows, hashes them onto the chain,
inserts them as events (each naming its pending row), moves the head and deletes the
pending rows, which their trigger allows only once an event names them. So

- an event committed is never lost: it is either chained or pending, and a sequencer that
  dies before its commit leaves the batch pending (its DELETE rolls back with its INSERT),
  and nobody, the runtime login included, can delete a pending row without chaining it;
- an event is chained exactly once (the DELETE and the INSERT commit together), and once
  chained it never moves: the head only moves forward (migration 0007's trigger);
- a transaction's events are chained in the order it wrote them (ids of one INSERT follow
  its VALUES; a transaction that left events pending leaves the rest pending too).

Who runs the sequencer: every transaction that recorded an event tries it just after its
commit (`transaction.on_commit`), without waiting for the lock; whoever holds the lock
looks again after releasing it, so an event left behind by a writer that found the lock
taken is picked up by the holder. The beat task `audit.sequence_pending` runs it every
`AUDIT_SEQUENCE_INTERVAL_SECONDS` as a backstop (a process that died between its commit and
its attempt), and `manage.py sequence_audit --loop` runs it as a process of its own.

Verification, checkpoints, the feed and the export cover chained events only;
`audit_backlog` says how many are pending and for how long (`verify_audit` reports it).
"""

import json
import logging

from django.db import connections, router, transaction
from django.db.models import Count, Min
from django.utils import timezone

from .models import RECORDED_COLUMNS, AuditChainHead, AuditEvent, AuditPendingEvent

logger = logging.getLogger("audit.sequencer")

# pg_advisory_xact_lock's key for "holds the chain head" (any fixed number).
CHAIN_LOCK = 0x5A5A_C4A1
SEQUENCE_BATCH = 1000
# The most batches a committing transaction chains for others (SEQUENCE_BATCH events each):
# a bound for a request under a long backlog, never reached by a sweep's few batches.
SOON_MAX_BATCHES = 20
PENDING_COLUMNS = RECORDED_COLUMNS


def _connection():
    return connections[router.db_for_write(AuditEvent)]


def _try_chain_lock(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [CHAIN_LOCK])
        return bool(cursor.fetchone()[0])


def _staged_in_this_transaction(connection) -> bool:
    """Whether this transaction already left events pending (then its later ones follow)."""
    txid = getattr(connection, "audit_pending_txid", None)
    if txid is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT txid_current()")
        return cursor.fetchone()[0] == txid


def head_try() -> AuditChainHead | None:
    """The chain head, locked until commit, if no other transaction holds it; else None.
    Databases without advisory locks (SQLite, the demo) wait for the head as before."""
    from .services import _head_lock

    connection = _connection()
    if connection.vendor != "postgresql":
        return _head_lock()
    if _staged_in_this_transaction(connection) or not _try_chain_lock(connection):
        return None
    return _head_lock()


def pending_insert(rows: list[tuple[dict, str]]) -> None:
    """Write `rows` (each an event's values and its changes as JSON text) as pending, in
    this order, and try the sequencer once this transaction commits."""
    connection = _connection()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in PENDING_COLUMNS)
    placeholder = "(" + ", ".join(["%s"] * len(PENDING_COLUMNS)) + ")"
    params = []
    for row, changes_json in rows:
        params += [changes_json if name == "changes" else row[name] for name in PENDING_COLUMNS]
    table = quote(AuditPendingEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholder] * len(rows))}",  # noqa: S608  # nosec B608 - names from the model, values are parameters
            params,
        )
        cursor.execute("SELECT txid_current()")
        connection.audit_pending_txid = cursor.fetchone()[0]
    transaction.on_commit(audit_sequence_soon, using=connection.alias)


def _sequence_batch(limit: int) -> int | None:
    """Chain up to `limit` pending events, oldest first, in one transaction. None when
    another transaction holds the head (it looks again after releasing it)."""
    from .services import chain_key, chain_rows

    connection = _connection()
    table = connection.ops.quote_name(AuditPendingEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in PENDING_COLUMNS)
    with transaction.atomic(using=connection.alias):
        if not _try_chain_lock(connection):
            return None
        from .services import _head_lock

        head = _head_lock()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, {columns} FROM {table} ORDER BY id LIMIT %s",  # noqa: S608  # nosec B608 - names from the model
                [limit],
            )
            fetched = cursor.fetchall()
        if not fetched:
            return 0
        rows = []
        for values in fetched:
            row = dict(zip(PENDING_COLUMNS, values[1:], strict=True))
            row["pending_id"] = values[0]
            # A raw cursor hands jsonb back as its text: hashed as parsed, as `record` does.
            if isinstance(row["changes"], str):
                row["changes"] = json.loads(row["changes"])
            rows.append((row, json.dumps(row["changes"], sort_keys=True)))
        chain_rows(head, rows, key=chain_key())
        # Only now may the pending rows go: their trigger wants the event that names each.
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id = ANY(%s)",  # noqa: S608  # nosec B608 - name from the model
                [[values[0] for values in fetched]],
            )
    return len(fetched)


def audit_sequence(*, limit: int = SEQUENCE_BATCH, max_batches: int | None = None) -> int:
    """Chain pending events until none is left (or `max_batches` are done, or another
    transaction holds the head); returns how many were chained. It looks again after each
    batch's commit has released the head: an event whose writer found the head taken by
    this batch is picked up here."""
    connection = _connection()
    if connection.vendor != "postgresql":
        return 0
    total = batches = 0
    while max_batches is None or batches < max_batches:
        done = _sequence_batch(limit)
        if done is None:
            break
        total += done
        batches += 1
        if done < limit and not _backlog_exists():
            break
    return total


def audit_sequence_soon() -> None:
    """After a commit that recorded events: chain whatever is pending, unless another
    transaction holds the head (it looks again after releasing it). Bounded, so a request
    never pays for a long backlog: the beat task takes what is left."""
    connection = _connection()
    if hasattr(connection, "audit_pending_txid"):
        del connection.audit_pending_txid
    if _backlog_exists():
        audit_sequence(max_batches=SOON_MAX_BATCHES)


def _backlog_exists() -> bool:
    return AuditPendingEvent.objects.using(router.db_for_write(AuditEvent)).exists()


def audit_backlog() -> dict:
    """How many events wait to be chained, and the age in seconds of the oldest."""
    backlog = AuditPendingEvent.objects.using(router.db_for_write(AuditEvent)).aggregate(
        events=Count("id"), oldest=Min("staged_at")
    )
    oldest = backlog["oldest"]
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return {"events": backlog["events"], "oldest_seconds": max(age, 0.0)}
