"""With Redis down, people can still work: emails wait in the outbox and go out later."""

import logging

import pytest
from django.urls import reverse

from access_requests.models import BusinessCase
from access_requests.tests.factories import BusinessCaseFactory
from notifications.models import OutboundEmail
from notifications.services import email_queue
from notifications.tasks import outbox_sweep
from people.tests.factories import UserFactory, director_of


@pytest.mark.django_db
def test_an_email_queued_while_redis_is_down_waits_and_the_sweep_sends_it_once_it_is_back(
    broker, probe_templates, mailoutbox, django_capture_on_commit_callbacks, caplog, client
):
    person = UserFactory()
    broker.stop()
    caplog.set_level(logging.WARNING, logger="notifications.services")
    with django_capture_on_commit_callbacks(execute=True):
        email = email_queue(to=person.email, template="scanner_probe", context={"name": "Sam"})
    # The caller did not fail; the email waits, and the log says why.
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.PENDING
    assert email.attempts == 0
    assert mailoutbox == []
    assert "Broker unavailable" in caplog.text
    # The portal says the broker is down, and keeps serving pages.
    assert client.get(reverse("healthz")).status_code == 503
    client.force_login(person)
    assert client.get(reverse("home")).status_code == 200

    broker.start()
    assert outbox_sweep.delay().get() == 1
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert [m.to for m in mailoutbox] == [[person.email]]
    assert outbox_sweep.delay().get() == 0  # and only once


@pytest.mark.django_db
def test_with_redis_down_a_case_is_submitted_and_decided_and_its_emails_go_out_later(
    broker, mailoutbox, django_capture_on_commit_callbacks
):
    from approvals import services as approvals

    staff = UserFactory()
    director_of(staff.profile.business_unit.directorate)
    case = BusinessCaseFactory(requester=staff)
    broker.stop()
    with django_capture_on_commit_callbacks(execute=True):
        submitted = approvals.case_submit(case=case, actor=staff)
    assert submitted.status == BusinessCase.Status.SUBMITTED
    assert submitted.reference
    decide = getattr(approvals, "approval_decide", None)  # the decision arrives with approvals
    if decide is not None:
        approval = submitted.approval_requests.get()
        with django_capture_on_commit_callbacks(execute=True):
            decide(approval_request=approval, decision="approve", actor=approval.approver)
        submitted.refresh_from_db()
        assert submitted.status == BusinessCase.Status.APPROVED
    waiting = list(OutboundEmail.objects.values_list("to", "template", "status"))
    assert all(status == OutboundEmail.Status.PENDING for _, _, status in waiting)
    assert mailoutbox == []

    broker.start()
    # The director decided before their request email could go out: its link no longer
    # works, so it is set aside; everything else goes out.
    needed = [to for to, template, _ in waiting if template != "approval_request"]
    assert len(needed) == len(waiting) - 1
    assert outbox_sweep.delay().get() == len(needed)
    assert sorted(m.to[0] for m in mailoutbox) == sorted(needed)
    assert list(
        OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT).values_list(
            "template", "status"
        )
    ) == [("approval_request", OutboundEmail.Status.NOT_NEEDED)]
