"""Sweeps: walking due rows by keyset, and running their batches, several at a time on
PostgreSQL.

A sweep reads the ids of due rows in keyset order (`keyset_batches`, `after_keyset`), then
handles them a batch at a time (`keyset_sweep`, `batches_handle`).

A batch of a sweep (expiry, reminders) does its work partly in Python (building the emails
and audit events) and partly in PostgreSQL (its UPDATE and INSERTs). On PostgreSQL, outside a
transaction, `batches_handle` therefore works on `SNS_SWEEP_CONNECTIONS` batches at once,
each on a thread with its own database connection, so that one batch's Python work runs
while another's statements run in PostgreSQL. Nothing about a batch changes: it is one
transaction that takes its rows with `skip_locked` (which keeps two workers, or two
threads, off the same item), and the audit trail's chain head, locked by the batch's last
statement until its commit, lets one batch append at a time.

With 1, on SQLite (`make run`'s demo database, where two writers would wait on each other's
lock) or inside a transaction (a thread's own connection could not see its uncommitted
rows, as in the tests), the batches are handled one after another on the caller's
connection.

A sweep shares the machine's cores with the web's requests, so it works only
`SNS_SWEEP_DUTY_CYCLE` of its time: after each batch a thread rests in proportion to how
long the batch took (`sweep_rest`), which leaves the cores to requests between batches, and
rests longer when a busy machine makes its batches slower.
"""

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
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
Shared = TypeVar("Shared")

logger = logging.getLogger(__name__)

_END = object()

# How many due rows a sweep reads, and handles in one transaction, at a time.
SWEEP_BATCH_SIZE = 500


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


def sweep_rest(worked: float) -> float:
    """Seconds a sweep's thread rests after a batch that took `worked` seconds, so that it
    works `SNS_SWEEP_DUTY_CYCLE` of its time (1: no rest)."""
    duty = float(settings.SNS_SWEEP_DUTY_CYCLE)
    return worked * (1 - duty) / duty if duty < 1 else 0.0


def _paced(handle: Callable[[Batch], Result]) -> Callable[[Batch], Result]:
    """`handle`, resting before each batch but a thread's first for what the batch before
    it on the same thread earned (`sweep_rest`): no rest follows the last batch."""
    owed = threading.local()

    def handle_paced(batch: Batch) -> Result:
        rest = getattr(owed, "seconds", 0.0)
        if rest > 0:
            time.sleep(rest)
        started = time.perf_counter()
        try:
            return handle(batch)
        finally:
            owed.seconds = sweep_rest(time.perf_counter() - started)

    return handle_paced


def _cyclic_gc_paused(handle: Callable[[Batch], Result]) -> Callable[[Batch], Result]:
    """`handle`, with Python's cyclic garbage collector paused while it runs (if it was
    running; it runs again after). A batch builds tens of thousands of dicts and lists (the
    emails' contexts, the audit events, the rows) that all live until it commits, so the
    collector, set off every 700 allocations, walks them again and again, and from time to
    time the whole process, for nothing: reference counting frees them when the batch ends.
    Paused, the expiry sweep's Python took about a fifth less CPU (docs/performance.md,
    "Sweeps under 30 s"). The collector is one for the process: with two threads the one
    that paused it starts it again, so it never stays off."""

    def handle_without_gc(batch: Batch) -> Result:
        if not gc.isenabled():  # paused by the caller, or by another sweep thread
            return handle(batch)
        gc.disable()
        try:
            return handle(batch)
        finally:
            gc.enable()

    return handle_without_gc


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
    batch commits are queued a chunk at a time) and closes its connection when done. An
    exception from `handle` stops the threads taking more batches
    and is raised here once they have stopped; `handle` catches what one batch may fail on.
    Each thread rests between its batches (`sweep_rest`), and runs each batch with the
    cyclic garbage collector paused (`_cyclic_gc_paused`).
    """
    handle = _paced(_cyclic_gc_paused(handle))
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


def keyset_batches(
    fetch: Callable[[tuple | None], list[tuple]], *, key_length: int | None = None
) -> Iterator[list[tuple]]:
    """The rows `fetch(after)` returns, a batch at a time, until it returns none. Each batch
    is read after the keyset of the last row of the one before: its first `key_length`
    values (all of them by default), the columns of the sweep's ORDER BY (`after_keyset`).
    Rows are read as they are handled, so a row handled (no longer due) is not read again
    and one run walks everything that was due when it started."""
    after = None
    while batch := fetch(after):
        after = tuple(batch[-1][:key_length])
        yield batch


@dataclass
class SweepResult:
    done: int = 0
    failed: int = 0


def keyset_sweep(
    *,
    name: str,
    noun: str,
    fetch: Callable[[tuple | None], list[tuple]],
    handle: Callable[[int, Shared | None], object],
    handle_batch: Callable[[list[int], Shared | None], list] | None = None,
    per_batch: Callable[[], Shared] | None = None,
    each_thread_within: Callable[[], AbstractContextManager] = contextlib.nullcontext,
    log: logging.Logger = logger,
) -> SweepResult:
    """Walk the due rows `fetch` returns by keyset (`keyset_batches`; a row's last value is
    the id of its item) and handle each batch, logging failures (as `name`, an item being
    a `noun`, on the caller's `log`) so that a rerun picks up whatever is still due.

    `per_batch` is called before each batch and its value passed to the handlers (what
    every item needs, read once per batch). With `handle_batch`, a batch is handled in one
    transaction (it returns what it changed); if that fails, each item of the batch is
    tried on its own with `handle`, so one bad item holds back nobody else. Without it,
    each item is handled by `handle`, which returns None when the item needed nothing. The
    batches go through `batches_handle` (two at a time on PostgreSQL), each thread inside
    `each_thread_within()`."""

    def batch_handle(rows: list[tuple]) -> tuple[int, int]:
        ids = [row[-1] for row in rows]
        shared = per_batch() if per_batch is not None else None
        if handle_batch is not None:
            try:
                return len(handle_batch(ids, shared)), 0
            except Exception:
                log.exception("%s: a batch of %s failed; trying each on its own", name, len(ids))
        done = failed = 0
        for item_id in ids:
            try:
                if handle(item_id, shared) is not None:
                    done += 1
            except Exception:
                failed += 1
                log.exception("%s: %s %s failed; the next run tries again", name, noun, item_id)
        return done, failed

    result = SweepResult()
    for done, failed in batches_handle(
        keyset_batches(fetch), batch_handle, each_thread_within=each_thread_within
    ):
        result.done += done
        result.failed += failed
    return result
