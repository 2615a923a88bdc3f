"""The chain under concurrent writers, with the sequencer, on PostgreSQL.

A writer that finds the chain head taken does not wait: its events are pending until the
sequencer chains them (audit/sequencer.py). These tests use separate connections (threads,
a raw psycopg2 connection, a `manage.py sequence_audit` process) and check what an auditor
relies on: every committed event ends up in the chain exactly once, in its transaction's
order, and `verify_audit` passes.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import psycopg2
import pytest
from django.conf import settings
from django.db import connection, transaction

from audit.feed import audit_feed
from audit.models import AuditEvent, AuditPendingEvent
from audit.sequencer import CHAIN_LOCK, audit_backlog, audit_sequence
from audit.services import (
    GENESIS_HASH,
    NewEvent,
    SystemActor,
    audit_chain_verify,
    record,
    record_many,
)
from audit.verify_parallel import audit_chain_verify_parallel
from conftest import ROOT, worker_env

pytestmark = pytest.mark.django_db(transaction=True)


def raw_connection():
    db = settings.DATABASES["default"]
    return psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
    )


class HeadHolder:
    """Another session holding the chain head, as a sweep's batch does until its commit."""

    def __enter__(self):
        self.db = raw_connection()
        with self.db.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
        return self

    def __exit__(self, *exc):
        self.db.commit()
        self.db.close()


def labels_in_chain_order() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("object_repr", flat=True))


def test_a_writer_does_not_wait_for_a_busy_head_and_its_event_is_chained_after():
    record(actor=SystemActor("test"), action="test.first", object_repr="first")
    with HeadHolder():
        started = time.monotonic()
        event = record(actor=SystemActor("test"), action="test.second", object_repr="second")
        assert time.monotonic() - started < 5.0  # it did not wait for the holder (it holds on)
        assert event.pk is None
        # Committed, but pending: not in the chain, the feed or verification yet.
        assert audit_backlog()["events"] == 1
        assert labels_in_chain_order() == ["first"]
        assert [item["object_repr"] for item in audit_feed(after_id=0, limit=10)] == ["first"]
        assert audit_chain_verify() == (1, None)
    # The head is free again: the next writer chains its own event and, just after its
    # commit, the one left pending.
    record(actor=SystemActor("test"), action="test.third", object_repr="third")
    assert labels_in_chain_order() == ["first", "third", "second"]
    assert audit_backlog()["events"] == 0
    assert audit_chain_verify() == (3, None)
    assert [item["object_repr"] for item in audit_feed(after_id=0, limit=10)] == [
        "first",
        "third",
        "second",
    ]


def test_a_transaction_that_left_events_pending_keeps_its_order():
    holder = HeadHolder().__enter__()
    with transaction.atomic():
        record(actor=SystemActor("test"), action="test.a", object_repr="a")
        holder.__exit__(None, None, None)  # the head is free from here on
        record(actor=SystemActor("test"), action="test.b", object_repr="b")
    assert labels_in_chain_order() == ["a", "b"]
    assert audit_chain_verify() == (2, None)


def test_concurrent_writers_each_on_its_own_connection_keep_the_chain_whole():
    writers, transactions_each = 8, 20
    errors = []

    def write(writer: int):
        try:
            for n in range(transactions_each):
                with transaction.atomic():
                    record_many(
                        actor=SystemActor("test"),
                        events=[
                            NewEvent(action="test.one", object_repr=f"w{writer}-t{n}-1"),
                            NewEvent(action="test.two", object_repr=f"w{writer}-t{n}-2"),
                        ],
                    )
                    record(
                        actor=SystemActor("test"),
                        action="test.three",
                        object_repr=f"w{writer}-t{n}-3",
                    )
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    audit_sequence()  # a writer's last attempt may have found the head taken
    chain = labels_in_chain_order()
    expected = {
        f"w{w}-t{n}-{k}"
        for w in range(writers)
        for n in range(transactions_each)
        for k in (1, 2, 3)
    }
    assert len(chain) == len(expected) and set(chain) == expected  # each once
    position = {label: i for i, label in enumerate(chain)}
    for w in range(writers):
        for n in range(transactions_each):
            one, two, three = (position[f"w{w}-t{n}-{k}"] for k in (1, 2, 3))
            assert one < two < three  # a transaction's events in its order
    assert audit_backlog()["events"] == 0
    assert audit_chain_verify() == (len(expected), None)


def sequencer_process(tmp_path, *args) -> subprocess.Popen:
    env = {**worker_env(tmp_path), "AUDIT_CHAIN_KEY": settings.AUDIT_CHAIN_KEY}
    return subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "manage.py", "sequence_audit", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_a_sequencer_killed_mid_run_loses_and_repeats_nothing(tmp_path):
    record(actor=SystemActor("test"), action="test.before", object_repr="before")
    total = 2000
    with HeadHolder():
        for start in range(0, total, 100):
            with transaction.atomic():
                record_many(
                    actor=SystemActor("test"),
                    events=[
                        NewEvent(action="test.pending", object_repr=f"e{n:05d}")
                        for n in range(start, start + 100)
                    ],
                )
    # Committed and pending: the head was taken at every commit, and nobody chains them.
    assert audit_backlog()["events"] == total

    process = sequencer_process(tmp_path, "--loop", "--batch", "5")
    deadline = time.monotonic() + 60
    while AuditEvent.objects.count() < 1 + 50 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # our own child's session, mid-run
    process.wait()
    chained = AuditEvent.objects.count() - 1
    assert 0 < chained < total, "the sequencer was stopped mid-run"
    assert chained + audit_backlog()["events"] == total  # nothing lost, nothing twice
    assert audit_chain_verify() == (1 + chained, None)

    restarted = sequencer_process(tmp_path)
    output, _ = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, output
    assert audit_backlog()["events"] == 0
    assert labels_in_chain_order() == ["before"] + [f"e{n:05d}" for n in range(total)]
    assert not AuditPendingEvent.objects.exists()
    assert audit_chain_verify() == (1 + total, None)


def test_verification_on_several_processes_agrees_with_the_walk_in_one():
    """`verify_audit` checks a long trail in ranges, one process each; a tampered trail
    still gets the one-process walk's answer (the first broken link)."""
    record_many(
        actor=SystemActor("test"),
        events=[NewEvent(action="test.many", object_repr=f"e{n}") for n in range(30)],
    )
    assert audit_chain_verify(workers=3, parallel_from=0) == (30, None)
    # The ranges alone say the trail holds (no walk in one process was needed).
    assert (
        audit_chain_verify_parallel(
            checkpoints=[], cleared_up_to=0, workers=3, chunk_size=7, genesis=GENESIS_HASH
        )
        == 30
    )
    victim = AuditEvent.objects.order_by("id")[20]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(
            "UPDATE audit_auditevent SET object_repr = 'forged' WHERE id = %s", [victim.id]
        )
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
    assert (
        audit_chain_verify_parallel(
            checkpoints=[], cleared_up_to=0, workers=3, chunk_size=7, genesis=GENESIS_HASH
        )
        is None
    )
    checked, chain_break = audit_chain_verify(workers=3, parallel_from=0)
    assert (checked, chain_break.event_id) == (20, victim.id)
    assert "altered" in chain_break.reason
