"""The retention sweep: on the one beat schedule, clears expired sessions, and runs each
app's retention service (review finding 12)."""

import datetime

import pytest
import time_machine
from axes.models import AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from access_requests.models import BusinessCase
from access_requests.services.retention import REMOVED
from access_requests.tests.factories import BusinessCaseFactory
from audit.models import AuditEvent
from audit.services import audit_chain_verify, record
from core.client import Client
from notifications.models import OutboundEmail
from portal.tasks import retention_sweep
from portal.tests.test_settings_from_environment import settings_in_subprocess

pytestmark = pytest.mark.django_db


def test_the_sweep_is_on_the_beat_schedule():
    [entry] = [
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "portal.retention_sweep"
    ]
    assert entry["schedule"] <= 24 * 3600


def test_the_sweep_clears_expired_sessions_old_bodies_old_reasons_and_old_client_fields():
    now = timezone.now()
    Session.objects.create(
        session_key="a" * 32, session_data="x", expire_date=now - datetime.timedelta(minutes=1)
    )
    Session.objects.create(
        session_key="b" * 32, session_data="x", expire_date=now + datetime.timedelta(hours=1)
    )
    sent = OutboundEmail.objects.create(
        to="sam@example.gov.uk",
        template="t",
        body_text="Dear Sam",
        status="sent",
        sent_at=now - datetime.timedelta(days=365),
    )
    for username, days in (("old@example.gov.uk", 91), ("recent@example.gov.uk", 89)):
        entry = AccessLog.objects.create(
            username=username, ip_address="203.0.113.9", user_agent="Firefox"
        )
        # attempt_time is set on create: moved back as time would have.
        AccessLog.objects.filter(pk=entry.pk).update(
            attempt_time=now - datetime.timedelta(days=days)
        )
    case = BusinessCaseFactory(
        submitted=True,
        status=BusinessCase.Status.REJECTED,
        decided_at=now - datetime.timedelta(days=5 * 365),
        decision_reason="Personal reasons",
    )
    with time_machine.travel(now - datetime.timedelta(days=401), tick=False):
        old_event = record(
            actor=None, action="test.signed_in", client=Client("203.0.113.9", "Firefox")
        )

    assert retention_sweep.apply().get() == {
        "sign_in_records_removed": 1,
        "email_bodies_removed": 1,
        "case_texts_removed": 1,
        "audit_client_fields_cleared": 1,
    }

    assert list(Session.objects.values_list("session_key", flat=True)) == ["b" * 32]
    sent.refresh_from_db()
    assert sent.body_text == ""
    case.refresh_from_db()
    assert case.decision_reason == REMOVED
    assert retention_sweep.apply().get() == {
        "sign_in_records_removed": 0,
        "email_bodies_removed": 0,
        "case_texts_removed": 0,
        "audit_client_fields_cleared": 0,
    }
    assert list(AccessLog.objects.values_list("username", flat=True)) == ["recent@example.gov.uk"]
    assert AuditEvent.objects.filter(action="sign_in_records.removed").count() == 1
    old_event = AuditEvent.objects.get(pk=old_event.pk)
    assert (old_event.client_address, old_event.user_agent) == (None, "")
    assert audit_chain_verify()[1] is None


def test_the_client_fields_period_is_never_below_the_databases_floor(tmp_path):
    """The database refuses to clear an event's client fields sooner than 30 days (audit
    migration 0008), so a shorter period would fail every sweep: settings refuse it."""
    base = {"DEBUG": "1", "PORTAL_VAR_DIR": str(tmp_path)}
    result = settings_in_subprocess(base, "s.SNS_RETENTION_CLIENT_DAYS")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "400"
    result = settings_in_subprocess(
        {**base, "SNS_RETENTION_CLIENT_DAYS": "29"}, "s.SNS_RETENTION_CLIENT_DAYS"
    )
    assert result.returncode != 0
    assert "SNS_RETENTION_CLIENT_DAYS must be 30 or more" in result.stderr
