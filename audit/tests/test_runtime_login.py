"""The runtime database login, granted as `manage.py grant_runtime_login` grants it
(README, docs/threat-model.md), may read and append to the trail through the portal's path
but not change, remove or empty it.

The role is created inside the test's transaction (NOLOGIN: the test switches to it with
`SET LOCAL ROLE`), so it is gone when the test's transaction rolls back.
"""

import datetime
from contextlib import contextmanager
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent, AuditPendingEvent
from audit.retention import audit_client_fields_purge
from audit.sequencer import audit_sequence
from audit.services import SystemActor, audit_chain_verify, record
from conftest import AUDIT_TRUNCATE_TRIGGERS
from core.client import Client
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLE = "sns_runtime_test"


@pytest.fixture
def runtime_role():
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {ROLE} NOLOGIN")
    out = StringIO()
    call_command("grant_runtime_login", ROLE, stdout=out)
    assert "grants given" in out.getvalue()
    return ROLE


@contextmanager
def as_runtime_login():
    """Statements inside run as the runtime role; the role ends with the savepoint."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {ROLE}")
        yield cursor
        cursor.execute("RESET ROLE")


def test_the_runtime_login_appends_through_the_portals_path(runtime_role):
    user = UserFactory()
    record(actor=user, action="test.before", obj=user)
    with as_runtime_login() as cursor:
        event = record(actor=user, action="test.by_runtime", obj=user, changes={"a": 1})
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        assert cursor.fetchone()[0] == 2
    assert AuditChainHead.objects.get(pk=1).last_id == event.id
    assert audit_chain_verify() == (2, None)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE audit_auditevent SET action = 'x'", "permission denied"),
        ("DELETE FROM audit_auditevent", "permission denied"),
        ("TRUNCATE audit_auditevent CASCADE", "permission denied"),
        ("DELETE FROM audit_auditchainhead", "permission denied"),
        ("TRUNCATE audit_auditchainhead", "permission denied"),
        ("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only", "owner"),
        ("ALTER TABLE audit_auditchainhead DISABLE TRIGGER audit_chain_head_guard", "owner"),
        ("UPDATE audit_auditchainhead SET last_id = 0", "only forward"),
        ("UPDATE audit_auditevent SET client_address = NULL, user_agent = ''", "append-only"),
        ("UPDATE audit_auditevent SET user_agent = 'curl'", "append-only"),
        ("UPDATE django_migrations SET app = 'x'", "permission denied"),
    ],
)
def test_the_runtime_login_cannot_change_remove_or_empty_the_trail(
    runtime_role, statement, message
):
    events = [record(actor=SystemActor("test"), action=f"test.{i}") for i in range(3)]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, trigger in AUDIT_TRUNCATE_TRIGGERS:  # as in production
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    with pytest.raises(DatabaseError, match=message):
        with as_runtime_login() as cursor:
            cursor.execute(statement)
    assert AuditEvent.objects.count() == 3
    assert AuditChainHead.objects.get(pk=1).last_id == events[-1].id
    assert audit_chain_verify() == (3, None)


def test_the_runtime_login_clears_old_client_fields_through_the_retention_sweep(
    runtime_role, settings
):
    settings.SNS_RETENTION_CLIENT_DAYS = 400
    user = UserFactory()
    with time_machine.travel(timezone.now() - datetime.timedelta(days=500), tick=False):
        old = record(actor=user, action="test.old", obj=user, client=Client("192.0.2.1", "Firefox"))
    with as_runtime_login():
        assert audit_client_fields_purge() == 1
    old = AuditEvent.objects.get(pk=old.pk)
    assert (old.client_address, old.user_agent) == (None, "")
    assert audit_chain_verify() == (2, None)


def test_the_runtime_login_removes_a_pending_event_only_by_chaining_it(runtime_role):
    # A writer that found the chain head busy left this event pending (audit/sequencer.py).
    record(actor=SystemActor("test"), action="test.chained")
    pending = AuditPendingEvent.objects.create(
        occurred_at=timezone.now(),
        actor_label="system:test",
        action="test.pending",
        client_digest="",  # as `record` writes it when no client was recorded
    )
    with pytest.raises(DatabaseError, match="removed only once it is chained"):
        with as_runtime_login() as cursor:
            cursor.execute("DELETE FROM audit_auditpendingevent")
    assert AuditPendingEvent.objects.filter(pk=pending.pk).exists()

    with as_runtime_login():
        assert audit_sequence() == 1
    assert not AuditPendingEvent.objects.exists()
    chained = AuditEvent.objects.get(pending_id=pending.pk)
    assert chained.action == "test.pending"
    assert AuditChainHead.objects.get(pk=1).last_id == chained.id
    assert audit_chain_verify() == (2, None)


def test_the_grants_are_printed_for_the_operator():
    out = StringIO()
    call_command("grant_runtime_login", "portal_runtime", print=True, stdout=out)
    text = out.getvalue()
    assert 'GRANT SELECT, INSERT ON "audit_auditevent" TO "portal_runtime";' in text
    assert 'GRANT UPDATE ("last_hash", "last_id", "updated_at") ON "audit_auditchainhead"' in text
    assert 'GRANT UPDATE ("client_address", "user_agent") ON "audit_auditevent"' in text
    assert "TRUNCATE" not in text
