"""Running a sweep's batches two at a time (`batches_handle`), and walking due rows by keyset
(`keyset_batches`, `keyset_sweep`).

The two-at-a-time tests commit (transaction=True): each thread works on its own database
connection, which sees only committed rows, as in a worker. The expiry sweep through it:
access_requests/tests/test_grant_expiry.py; the reminder sweep's:
approvals/tests/test_reminders.py."""

import gc
import threading
import time

import pytest
from django.db import connection

from core.sweeping import (
    batches_handle,
    keyset_batches,
    keyset_sweep,
    sweep_connections,
    sweep_rest,
)


@pytest.mark.django_db(transaction=True)
def test_batches_run_two_at_a_time_each_on_its_own_connection(settings):
    settings.SNS_SWEEP_CONNECTIONS = 2
    assert sweep_connections() == 2
    both_started = threading.Barrier(2, timeout=10)
    seen = []

    def handle(batch):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        if batch[0] < 2:
            both_started.wait()  # only passes if the first two batches run at the same time
        seen.append((threading.current_thread().name, pid))
        return sum(batch)

    results = batches_handle(iter([[0, 1], [1, 2], [3], [4, 5]]), handle)

    assert sorted(results) == [1, 3, 3, 9]
    assert len({name for name, _ in seen}) == 2
    assert len({pid for _, pid in seen}) == 2  # two database connections


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_raises_stops_the_others_and_is_raised(settings):
    settings.SNS_SWEEP_CONNECTIONS = 2
    handled = []

    def handle(batch):
        if batch == "bad":
            raise ValueError("bad batch")
        time.sleep(0.01)
        handled.append(batch)

    with pytest.raises(ValueError, match="bad batch"):
        batches_handle(iter(["bad", *[f"batch {n}" for n in range(50)]]), handle)
    assert len(handled) < 50


@pytest.mark.django_db
def test_inside_a_transaction_or_when_set_to_one_batches_run_in_the_callers_thread(settings):
    """A test's transaction (as here), or SNS_SWEEP_CONNECTIONS = 1: one at a time, on the
    caller's connection, which can see the caller's uncommitted rows."""
    settings.SNS_SWEEP_CONNECTIONS = 2
    assert sweep_connections() == 1
    names = batches_handle(iter([1, 2, 3]), lambda _: threading.current_thread().name)
    assert set(names) == {threading.current_thread().name}


def test_keyset_batches_reads_each_batch_after_the_last_row_of_the_one_before():
    rows = [(day, pk) for day, pk in [(1, 10), (1, 11), (2, 5), (3, 1), (3, 2)]]
    asked = []

    def fetch(after):
        asked.append(after)
        return [row for row in rows if after is None or row > after][:2]

    assert list(keyset_batches(fetch)) == [rows[:2], rows[2:4], rows[4:]]
    assert asked == [None, (1, 11), (3, 1), (3, 2)]


def test_keyset_batches_keys_on_the_leading_values_of_a_row():
    rows = [(1, 10, "a"), (2, 11, "b"), (3, 12, "c")]
    asked = []

    def fetch(after):
        asked.append(after)
        return [row for row in rows if after is None or row[:2] > after][:2]

    assert [len(batch) for batch in keyset_batches(fetch, key_length=2)] == [2, 1]
    assert asked == [None, (2, 11), (3, 12)]


@pytest.mark.django_db
def test_keyset_sweep_retries_a_failed_batch_item_by_item_and_counts_each(caplog):
    rows = [(n, n) for n in range(1, 8)]
    handled = []

    def fetch(after):
        return [row for row in rows if after is None or row > after][:3]

    def handle_batch(ids, shared):
        if 5 in ids:
            raise ValueError("one bad item")
        handled.extend((item, shared) for item in ids)
        return ids

    def handle(item, shared):
        if item == 5:
            raise ValueError("still bad")
        if item == 6:
            return None  # nothing was due
        handled.append((item, shared))
        return item

    result = keyset_sweep(
        name="test_sweep",
        noun="item",
        fetch=fetch,
        handle=handle,
        handle_batch=handle_batch,
        per_batch=lambda: "shared",
    )
    assert (result.done, result.failed) == (5, 1)
    assert sorted(handled) == [(n, "shared") for n in (1, 2, 3, 4, 7)]
    assert "test_sweep: a batch of 3 failed; trying each on its own" in caplog.text
    assert "test_sweep: item 5 failed; the next run tries again" in caplog.text


def test_a_sweep_thread_rests_between_its_batches_for_its_duty_cycle(settings):
    """At a duty cycle of ½ a thread rests as long as each batch took before taking the next
    (the cores go to the web's requests meanwhile); no rest follows the last batch, and
    every batch is handled."""
    settings.SNS_SWEEP_CONNECTIONS = 1
    settings.SNS_SWEEP_DUTY_CYCLE = 0.5
    spans = []

    # Batches of a tenth of a second: a rest is then as long, and the check that none
    # follows the last batch leaves 80 ms for a loaded machine's scheduling.
    def handle(batch):
        started = time.perf_counter()
        time.sleep(0.1)
        spans.append((started, time.perf_counter()))
        return batch

    began = time.perf_counter()
    assert batches_handle(iter([1, 2, 3, 4]), handle) == [1, 2, 3, 4]
    finished = time.perf_counter()

    rests = [nxt[0] - prev[1] for prev, nxt in zip(spans, spans[1:], strict=False)]
    assert all(rest >= 0.095 for rest in rests), rests
    assert finished - spans[-1][1] < 0.08  # no rest after the last batch
    assert finished - began >= 0.1 * 4 + 0.095 * 3


def test_at_a_duty_cycle_of_one_a_sweep_does_not_rest(settings):
    settings.SNS_SWEEP_DUTY_CYCLE = 1
    assert sweep_rest(2.0) == 0.0
    settings.SNS_SWEEP_DUTY_CYCLE = 0.6
    assert sweep_rest(0.3) == pytest.approx(0.2)


@pytest.mark.django_db
def test_a_batch_runs_with_the_cyclic_garbage_collector_paused_and_it_runs_again_after():
    assert gc.isenabled()
    collector_on = []
    batches_handle(iter([1, 2]), lambda batch: collector_on.append(gc.isenabled()))
    assert collector_on == [False, False]
    assert gc.isenabled()


@pytest.mark.django_db
def test_a_batch_that_raises_leaves_the_collector_running_and_a_paused_one_paused():
    def fails(batch):
        raise ValueError(batch)

    with pytest.raises(ValueError):
        batches_handle(iter([1]), fails)
    assert gc.isenabled()
    gc.disable()
    try:
        batches_handle(iter([1]), lambda batch: None)
        assert not gc.isenabled()  # the caller paused it: the caller starts it again
    finally:
        gc.enable()
