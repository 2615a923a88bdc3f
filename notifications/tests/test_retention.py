"""Sent emails' bodies are emptied after `SNS_RETENTION_EMAIL_BODY_DAYS` (review finding 12)."""

import datetime

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from notifications.models import OutboundEmail
from notifications.retention import outbound_email_bodies_purge

pytestmark = pytest.mark.django_db


def email(status, *, days_ago, **fields):
    when = timezone.now() - datetime.timedelta(days=days_ago)
    row = OutboundEmail.objects.create(
        to="sam@example.gov.uk",
        template="test_message",
        subject="Your request",
        body_text="Dear Sam Smith, your pseudonym reason …",
        body_html="<p>Dear Sam Smith</p>",
        status=status,
        sent_at=when if status == OutboundEmail.Status.SENT else None,
        **fields,
    )
    OutboundEmail.objects.filter(pk=row.pk).update(updated_at=when)
    return row


def test_bodies_older_than_the_period_are_emptied_and_the_record_of_sending_stays(settings):
    settings.SNS_RETENTION_EMAIL_BODY_DAYS = 90
    old_sent = email(OutboundEmail.Status.SENT, days_ago=91)
    old_failed = email(OutboundEmail.Status.FAILED, days_ago=200)
    recent = email(OutboundEmail.Status.SENT, days_ago=89)
    waiting = email(OutboundEmail.Status.PENDING, days_ago=300, context={"name": "Sam"})

    assert outbound_email_bodies_purge() == 2

    for row in (old_sent, old_failed):
        row.refresh_from_db()
        assert (row.body_text, row.body_html) == ("", "")
        assert (row.to, row.subject, row.template) == (
            "sam@example.gov.uk",
            "Your request",
            "test_message",
        )
    for row in (recent, waiting):
        row.refresh_from_db()
        assert row.body_text.startswith("Dear Sam Smith")
    event = AuditEvent.objects.get(action="email.bodies_removed")
    assert event.changes["count"] == 2
    assert event.changes["retention_days"] == 90


def test_running_again_changes_nothing_and_records_nothing():
    email(OutboundEmail.Status.SENT, days_ago=365)
    assert outbound_email_bodies_purge() == 1
    assert outbound_email_bodies_purge() == 0
    assert AuditEvent.objects.filter(action="email.bodies_removed").count() == 1


def test_a_shorter_setting_empties_sooner(settings):
    settings.SNS_RETENTION_EMAIL_BODY_DAYS = 7
    email(OutboundEmail.Status.SENT, days_ago=8)
    assert outbound_email_bodies_purge() == 1
