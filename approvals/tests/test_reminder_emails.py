"""A reminder's outbox row stores only the reminder's own values (which request, which
reminder, its link's expiry, the link sealed) and is completed from the request and its case
when it is sent (`approvals.emails.reminder_context_complete`)."""

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from approvals import emails
from approvals.services import approval_decide, approval_remind_due, case_withdraw
from approvals.tests.factories import LINK_PATTERN, at, requester_and_director, submitted_case
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from notifications.services import email_queue, outbound_email_send
from people.models import Role
from people.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _rules(reminder_rules):
    """The reminder rules these tests count with (no bank holidays, links for 14 days)."""


def _reminders(approval) -> list[OutboundEmail]:
    return list(
        OutboundEmail.objects.filter(
            template="approval_reminder", object_id=str(approval.pk)
        ).order_by("id")
    )


@pytest.mark.django_db
def test_a_reminder_sent_after_the_next_one_and_a_change_to_the_case_keeps_its_own_link(
    mailoutbox, django_capture_on_commit_callbacks
):
    """The first reminder is still waiting when the requester's job title changes and the
    second reminder renews the link: sent then, it shows the case as it is, its own number,
    its own link and that link's expiry; sending it again sends nothing."""
    with time_machine.travel(at("2026-12-04", 10), tick=False) as traveller:
        requester, director = requester_and_director(
            profile__name="Sam Staff", profile__job_title="Press Officer"
        )
        case = submitted_case(requester=requester)
        approval = case.approval_requests.get()
        traveller.move_to(at("2026-12-09", 10, 5))
        with django_capture_on_commit_callbacks(execute=False):
            assert approval_remind_due() == 1
        [first] = _reminders(approval)
        # Only the reminder's own values are stored: the case is read when it is sent.
        assert first.context == {
            "approval_request": approval.pk,
            "number": 1,
            "token_expires_at": "23 December 2026",
        }
        first_link = LINK_PATTERN.search(first.content(live=True).body_text).group(1)

        requester.profile.job_title = "Head of Press"
        requester.profile.save()
        traveller.move_to(at("2026-12-14", 10, 5))
        with django_capture_on_commit_callbacks(execute=False):
            assert approval_remind_due() == 1
        assert len(_reminders(approval)) == 2

        assert outbound_email_send(email_id=first.pk).status == OutboundEmail.Status.SENT
        assert outbound_email_send(email_id=first.pk) is None  # sent once only

    [message] = mailoutbox
    assert message.to == [director.email]
    assert message.subject == (
        f"Reminder: Sam Staff is waiting for your decision ({case.reference})"
    )
    assert "This is reminder 1." in message.body
    assert first_link in message.body
    assert "It works until 23 December 2026." in message.body
    assert "Requester: Sam Staff, Head of Press" in message.body
    assert f"Reference: {case.reference}" in message.body
    assert case.purpose in message.body
    first.refresh_from_db()
    assert first.context is None and first.secret is None
    assert first.body_text.replace(first_link, "") == first.body_text  # stored masked
    assert "This is reminder 1." in first.body_text
    assert "Head of Press" in first.body_text
    second = _reminders(approval)[1].content().body_text
    assert "This is reminder 2." in second
    assert "It works until 28 December 2026." in second


@pytest.mark.django_db
def test_a_reminder_whose_request_is_gone_is_not_sent_and_is_retried():
    """A reminder cannot be completed without its request: nothing half-written goes out,
    and the failure is kept on the row to be retried, as for a template that cannot render."""
    email = email_queue(
        to="dana@example.gov.uk",
        template="approval_reminder",
        context=emails.reminder_stored_context(
            approval_id=2**40, number=1, token_expires_text="23 December 2026"
        ),
        secrets={"link": "http://testserver/approvals/decide/abc/"},
    )
    outbound_email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.PENDING
    assert email.attempts == 1
    assert f"Approval request {2**40} no longer exists" in email.last_error


@pytest.mark.django_db
def test_a_reminder_stored_with_its_whole_context_is_sent_as_it_was_written():
    """A reminder written with the whole case in its context (as reminders were written
    before they stored only their own values, and may still be waiting when the new code
    starts) is rendered from that context as it is."""
    with time_machine.travel(at("2026-12-04", 10), tick=False):
        requester, director = requester_and_director(profile__name="Sam Staff")
        case = submitted_case(requester=requester)
        approval = case.approval_requests.get()
        whole = emails.approval_email_context(
            approval=emails.approval_rows([approval.pk])[approval.pk],
            case=emails.case_rows([case.pk])[case.pk],
            identities=emails.identity_rows([case.pk]).get(case.pk, []),
            cases_to_decide_url="http://testserver/approvals/",
            token_expires_text="23 December 2026",
            number=2,
        )
        email = email_queue(
            to=director.email,
            template="approval_reminder",
            context=whole,
            secrets={"link": "http://testserver/approvals/decide/abc/"},
        )
    text = email.content().body_text
    assert "This is reminder 2." in text
    assert f"Reference: {case.reference}" in text
    assert "It works until 23 December 2026." in text


