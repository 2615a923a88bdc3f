"""Audit events' client addresses and browsers are cleared after `SNS_RETENTION_CLIENT_DAYS`,
and the chain still verifies (review finding 12).

Each event's hash covers a keyed digest of the two fields; the database allows only their
clearing, on events more than 30 days old that carry a digest (migration 0008). The
tampering tests play an intruder with the table owner's rights but not the key, as
test_chain.py does: triggers switched off inside the test's transaction.
"""

import datetime

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent
from audit.retention import audit_client_fields_purge
from audit.services import (
    CLIENT_FIELDS_CLEARED,
    SystemActor,
    audit_chain_verify,
    client_digest,
    event_content,
    event_hash,
    record,
)
from audit.tests.test_chain import trigger_switched_off
from core.client import Client
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CLIENT = Client(address="192.0.2.10", user_agent="Firefox 140")


def _record(*, days_ago: int, client: Client | None = CLIENT) -> AuditEvent:
    user = UserFactory()
    with time_machine.travel(timezone.now() - datetime.timedelta(days=days_ago), tick=False):
        return record(actor=user, action="test.acted", obj=user, client=client)


def _reloaded(event: AuditEvent) -> AuditEvent:
    return AuditEvent.objects.get(pk=event.pk)


def _sql(statement: str, params=()) -> None:
    with trigger_switched_off(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_old_events_lose_their_client_fields_in_one_audited_batch_and_the_chain_verifies(
    settings,
):
    settings.SNS_RETENTION_CLIENT_DAYS = 400
    old = [_record(days_ago=500), _record(days_ago=401)]
    recent = _record(days_ago=399)
    no_client = _record(days_ago=500, client=None)
    assert audit_chain_verify()[1] is None

    assert audit_client_fields_purge() == 2

    for event in old:
        event = _reloaded(event)
        assert (event.client_address, event.user_agent) == (None, "")
        assert event.client_digest == client_digest(address="192.0.2.10", user_agent="Firefox 140")
    recent = _reloaded(recent)
    assert (recent.client_address, recent.user_agent) == ("192.0.2.10", "Firefox 140")
    assert _reloaded(no_client).client_digest == ""
    sweep = AuditEvent.objects.get(action=CLIENT_FIELDS_CLEARED)
    assert sweep.actor_label == "system:retention sweep"
    assert sweep.object_repr == "2 audit events"
    assert sweep.changes == {"count": 2, "up_to_id": old[-1].pk, "retention_days": 400}
    assert audit_chain_verify() == (5, None)
    # Nothing is due on a second run, and it records nothing.
    assert audit_client_fields_purge() == 0
    assert AuditEvent.objects.filter(action=CLIENT_FIELDS_CLEARED).count() == 1


def test_each_batch_is_one_event_naming_how_many_and_up_to_which(settings):
    settings.SNS_RETENTION_CLIENT_DAYS = 400
    old = [_record(days_ago=500) for _ in range(3)]

    assert audit_client_fields_purge(batch=2) == 3

    batches = AuditEvent.objects.filter(action=CLIENT_FIELDS_CLEARED).order_by("id")
    assert [(e.changes["count"], e.changes["up_to_id"]) for e in batches] == [
        (2, old[1].pk),
        (1, old[2].pk),
    ]
    assert audit_chain_verify()[1] is None


def test_the_period_is_the_setting(settings):
    settings.SNS_RETENTION_CLIENT_DAYS = 60
    event = _record(days_ago=61)
    assert audit_client_fields_purge() == 1
    assert _reloaded(event).client_address is None


def test_a_rewritten_address_on_a_kept_event_is_caught():
    event = _record(days_ago=10)
    _sql("UPDATE audit_auditevent SET client_address = '198.51.100.7' WHERE id = %s", [event.pk])
    checked, chain_break = audit_chain_verify()
    assert chain_break.event_id == event.pk
    assert "does not match the digest" in chain_break.reason


def test_a_rewritten_browser_is_caught():
    event = _record(days_ago=10)
    _sql("UPDATE audit_auditevent SET user_agent = 'curl' WHERE id = %s", [event.pk])
    assert audit_chain_verify()[1].event_id == event.pk


def test_an_address_written_into_a_cleared_event_is_caught(settings):
    settings.SNS_RETENTION_CLIENT_DAYS = 400
    event = _record(days_ago=500)
    audit_client_fields_purge()
    _sql("UPDATE audit_auditevent SET client_address = '198.51.100.7' WHERE id = %s", [event.pk])
    chain_break = audit_chain_verify()[1]
    assert chain_break.event_id == event.pk
    assert "does not match the digest" in chain_break.reason


def test_an_address_written_into_an_event_recorded_without_a_client_is_caught():
    event = _record(days_ago=10, client=None)
    _sql("UPDATE audit_auditevent SET client_address = '198.51.100.7' WHERE id = %s", [event.pk])
    assert audit_chain_verify()[1].event_id == event.pk


def test_fields_cleared_by_anyone_but_the_sweep_are_caught():
    event = _record(days_ago=10)
    _sql(
        "UPDATE audit_auditevent SET client_address = NULL, user_agent = '' WHERE id = %s",
        [event.pk],
    )
    chain_break = audit_chain_verify()[1]
    assert chain_break.event_id == event.pk
    assert "no retention sweep says it cleared them" in chain_break.reason


def test_a_swapped_digest_is_caught():
    event = _record(days_ago=10)
    other = client_digest(address="198.51.100.7", user_agent="curl")
    _sql(
        "UPDATE audit_auditevent SET client_address = '198.51.100.7', user_agent = 'curl', "
        "client_digest = %s WHERE id = %s",
        [other, event.pk],
    )
    assert "content does not match its hash" in audit_chain_verify()[1].reason


# --- the trigger -------------------------------------------------------------------------------

CLEAR = "client_address = NULL, user_agent = ''"


@pytest.mark.parametrize(
    ("days_ago", "assignment"),
    [
        (500, "client_address = '198.51.100.7'"),  # rewritten, not cleared
        (500, "client_address = NULL"),  # one of the two only
        (500, "user_agent = ''"),
        (500, f"{CLEAR}, action = 'test.other'"),  # anything else with it
        (500, f"{CLEAR}, object_repr = 'someone else'"),
        (500, f"{CLEAR}, changes = '{{\"a\": 1}}'"),
        (500, f"{CLEAR}, client_digest = NULL"),
        (500, f"{CLEAR}, hash = repeat('0', 64)"),
        (500, f"{CLEAR}, occurred_at = now()"),
        (10, CLEAR),  # younger than the database's 30-day floor
        (500, "action = 'test.other'"),
    ],
)
def test_the_database_allows_no_other_update(days_ago, assignment):
    event = _record(days_ago=days_ago)
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE audit_auditevent SET {assignment} WHERE id = %s",  # noqa: S608  # nosec B608 - test statements
                [event.pk],
            )
    event = _reloaded(event)
    assert (event.client_address, event.user_agent) == ("192.0.2.10", "Firefox 140")
    assert audit_chain_verify()[1] is None


