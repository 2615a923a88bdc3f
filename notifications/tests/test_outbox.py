"""The outbox: written in the caller's transaction, sent after commit, retried, never twice."""

import datetime
from pathlib import Path

import pytest
import time_machine
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from notifications.models import OutboundEmail
from notifications.services import (
    Outgoing,
    email_queue,
    email_queue_many,
    outbound_email_send,
    outbox_sweep,
)

TEST_TEMPLATES = Path(__file__).parent / "templates"


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server unavailable")


@pytest.fixture(autouse=True)
def _templates_include_the_test_message(settings):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], TEST_TEMPLATES]}
    ]


def queue(**overrides):
    return email_queue(
        to=overrides.pop("to", "sam@example.gov.uk"),
        template="test_message",
        context={"name": "Sam", "subject_word": "access"},
        **overrides,
    )


@pytest.mark.django_db(transaction=True)
def test_a_queued_email_is_sent_after_commit_with_text_and_html(mailoutbox):
    with transaction.atomic():
        email = queue()
        assert mailoutbox == []  # nothing leaves before the transaction commits
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["sam@example.gov.uk"]
    assert message.subject == "Test email about access"
    assert "Hello Sam." in message.body
    assert "http://testserver/guidance/" in message.body
    assert message.alternatives[0].mimetype == "text/html"
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert email.sent_at is not None
    assert AuditEvent.objects.filter(action="email.sent", object_id=str(email.pk)).exists()


