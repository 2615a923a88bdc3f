"""Email through GOV.UK Notify: the official client, to a stand-in for Notify's API that
checks the client's token as Notify does. The outbox's retries and dedupe are the same."""

import datetime
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from notifications.models import OutboundEmail
from notifications.services import email_queue, outbound_email_send, outbox_sweep
from tests.notify_stand_in import api_key_for

TEST_TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture(autouse=True)
def _templates_include_the_test_message(settings):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], TEST_TEMPLATES]}
    ]


def queue(capture, **overrides):
    with capture(execute=True):
        return email_queue(
            to=overrides.pop("to", "sam@example.gov.uk"),
            template="test_message",
            context={"name": "Sam", "subject_word": "access"},
            **overrides,
        )


def row(email) -> OutboundEmail:
    return OutboundEmail.objects.get(pk=email.pk)


@pytest.mark.django_db
def test_an_email_goes_through_notify_with_its_subject_and_text_body(
    notify, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.NOTIFY_REPLY_TO_ID = "0b5c1a6e-8f0e-4f5e-9b9a-2d7c1f0e3a11"
    email = queue(django_capture_on_commit_callbacks)

    assert mailoutbox == []  # not through SMTP
    [sent] = notify.sent
    assert sent.email_address == "sam@example.gov.uk"
    assert sent.template_id == notify.template_id
    assert sent.personalisation["subject"] == "Test email about access"
    assert "Hello Sam." in sent.personalisation["body"]
    assert "<" not in sent.personalisation["body"]  # the text body, not the HTML
    assert sent.email_reply_to_id == "0b5c1a6e-8f0e-4f5e-9b9a-2d7c1f0e3a11"
    stored = row(email)
    assert sent.reference.startswith(f"sns-outbox-{email.pk}-")
    assert stored.status == OutboundEmail.Status.SENT
    assert stored.sent_via == OutboundEmail.Via.NOTIFY
    assert stored.provider_id == sent.id
    event = AuditEvent.objects.get(action="email.sent", object_id=str(email.pk))
    assert event.changes["via"] == "notify"
    assert event.changes["provider_id"] == sent.id


@pytest.mark.django_db
def test_without_a_notify_key_email_goes_by_smtp_as_before(
    mailoutbox, django_capture_on_commit_callbacks, settings
):
    assert settings.NOTIFY_API_KEY == ""
    email = queue(django_capture_on_commit_callbacks)
    assert [m.subject for m in mailoutbox] == ["Test email about access"]
    stored = row(email)
    assert stored.sent_via == OutboundEmail.Via.SMTP
    assert stored.provider_id == ""
    assert stored.delivery_status == ""


@pytest.mark.django_db
def test_a_wrong_key_is_refused_by_notify_and_the_email_retried_then_failed(
    notify, django_capture_on_commit_callbacks, settings
):
    # The right service, the wrong secret: Notify cannot verify the signature.
    settings.NOTIFY_API_KEY = api_key_for(notify.service_id, "6f1d2c3b-0000-4a5b-8c9d-0e1f2a3b4c5d")
    settings.SNS_OUTBOX_MAX_ATTEMPTS = 2
    email = queue(django_capture_on_commit_callbacks)

    assert notify.sent == []
    assert notify.refused == [(403, "Invalid token: API key not found")]
    stored = row(email)
    assert stored.status == OutboundEmail.Status.PENDING
    assert stored.attempts == 1
    assert "403 AuthError: Invalid token: API key not found" in stored.last_error
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):
        outbox_sweep()
    assert row(email).status == OutboundEmail.Status.FAILED
    assert AuditEvent.objects.filter(action="email.failed", object_id=str(email.pk)).exists()


@pytest.mark.django_db
def test_a_key_of_another_service_is_refused(notify, django_capture_on_commit_callbacks, settings):
    settings.NOTIFY_API_KEY = api_key_for("11111111-2222-4333-8444-555555555555", notify.secret)
    email = queue(django_capture_on_commit_callbacks)
    assert notify.sent == []
    assert notify.refused[0][0] == 403
    assert row(email).status == OutboundEmail.Status.PENDING