def test_the_database_allows_clearing_an_old_events_client_fields():
    event = _record(days_ago=31)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE audit_auditevent SET {CLEAR} WHERE id = %s", [event.pk])  # noqa: S608  # nosec B608 - test statement
        assert cursor.rowcount == 1


# --- events from before the digest ---------------------------------------------------------


def _as_written_before_the_digest(event: AuditEvent) -> AuditEvent:
    """Rewrite an event (and the head) as migration 0008 leaves an older one: no digest, its
    hash over the address and browser themselves, keyed."""
    event = _reloaded(event)
    event.client_digest = None
    legacy_hash = event_hash(previous_hash=event.previous_hash, content=event_content(event))
    assert "client_address" in event_content(event)
    _sql(
        "UPDATE audit_auditevent SET client_digest = NULL, hash = %s WHERE id = %s",
        [legacy_hash, event.pk],
    )
    _sql("UPDATE audit_auditchainhead SET last_hash = %s WHERE id = 1", [legacy_hash])
    return _reloaded(event)


def test_an_event_from_before_the_digest_verifies_keeps_its_fields_and_catches_edits(settings):
    settings.SNS_RETENTION_CLIENT_DAYS = 400
    legacy = _as_written_before_the_digest(_record(days_ago=500))
    later = _record(days_ago=450)  # chains onto the rewritten head
    assert AuditChainHead.objects.get(pk=1).last_id == later.pk
    assert audit_chain_verify() == (2, None)

    assert audit_client_fields_purge() == 1  # the later event only

    legacy = _reloaded(legacy)
    assert (legacy.client_address, legacy.user_agent) == ("192.0.2.10", "Firefox 140")
    assert _reloaded(later).client_address is None
    assert audit_chain_verify() == (3, None)
    # The database refuses to clear it: its hash covers the fields.
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"UPDATE audit_auditevent SET {CLEAR} WHERE id = %s", [legacy.pk])  # noqa: S608  # nosec B608 - test statement
    _sql("UPDATE audit_auditevent SET client_address = '198.51.100.7' WHERE id = %s", [legacy.pk])
    chain_break = audit_chain_verify()[1]
    assert chain_break.event_id == legacy.pk
    assert "content does not match its hash" in chain_break.reason


def test_events_are_hashed_over_the_digest_not_the_fields():
    event = _reloaded(_record(days_ago=1))
    content = event_content(event)
    assert "client_address" not in content and "user_agent" not in content
    assert content["client_digest"] == event.client_digest != ""
    assert event.hash == event_hash(previous_hash=event.previous_hash, content=content)
    assert record(actor=SystemActor("test"), action="test.no_client").client_digest == ""
