"""The audit trail is append-only and tamper-evident.

The database refuses UPDATE, DELETE and TRUNCATE on the table and guards the chain head
(triggers). To show that `verify_audit` catches tampering anyway, these tests play an
intruder with the table superuser's rights but not the portal's key: they switch triggers
off inside the test's transaction (`session_replication_role = replica`, rolled back
afterwards) and edit, delete, reorder or recompute rows with raw SQL.
"""

from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AppendOnlyError, AuditChainHead, AuditEvent
from audit.services import (
    GENESIS_HASH,
    NewEvent,
    SystemActor,
    audit_chain_verify,
    event_content,
    event_hash,
    event_hash_unkeyed,
    record,
    record_many,
)
from conftest import AUDIT_TRUNCATE_TRIGGERS
from core.client import Client
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _events(n: int = 5) -> list[AuditEvent]:
    user = UserFactory()
    return [
        record(
            actor=user if i % 2 else SystemActor("sweep"),
            action=f"test.step_{i}",
            obj=user,
            changes={"status": [f"s{i}", f"s{i + 1}"]},
            client=Client(address="192.0.2.10", user_agent="pytest"),
        )
        for i in range(n)
    ]


@contextmanager
def trigger_switched_off():
    """A superuser's way round triggers: replica mode skips ordinary triggers."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")


def _sql(statement: str, params=()):
    with trigger_switched_off(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def _verify_command() -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_an_untouched_trail_verifies():
    events = _events()
    checked, chain_break = audit_chain_verify()
    assert chain_break is None
    assert checked == len(events)
    assert f"Audit trail intact: {len(events)} events verified." in _verify_command()


def test_each_event_chains_to_the_one_before():
    events = _events(3)
    assert events[1].previous_hash == events[0].hash
    assert events[2].previous_hash == events[1].hash


def test_an_edited_row_is_reported_as_the_first_broken_link():
    events = _events()
    target = events[2]
    _sql(
        "UPDATE audit_auditevent SET changes = %s WHERE id = %s",
        ['{"status": ["s2", "approved"]}', target.id],
    )
    checked, chain_break = audit_chain_verify()
    assert chain_break.event_id == target.id
    assert "altered" in chain_break.reason
    assert checked == 2
    with pytest.raises(CommandError, match=f"broken at event {target.id}.*altered"):
        _verify_command()


def test_an_edited_actor_is_caught_too():
    events = _events()
    _sql(
        "UPDATE audit_auditevent SET actor_label = 'someone.else@example.gov.uk' WHERE id = %s",
        [events[0].id],
    )
    _, chain_break = audit_chain_verify()
    assert chain_break.event_id == events[0].id


def test_a_deleted_row_is_reported():
    events = _events()
    _sql("DELETE FROM audit_auditevent WHERE id = %s", [events[2].id])
    checked, chain_break = audit_chain_verify()
    assert chain_break.event_id == events[3].id
    assert "removed or reordered" in chain_break.reason
    assert checked == 2
    with pytest.raises(CommandError, match=f"broken at event {events[3].id}"):
        _verify_command()


def test_deleting_the_newest_rows_is_reported():
    events = _events()
    _sql("DELETE FROM audit_auditevent WHERE id >= %s", [events[3].id])
    checked, chain_break = audit_chain_verify()
    assert chain_break.event_id is None
    assert "removed from the end" in chain_break.reason
    with pytest.raises(CommandError, match="broken at the end"):
        _verify_command()


def test_reordered_rows_are_reported():
    """Swap two events' positions (their ids) keeping each row's own hash intact."""
    events = _events()
    a, b = events[1], events[2]
    _sql("UPDATE audit_auditevent SET id = -1 WHERE id = %s", [a.id])
    _sql("UPDATE audit_auditevent SET id = %s WHERE id = %s", [a.id, b.id])
    _sql("UPDATE audit_auditevent SET id = %s WHERE id = -1", [b.id])
    checked, chain_break = audit_chain_verify()
    assert chain_break.event_id == a.id  # now holds b, whose previous hash is not events[0]'s
    assert "removed or reordered" in chain_break.reason
    assert checked == 1


def test_the_database_refuses_updates_and_deletes_even_in_raw_sql():
    event = _events(1)[0]
    for statement in (
        "UPDATE audit_auditevent SET action = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, [event.id])
    event.refresh_from_db()
    assert event.action == "test.step_0"


def test_the_application_refuses_to_change_or_delete_events():
    event = _events(1)[0]
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.step_0"


def test_an_event_is_written_in_the_same_transaction_as_its_change():
    user = UserFactory()
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        record(actor=user, action="test.rolled_back", obj=user)
        raise RuntimeError("the change failed")
    assert AuditEvent.objects.count() == before
    assert audit_chain_verify()[1] is None


def test_a_batch_appended_at_once_chains_like_events_recorded_one_by_one():
    user = UserFactory()
    record(actor=user, action="test.before", obj=user)
    appended = record_many(
        actor=SystemActor("sweep"),
        events=[
            NewEvent(action="test.batch", obj=user, changes={"n": n, "on": "2026-07-21"})
            for n in range(50)
        ],
    )
    record(actor=user, action="test.after", obj=user)
    assert appended == 50
    assert audit_chain_verify() == (52, None)
    batch = list(AuditEvent.objects.filter(action="test.batch").order_by("id"))
    assert [event.changes["n"] for event in batch] == list(range(50))
    assert all(event.actor_label == "system:sweep" for event in batch)
    before, after = (
        AuditEvent.objects.get(action="test.before"),
        AuditEvent.objects.get(action="test.after"),
    )
    assert batch[0].previous_hash == before.hash
    assert after.previous_hash == batch[-1].hash
    call_command("verify_audit")  # and the command agrees


# --- an intruder with the database but not the key -------------------------------------------


def rechain(hasher) -> None:
    """Recompute every event's hash forward from the first, and move the head, the way an
    intruder who can rewrite the tables would after editing an event."""
    previous = GENESIS_HASH
    for event in AuditEvent.objects.order_by("id"):
        digest = hasher(previous_hash=previous, content=event_content(event))
        _sql(
            "UPDATE audit_auditevent SET previous_hash = %s, hash = %s WHERE id = %s",
            [previous, digest, event.id],
        )
        previous = digest
    _sql("UPDATE audit_auditchainhead SET last_hash = %s WHERE id = 1", [previous])


def test_a_chain_recomputed_without_the_key_is_reported():
    """Plain SHA-256 needs no secret: an intruder edits an event and recomputes every hash
    after it. The keyed chain catches it at the first event, because they lack the key."""
    events = _events()
    _sql(
        "UPDATE audit_auditevent SET changes = %s WHERE id = %s",
        ['{"status": ["s2", "approved"]}', events[2].id],
    )
    rechain(event_hash_unkeyed)

    checked, chain_break = audit_chain_verify()

    assert chain_break.event_id == events[0].id
    assert "without the audit key" in chain_break.reason
    assert checked == 0
    with pytest.raises(
        CommandError, match=f"broken at event {events[0].id}.*without the audit key"
    ):
        _verify_command()


def test_a_chain_recomputed_with_another_key_is_reported():
    events = _events()
    rechain(lambda **link: event_hash(**link, key=b"a guess at the key"))
    _, chain_break = audit_chain_verify()
    assert chain_break.event_id == events[0].id
    assert "altered" in chain_break.reason


def test_the_chain_is_keyed_with_the_audit_chain_key(settings):
    events = _events(2)
    assert events[0].hash == event_hash(
        previous_hash=GENESIS_HASH,
        content=event_content(events[0]),
        key=settings.AUDIT_CHAIN_KEY.encode(),
    )
    assert events[0].hash != event_hash_unkeyed(
        previous_hash=GENESIS_HASH, content=event_content(events[0])
    )
    # Verified with another key (a portal started with the wrong one), nothing holds.
    settings.AUDIT_CHAIN_KEY = "another-key-" + "x" * 32
    _, chain_break = audit_chain_verify()
    assert chain_break.event_id == events[0].id


@contextmanager
def truncate_triggers_on():
    """The TRUNCATE triggers as production has them (the test database keeps them off for
    pytest-django's flushes: the root conftest); back off when the test's transaction ends."""
    with connection.cursor() as cursor:
        # ALTER TABLE waits for no deferred foreign-key check of the rows just written.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, trigger in AUDIT_TRUNCATE_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    yield


@pytest.mark.parametrize("table", ["audit_auditevent", "audit_auditchainhead"])
def test_the_database_refuses_to_truncate_the_trail(table):
    _events(2)
    with truncate_triggers_on():
        with pytest.raises(DatabaseError, match="TRUNCATE refused"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.count() == 2
    assert audit_chain_verify() == (2, None)


def test_the_database_refuses_to_delete_the_chain_head():
    _events(2)
    for statement in (
        "DELETE FROM audit_auditchainhead",
        "DELETE FROM audit_auditchainhead WHERE id = 1",
    ):
        with pytest.raises(DatabaseError, match="head cannot be deleted"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
    with pytest.raises(DatabaseError, match="head cannot be deleted"):  # the ORM's too
        with transaction.atomic():
            AuditChainHead.objects.all().delete()
    assert AuditChainHead.objects.get(pk=1).last_id == AuditEvent.objects.order_by("-id")[0].id


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        # Back to an older event (hiding the newest ones from verification).
        ("last_id = %(first)s, last_hash = %(first_hash)s", "only forward"),
        # Forward, but to a hash that is not the newest event's.
        ("last_id = %(newest)s + 1, last_hash = %(first_hash)s", "newest event"),
        # A second head.
        ("id = 2", "one head"),
    ],
)
def test_the_chain_head_moves_only_forward_along_the_chain(assignment, message):
    events = _events(3)
    values = {"first": events[0].id, "first_hash": events[0].hash, "newest": events[-1].id}
    with pytest.raises(DatabaseError, match=message):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE audit_auditchainhead SET {assignment} WHERE id = 1", values)  # noqa: S608 - the test's own assignments
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_id, head.last_hash) == (events[-1].id, events[-1].hash)


def test_a_head_moved_onto_events_that_do_not_chain_onto_it_is_refused():
    """An event inserted with a made-up previous hash cannot become the head."""
    events = _events(2)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (occurred_at, actor_label, action, object_type, "
            "object_id, object_repr, user_agent, changes, previous_hash, hash) VALUES "
            "(now(), 'x', 'forged', '', '', '', '', '{}', %s, %s) RETURNING id",
            ["f" * 64, "e" * 64],
        )
        (forged_id,) = cursor.fetchone()
    with pytest.raises(DatabaseError, match="chain onto it"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_auditchainhead SET last_id = %s, last_hash = %s WHERE id = 1",
                [forged_id, "e" * 64],
            )
    # The forged event itself is reported by verification: it does not chain.
    _, chain_break = audit_chain_verify()
    assert chain_break.event_id == forged_id
    assert events[1].hash == AuditChainHead.objects.get(pk=1).last_hash


def test_a_missing_head_is_reported():
    _events(2)
    _sql("DELETE FROM audit_auditchainhead")
    _, chain_break = audit_chain_verify()
    assert chain_break.reason == "the chain head is missing"


def test_a_batch_of_events_is_one_insert_whose_statement_does_not_grow_with_the_batch():
    user = UserFactory()
    statements = []

    def capture(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "audit_auditevent"'):
            statements.append((sql, len(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        for count in (2, 40):
            record_many(
                actor=SystemActor("sweep"),
                events=[
                    NewEvent(action="test.batch", obj=user, changes={"n": n}) for n in range(count)
                ],
            )
    few, many = statements
    assert few == many  # one array per column, not a row of parameters per event
    assert audit_chain_verify() == (42, None)
