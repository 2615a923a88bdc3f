"""With the mail server refusing mail, sends back off and retry; none is lost or doubled."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from notifications.models import OutboundEmail
from notifications.services import email_queue
from notifications.tasks import outbox_sweep
from tests.resilience.smtp_sink import SmtpSink


@pytest.fixture
def smtp_sink(settings):
    with SmtpSink(failing=True) as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = sink.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_TIMEOUT = 5
        yield sink


def queue_emails(count, capture):
    with capture(execute=True):  # the send task runs after commit, eagerly, and fails
        return [
            email_queue(
                to=f"person{n}@example.gov.uk",
                template="scanner_probe",
                context={"name": f"Person {n}"},
            )
            for n in range(count)
        ]


def rows(emails):
    return list(OutboundEmail.objects.filter(pk__in=[e.pk for e in emails]).order_by("pk"))


@pytest.mark.django_db
def test_refused_sends_back_off_then_go_out_exactly_once_when_the_server_recovers(
    smtp_sink, probe_templates, django_capture_on_commit_callbacks
):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        emails = queue_emails(5, django_capture_on_commit_callbacks)
        assert smtp_sink.refused == 5
        for row in rows(emails):
            assert row.status == OutboundEmail.Status.PENDING
            assert row.attempts == 1
            assert "451" in row.last_error
            assert row.next_attempt_at == start + datetime.timedelta(minutes=1)
            assert row.claimed_until is None

        # Not due yet: the sweep leaves them alone.
        assert outbox_sweep.delay().get() == 0
        assert smtp_sink.refused == 5

        # Each failure doubles the wait: 1, 2, 4 minutes.
        for attempts, wait in [(2, 1), (3, 2), (4, 4)]:
            clock.shift(datetime.timedelta(minutes=wait, seconds=1))
            assert outbox_sweep.delay().get() == 0
            now = timezone.now()
            for row in rows(emails):
                assert row.attempts == attempts
                assert row.next_attempt_at == now + datetime.timedelta(minutes=2 ** (attempts - 1))

        smtp_sink.failing = False
        clock.shift(datetime.timedelta(minutes=8, seconds=1))
        assert outbox_sweep.delay().get() == 5
        clock.shift(datetime.timedelta(hours=2))
        assert outbox_sweep.delay().get() == 0

    assert sorted(smtp_sink.subjects) == sorted(f"Scanner probe for Person {n}" for n in range(5))
    assert all(
        row.status == OutboundEmail.Status.SENT and row.attempts == 5 for row in rows(emails)
    )
    assert AuditEvent.objects.filter(action="email.send_failed").count() == 5 * 4
    assert AuditEvent.objects.filter(action="email.sent").count() == 5


@pytest.mark.django_db
def test_an_email_the_server_never_takes_is_marked_failed_not_dropped(
    smtp_sink, probe_templates, settings, django_capture_on_commit_callbacks
):
    settings.SNS_OUTBOX_MAX_ATTEMPTS = 3
    with time_machine.travel(timezone.now(), tick=False) as clock:
        (email,) = queue_emails(1, django_capture_on_commit_callbacks)
        for _ in range(5):
            clock.shift(datetime.timedelta(hours=1))
            outbox_sweep.delay().get()
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED
    assert email.attempts == 3
    assert smtp_sink.refused == 3
    assert "451" in email.last_error
    assert AuditEvent.objects.filter(action="email.failed", object_id=str(email.pk)).count() == 1
