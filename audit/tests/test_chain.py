"""The audit trail is append-only and tamper-evident.

The database refuses UPDATE and DELETE on the table (a trigger). To show that
`verify_audit` catches tampering anyway, these tests play an intruder with the table
superuser's rights: they switch triggers off inside the test's transaction
(`session_replication_role = replica`, rolled back afterwards) and edit, delete or reorder rows with raw SQL.
"""

from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AppendOnlyError, AuditEvent
from audit.services import NewEvent, SystemActor, audit_chain_verify, record, record_many
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