@pytest.mark.django_db(transaction=True)
def test_an_email_rolled_back_with_its_cause_is_never_sent(mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue()
        raise RuntimeError("the change that caused the email failed")
    assert mailoutbox == []
    assert not OutboundEmail.objects.exists()


@pytest.mark.django_db
def test_the_same_dedupe_key_queues_one_email(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = queue(dedupe_key="expiry-notice:1:30")
        second = queue(dedupe_key="expiry-notice:1:30")
    assert first is not None and second is None
    assert OutboundEmail.objects.count() == 1
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_with_sending_on_commit_off_a_committed_email_waits_for_the_sweep(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.SNS_SEND_EMAIL_ON_COMMIT = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        email = queue()
    assert callbacks == []
    assert mailoutbox == []
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.PENDING
    assert outbox_sweep() == 1
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_sending_twice_delivers_once(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = queue()
    assert outbound_email_send(email_id=email.pk) is None
    outbox_sweep()
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_failing_mail_server_is_retried_with_backoff_then_marked_failed(settings, mailoutbox):
    settings.EMAIL_BACKEND = "notifications.tests.test_outbox.RefusingBackend"
    settings.SNS_OUTBOX_MAX_ATTEMPTS = 3
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = queue()  # inside the test transaction: not sent yet
        outbound_email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.PENDING
    assert email.attempts == 1
    assert "mail server unavailable" in email.last_error
    assert email.next_attempt_at == start + datetime.timedelta(minutes=1)
    # Not due yet: the sweep leaves it alone.
    with time_machine.travel(start + datetime.timedelta(seconds=30), tick=False):
        assert outbox_sweep() == 0
    email.refresh_from_db()
    assert email.attempts == 1
    with time_machine.travel(start + datetime.timedelta(minutes=1, seconds=1), tick=False):
        outbox_sweep()
    email.refresh_from_db()
    assert email.attempts == 2
    assert email.next_attempt_at == start + datetime.timedelta(minutes=3, seconds=1)
    with time_machine.travel(start + datetime.timedelta(minutes=10), tick=False):
        outbox_sweep()
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED
    assert email.attempts == 3
    assert AuditEvent.objects.filter(action="email.failed", object_id=str(email.pk)).exists()
    assert mailoutbox == []


@pytest.mark.django_db
def test_once_the_mail_server_is_back_the_sweep_sends_what_waited(settings, mailoutbox):
    settings.EMAIL_BACKEND = "notifications.tests.test_outbox.RefusingBackend"
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        emails = [queue(to=f"person{i}@example.gov.uk") for i in range(3)]
        outbox_sweep()
    assert mailoutbox == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(start + datetime.timedelta(minutes=2), tick=False):
        assert outbox_sweep() == 3
        assert outbox_sweep() == 0
    assert sorted(m.to[0] for m in mailoutbox) == sorted(e.to for e in emails)


@pytest.mark.django_db
def test_an_email_claimed_by_another_sender_is_left_alone_until_the_claim_runs_out(mailoutbox):
    email = queue()
    OutboundEmail.objects.filter(pk=email.pk).update(
        claimed_until=timezone.now() + datetime.timedelta(minutes=2)
    )
    assert outbox_sweep() == 0
    assert mailoutbox == []
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=3)):
        assert outbox_sweep() == 1
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_a_waiting_email_holds_its_context_and_the_sent_one_what_went_out(
    mailoutbox, django_capture_on_commit_callbacks
):
    email = queue()
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.PENDING
    assert email.context == {"name": "Sam", "subject_word": "access"}
    assert email.subject == "" and email.body_text == ""  # not rendered when written
    assert email.content().subject == "Test email about access"

    outbound_email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert email.context is None
    assert email.subject == mailoutbox[0].subject == "Test email about access"
    assert email.body_text == mailoutbox[0].body
    assert "Hello Sam." in email.body_html
    sent = AuditEvent.objects.get(action="email.sent", object_id=str(email.pk))
    assert sent.changes["subject"] == "Test email about access"


@pytest.mark.django_db
def test_a_context_json_cannot_hold_is_refused_when_the_email_is_written():
    with pytest.raises(TypeError):
        email_queue(
            to="sam@example.gov.uk",
            template="test_message",
            context={"name": "Sam", "when": datetime.date(2026, 7, 21)},
        )


@pytest.mark.django_db
def test_an_email_whose_template_cannot_render_is_kept_and_retried_not_lost(mailoutbox):
    email = email_queue(to="sam@example.gov.uk", template="no_such_email", context={})
    outbound_email_send(email_id=email.pk)
    email.refresh_from_db()
    assert mailoutbox == []
    assert email.status == OutboundEmail.Status.PENDING
    assert email.attempts == 1
    assert "TemplateDoesNotExist" in email.last_error
    assert AuditEvent.objects.filter(action="email.send_failed", object_id=str(email.pk)).exists()


def test_every_email_template_compiles():
    """Each email is rendered when it is sent: a template that does not compile is caught
    here, whether or not a test sends that email."""
    from django.template.loader import get_template

    folder = Path(__file__).parents[1] / "templates" / "notifications" / "email"
    names = sorted(path.name for path in folder.iterdir())
    assert len(names) >= 40
    for name in names:
        get_template(f"notifications/email/{name}")


@pytest.mark.django_db
def test_emails_sharing_a_context_each_store_it_with_their_own_extra_values():
    shared = {"name": "Sam", "subject_word": "access", "why": "ended"}
    ids = email_queue_many(
        [
            Outgoing(template="test_message", context=shared, to=[("holder@example.gov.uk", None)]),
            Outgoing(
                template="test_message",
                context=shared,
                extra={"recipient_name": "Dana", "why": "expired"},
                to=[("dana@example.gov.uk", None), ("ict@example.gov.uk", None)],
            ),
        ]
    )
    contexts = {email.to: email.context for email in OutboundEmail.objects.filter(pk__in=ids)}
    assert contexts["holder@example.gov.uk"] == shared
    merged = {**shared, "recipient_name": "Dana", "why": "expired"}  # the extra value wins
    assert contexts["dana@example.gov.uk"] == contexts["ict@example.gov.uk"] == merged
    assert shared == {"name": "Sam", "subject_word": "access", "why": "ended"}  # untouched


def _statements_of(write) -> list[tuple[str, int]]:
    """Each statement `write` runs, as its SQL before any value is put in, and how many
    parameters it takes."""
    seen = []

    def capture(execute, sql, params, many, context):
        seen.append((sql, len(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        write()
    return seen


@pytest.mark.django_db
def test_a_batch_of_emails_is_one_insert_whose_statement_does_not_grow_with_the_batch():
    def emails(count):
        return [
            Outgoing(
                template="test_message",
                context={"name": f"Person {n}", "subject_word": "access"},
                to=[(f"person{n}@example.gov.uk", f"test-{count}-{n}")],
            )
            for n in range(count)
        ]

    few = _statements_of(lambda: email_queue_many(emails(2)))
    many = _statements_of(lambda: email_queue_many(emails(40)))
    assert len(few) == len(many) == 1
    assert few == many  # one array per column, not a row of parameters per email
    assert OutboundEmail.objects.count() == 42