@pytest.mark.django_db
def test_a_token_issued_more_than_30_seconds_ago_is_refused(
    notify, django_capture_on_commit_callbacks
):
    # The portal's clock runs a minute slow: the client's `iat` is out of Notify's bounds.
    notify.clock_offset = 60
    email = queue(django_capture_on_commit_callbacks)
    assert notify.sent == []
    assert notify.refused == [
        (403, "Error: Your system clock must be accurate to within 30 seconds")
    ]
    assert row(email).status == OutboundEmail.Status.PENDING


@pytest.mark.django_db
def test_a_bad_request_fails_the_email_at_once(notify, django_capture_on_commit_callbacks):
    email = queue(django_capture_on_commit_callbacks, to="not-an-address@nowhere")
    stored = row(email)
    assert stored.status == OutboundEmail.Status.FAILED  # sending it again changes nothing
    assert stored.attempts == 1
    assert "400 ValidationError: email_address Not a valid" in stored.last_error
    assert stored.context is None and stored.secret is None
    assert stored.subject == "Test email about access"  # what it would have said


@pytest.mark.django_db
def test_notify_saying_429_backs_off_as_smtp_does_then_sends_once(
    notify, django_capture_on_commit_callbacks
):
    notify.answer_next("rate", times=2)
    email = queue(django_capture_on_commit_callbacks)
    stored = row(email)
    assert stored.status == OutboundEmail.Status.PENDING
    assert "429 RateLimitError: Exceeded rate limit" in stored.last_error
    first_wait = stored.next_attempt_at - stored.updated_at
    assert datetime.timedelta(seconds=59) < first_wait <= datetime.timedelta(minutes=1)

    assert outbox_sweep() == 0  # not due yet
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1, seconds=1)):
        assert outbox_sweep() == 0  # refused again: waits 2 minutes now
        stored = row(email)
        assert stored.attempts == 2
        assert stored.next_attempt_at - stored.updated_at > datetime.timedelta(minutes=1)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=4)):
        assert outbox_sweep() == 1
        assert outbox_sweep() == 0
    assert len(notify.sent) == 1
    assert row(email).status == OutboundEmail.Status.SENT


@pytest.mark.django_db
@pytest.mark.parametrize("answer", ["server", "not_json"])
def test_notify_down_or_not_answering_json_is_retried(
    notify, django_capture_on_commit_callbacks, answer
):
    notify.answer_next(answer)
    email = queue(django_capture_on_commit_callbacks)
    stored = row(email)
    assert stored.status == OutboundEmail.Status.PENDING
    assert stored.attempts == 1
    assert stored.claimed_until is None
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):
        assert outbox_sweep() == 1
    assert len(notify.sent) == 1


@pytest.mark.django_db
def test_dedupe_keys_and_a_second_send_hold_through_notify(
    notify, django_capture_on_commit_callbacks
):
    first = queue(django_capture_on_commit_callbacks, dedupe_key="expiry-notice:1:30")
    second = queue(django_capture_on_commit_callbacks, dedupe_key="expiry-notice:1:30")
    assert first is not None and second is None
    assert outbound_email_send(email_id=first.pk) is None  # sent already: skipped
    assert outbox_sweep() == 0
    assert len(notify.sent) == 1


@pytest.mark.django_db
def test_over_the_per_minute_limit_emails_wait_for_the_next_minute_without_using_attempts(
    notify, django_capture_on_commit_callbacks, settings
):
    settings.NOTIFY_MESSAGES_PER_MINUTE = 2
    now = timezone.now().replace(second=10, microsecond=0)
    with time_machine.travel(now, tick=False):
        emails = [
            queue(django_capture_on_commit_callbacks, to=f"person{n}@example.gov.uk")
            for n in range(3)
        ]
        assert len(notify.sent) == 2
        waiting = row(emails[2])
        assert waiting.status == OutboundEmail.Status.PENDING
        assert waiting.attempts == 0  # deferred, not failed
        assert waiting.last_error == ""
        assert waiting.next_attempt_at == now.replace(second=0) + datetime.timedelta(minutes=1)
        assert outbox_sweep() == 0
    with time_machine.travel(now + datetime.timedelta(minutes=1), tick=False):
        assert outbox_sweep() == 1
    assert len(notify.sent) == 3
