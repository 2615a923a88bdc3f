"""Verifying a long chain on several cores.

Each event's hash covers the previous hash it stores, so a range of the chain can be checked
on its own: its events' hashes, and each event naming the one before it within the range.
The ranges are then joined: each must start from the hash the one before ended on, the
checkpoints must fall where their counts say, and the head must name the last event. One
process per range, each on its own database connection, started from a fresh interpreter
(`core.processes`) with the caller's settings and database, and handed the chain key. This
pass only says "everything holds"; anything else is left to the walk in one process
(`audit.services.audit_chain_verify`), which names the first broken link and why.
"""

from django.db import connections, router

from core.processes import django_process_pool

from .models import AuditChainHead, AuditEvent
from .services import _events_checked_fast, chain_key


def _range_check(
    alias: str,
    key: bytes,
    lo: int,
    hi: int | None,
    marks: list[int],
    cleared_up_to: int,
    chunk_size: int,
):
    count, first_previous, previous, last_id = 0, None, None, lo
    found = {}
    wanted = set(marks)
    rows = _events_checked_fast(
        key, cleared_up_to, chunk_size, after_id=lo, up_to_id=hi, using=alias
    )
    for row in rows:
        if first_previous is None:
            first_previous = row.previous_hash
        elif row.previous_hash != previous:
            return None
        if not row.verified:
            return None
        count += 1
        previous, last_id = row.hash, row.id
        if row.id in wanted:
            found[row.id] = (count, row.hash)
    connections.close_all()
    return count, first_previous, previous, last_id, found


def _bounds(workers: int) -> list[tuple[int, int | None]]:
    """`workers` ranges (after id, up to id) of about as many events each."""
    table = AuditEvent._meta.db_table
    connection = connections[router.db_for_read(AuditEvent)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608  # nosec B608 - name from the model
        total = cursor.fetchone()[0]
        cuts = []
        for k in range(1, workers):
            cursor.execute(
                f"SELECT id FROM {table} ORDER BY id OFFSET %s LIMIT 1",  # noqa: S608  # nosec B608 - name from the model
                [total * k // workers],
            )
            row = cursor.fetchone()
            if row:
                cuts.append(row[0])
    edges = [0, *cuts]
    return [(edges[i], edges[i + 1] if i + 1 < len(edges) else None) for i in range(len(edges))]


def audit_chain_verify_parallel(
    *, checkpoints: list, cleared_up_to: int, workers: int, chunk_size: int, genesis: str
) -> int | None:
    """The number of events checked when the whole chain holds (links, keyed hashes,
    checkpoints, head); None when anything does not, or cannot be checked this way."""
    alias = router.db_for_read(AuditEvent)
    connection = connections[alias]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None  # the processes see only committed rows, on connections of their own
    ranges = _bounds(workers)
    marks = sorted({checkpoint.last_id for checkpoint in checkpoints if checkpoint.last_id > 0})
    # Fresh processes, not forked ones: a fork copies the locks other threads of this process
    # hold (a live server's, a browser driver's, logging's), held for ever in the copy.
    with django_process_pool(workers=len(ranges), using=alias) as pool:
        futures = [
            pool.submit(_range_check, alias, chain_key(), lo, hi, marks, cleared_up_to, chunk_size)
            for lo, hi in ranges
        ]
        results = [future.result() for future in futures]
    expected, total, last_id = genesis, 0, 0
    positions = {}
    for result in results:
        if result is None:
            return None
        count, first_previous, last_hash, range_last_id, found = result
        if count == 0:
            continue
        if first_previous != expected:
            return None
        for event_id, (index, event_hash) in found.items():
            positions[event_id] = (total + index, event_hash)
        total, expected, last_id = total + count, last_hash, range_last_id
    for checkpoint in checkpoints:
        if checkpoint.last_id <= 0:
            continue
        if positions.get(checkpoint.last_id) != (checkpoint.events, checkpoint.head_hash):
            return None
    head = AuditChainHead.objects.filter(pk=1).values_list("last_id", "last_hash").first()
    if head is None:
        return None if total else 0
    if head != (last_id, expected):
        return None
    return total