@pytest.mark.django_db
def test_a_reminder_still_waiting_when_the_request_is_decided_is_not_sent(
    mailoutbox, django_capture_on_commit_callbacks
):
    """The director decides while their reminder waits in the outbox (the mail server down,
    Notify's rate limit): its link no longer works, so it is kept unsent, with the reason,
    and the trail says so."""
    with time_machine.travel(at("2026-12-04", 10), tick=False) as traveller:
        requester, director = requester_and_director()
        case = submitted_case(requester=requester)
        approval = case.approval_requests.get()
        traveller.move_to(at("2026-12-09", 10, 5))
        with django_capture_on_commit_callbacks(execute=False):
            assert approval_remind_due() == 1
            approval_decide(approval_request=approval, decision="approve", actor=director)
        [reminder] = _reminders(approval)

        assert outbound_email_send(email_id=reminder.pk).status == OutboundEmail.Status.NOT_NEEDED
        assert outbound_email_send(email_id=reminder.pk) is None  # settled: not tried again

    assert mailoutbox == []
    reminder.refresh_from_db()
    assert reminder.last_error == "The request was no longer waiting for a decision (decided)"
    assert reminder.context is None and reminder.secret is None
    assert reminder.next_attempt_at is None
    event = AuditEvent.objects.get(action="email.not_needed")
    assert event.object_id == str(reminder.pk)
    assert event.changes["status"] == ["pending", "not_needed"]

    # An admin reading the outbox sees the reason as the reason, not as an error.
    admin = UserFactory(role=Role.ADMIN, is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(admin)
    page = client.get(reverse("admin:notifications_outboundemail_change", args=[reminder.pk]))
    html = page.content.decode()
    assert "Why it failed or was not sent:</label>" in html
    assert "The request was no longer waiting for a decision (decided)" in html
    assert "Last error" not in html


@pytest.mark.django_db
def test_a_request_email_still_waiting_when_the_case_is_withdrawn_is_not_sent(
    mailoutbox, django_capture_on_commit_callbacks
):
    """The requester withdraws their case before the director's email has gone out: the
    email would ask for a decision its link can no longer take, so it is not sent."""
    requester, director = requester_and_director()
    with django_capture_on_commit_callbacks(execute=False):
        case = submitted_case(requester=requester)
        case_withdraw(case=case, actor=requester)
    approval = case.approval_requests.get()
    request_email = OutboundEmail.objects.get(
        template="approval_request", object_id=str(approval.pk)
    )

    assert outbound_email_send(email_id=request_email.pk).status == (
        OutboundEmail.Status.NOT_NEEDED
    )
    assert mailoutbox == []
    request_email.refresh_from_db()
    assert request_email.last_error == (
        "The request was no longer waiting for a decision (superseded)"
    )
    # Nor is the director told that a link they never had no longer works.
    closed = OutboundEmail.objects.get(template="approval_closed", object_id=str(approval.pk))
    assert outbound_email_send(email_id=closed.pk).status == OutboundEmail.Status.NOT_NEEDED
    closed.refresh_from_db()
    assert closed.last_error == "The approver was never sent a link to decide with"
    assert mailoutbox == []


@pytest.mark.django_db
def test_an_approver_who_had_the_link_is_told_the_withdrawn_case_needs_no_decision(
    mailoutbox, django_capture_on_commit_callbacks
):
    requester, director = requester_and_director()
    with django_capture_on_commit_callbacks(execute=True):
        case = submitted_case(requester=requester)  # the request email goes out on commit
    approval = case.approval_requests.get()
    request_email = OutboundEmail.objects.get(
        template="approval_request", object_id=str(approval.pk)
    )
    assert request_email.status == OutboundEmail.Status.SENT
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        case_withdraw(case=case, actor=requester)

    closed = OutboundEmail.objects.get(template="approval_closed", object_id=str(approval.pk))
    assert closed.status == OutboundEmail.Status.SENT
    assert [m.to for m in mailoutbox] == [[director.email]]
