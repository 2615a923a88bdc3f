"""The audit feed (`audit.feed`): read incrementally from an id while others append, it
serves every event exactly once, in chain order, and never one whose transaction has not
committed; `manage.py export_audit` writes the same items, which verify against the chain
and the signed checkpoints."""

import json
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from audit.checkpoints import audit_checkpoint_write, audit_checkpoints_read
from audit.feed import audit_export_verify, audit_feed
from audit.models import AuditEvent
from audit.services import GENESIS_HASH, record
from tests.at_once import returned, run_at_once


def _read_all(after_id: int = 0) -> list[dict]:
    items = []
    while page := audit_feed(after_id=after_id, limit=7):
        items += page
        after_id = page[-1]["id"]
    return items


@pytest.mark.django_db(transaction=True)
def test_an_append_not_yet_committed_is_not_served_and_does_not_hold_the_feed_up():
    record(actor=None, action="test.before")
    appended, release = threading.Event(), threading.Event()

    def append_and_wait():
        try:
            with transaction.atomic():
                record(actor=None, action="test.slow")
                appended.set()
                release.wait(20)
        finally:
            connection.close()

    writer = threading.Thread(target=append_and_wait)
    writer.start()
    try:
        assert appended.wait(20)
        started = time.monotonic()
        served = [item["action"] for item in audit_feed(after_id=0, limit=100)]
        assert time.monotonic() - started < 10  # a read does not wait for the lock (held 20 s)
        assert served == ["test.before"]
    finally:
        release.set()
        writer.join(20)
    assert [item["action"] for item in audit_feed(after_id=0, limit=100)] == [
        "test.before",
        "test.slow",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_reader_polling_during_concurrent_appends_gets_every_event_once_in_chain_order():
    writers, per_writer = 4, 15
    finished = []

    def write(number: int):
        def run():
            for n in range(per_writer):
                with transaction.atomic():
                    record(actor=None, action=f"test.w{number}", changes={"n": n})
                    # Hold the transaction open after the append a little while: an event
                    # that commits late must still not be passed over.
                    time.sleep(0.002 * (n % 3))
            finished.append(number)
            return per_writer

        return run

    def poll():
        seen, after_id, polls = [], 0, 0
        while len(finished) < writers or polls == 0:
            page = audit_feed(after_id=after_id, limit=5)
            polls += 1
            if page:
                seen += page
                after_id = page[-1]["id"]
            else:
                time.sleep(0.001)
        seen += _read_all(after_id)
        return seen

    *written, seen = returned(run_at_once(*[write(n) for n in range(writers)], poll))
    assert sum(written) == writers * per_writer
    ids = [item["id"] for item in seen]
    assert ids == sorted(set(ids)), "served twice or out of order"
    assert ids == list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    previous = GENESIS_HASH
    for item in seen:
        assert item["previous_hash"] == previous, f"a gap before event {item['id']}"
        previous = item["hash"]


@pytest.mark.django_db
def test_export_audit_writes_the_feed_from_an_id_and_it_verifies_against_the_checkpoints(
    tmp_path,
):
    for n in range(5):
        record(actor=None, action="test.exported", changes={"n": n})
    audit_checkpoint_write()
    record(actor=None, action="test.after_checkpoint")
    whole = StringIO()
    call_command(
        "export_audit", "--after-id", "0", "--format", "jsonl", stdout=whole, stderr=StringIO()
    )
    items = [json.loads(line) for line in whole.getvalue().splitlines()]
    assert items == _read_all(0)
    checkpoints, problems = audit_checkpoints_read()
    assert checkpoints and not problems
    check = audit_export_verify(items, checkpoints=checkpoints)
    assert check.chain_break is None and check.events == 6

    # Continuing from the last id read gives the rest, which links on to it.
    tail = tmp_path / "tail.jsonl"
    call_command(
        "export_audit", "--after-id", str(items[2]["id"]), "--output", str(tail), stderr=StringIO()
    )
    rest = [json.loads(line) for line in tail.read_text().splitlines()]
    assert [item["id"] for item in rest] == [item["id"] for item in items[3:]]
    assert audit_export_verify(rest, previous_hash=items[2]["hash"]).chain_break is None


@pytest.mark.django_db
def test_an_export_edited_or_cut_does_not_verify():
    for n in range(4):
        record(actor=None, action="test.exported", changes={"n": n})
    audit_checkpoint_write()
    checkpoints, _ = audit_checkpoints_read()
    items = _read_all(0)
    edited = [dict(item) for item in items]
    edited[1]["changes"] = {"n": 99}
    assert audit_export_verify(edited).chain_break.event_id == items[1]["id"]
    removed = items[:1] + items[2:]
    assert audit_export_verify(removed).chain_break.event_id == items[2]["id"]
    shortened = items[:-1]
    assert audit_export_verify(shortened, checkpoints=checkpoints).chain_break is None
    reordered = [items[1], items[0], *items[2:]]
    assert audit_export_verify(reordered).chain_break is not None
    forged_head = [*items[:-1], {**items[-1], "hash": "0" * 64}]
    assert audit_export_verify(forged_head, checkpoints=checkpoints).chain_break is not None
