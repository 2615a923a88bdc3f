"""Running a sweep's batches, several at a time on PostgreSQL, and walking them by keyset.

A batch of a sweep (expiry, reminders) spends about half its time in Python (building the
emails and audit events) and half waiting for PostgreSQL (its UPDATE and INSERTs). On
PostgreSQL, outside a transaction, `batches_handle` therefore works on
`SNS_SWEEP_CONNECTIONS` batches at once (2 by default: the server's two cores), each on a
thread with its own database connection, so that one batch's Python work runs while
another's statements run in PostgreSQL. Nothing about a batch changes: it is one
transaction that takes its rows with `skip_locked` (which keeps two workers, or two
threads, off the same item), and the audit trail's chain head, locked by the batch's last
statement until its commit, lets one batch append at a time.

With 1, on SQLite (`make run`'s demo database, where two writers would wait on each other's
lock) or inside a transaction (a thread's own connection could not see its uncommitted
rows, as in the tests), the batches are handled one after another on the caller's
connection.
"""

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TypeVar

from django.conf import settings
from django.db import connection, connections
from django.db.models import F

# Django's row comparison, `(a, b) > (x, y)`. It is undocumented (it backs composite primary
# keys); it is kept, in this one place, because PostgreSQL answers a row comparison from one
# index range, which the sweeps' batches need to stay flat as the backlog grows.
from django.db.models.fields.tuple_lookups import TupleGreaterThan

Batch = TypeVar("Batch")
Result = TypeVar("Result")

_END = object()


def after_keyset(fields: tuple[str, ...], after: tuple) -> TupleGreaterThan:
    """The rows after `after` in the order of `fields` (the sweep's ORDER BY, ending with
    id), as one row comparison: PostgreSQL reads it as a single range of the index on those
    columns and starts its scan there, where `a > x OR (a = x AND id > i)` makes it read and
    sort every row still due for each batch. SQLite gets the OR form."""
    return TupleGreaterThan(tuple(F(field) for field in fields), after)


def sweep_connections() -> int:
    """How many batches `batches_handle` works on at once here."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, int(settings.SNS_SWEEP_CONNECTIONS))


def batches_handle(
    batches: Iterator[Batch],
    handle: Callable[[Batch], Result],
    *,
    each_thread_within: Callable[[], AbstractContextManager] = contextlib.nullcontext,
) -> list[Result]:
    """Call `handle` on each batch `batches` yields and return what it returned (in the
    order the batches finished). Up to `sweep_connections()` batches are handled at once,
    each thread taking the next batch when it has finished one; `batches` is advanced by
    one thread at a time (its queries run on that thread's connection). Each thread runs
    inside `each_thread_within()` (the sweeps pass `email_sends_batched`, so the emails a
    batch commits are queued a chunk at a time) and closes its connection when done. An exception from `handle` stops the threads taking more batches
    and is raised here once they have stopped; `handle` catches what one batch may fail on.
    """
    count = sweep_connections()
    if count == 1:
        with each_thread_within():
            return [handle(batch) for batch in batches]

    take = threading.Lock()
    results: list[Result] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with each_thread_within():
                while not errors:
                    with take:
                        batch = next(batches, _END)
                    if batch is _END:
                        return
                    results.append(handle(batch))
        except BaseException as error:  # noqa: BLE001 - raised by the caller's thread below
            errors.append(error)
        finally:
            connections.close_all()  # this thread's connections only

    threads = [threading.Thread(target=work, name=f"sweep-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
