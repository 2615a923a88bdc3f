"""With NOTIFY_API_KEY set, every email of the demo journey goes through GOV.UK Notify's
client (to the loopback stand-in for Notify's API), and Notify's delivery receipts update
the rows; once through a real Celery worker on Redis."""

import json

import pytest
from django.core.management import call_command
from django.test import Client

from access_requests.models import AccessGrant, Site
from access_requests.services.grants import grant_provision
from access_requests.tests.factories import BusinessCaseFactory
from approvals.models import ApprovalRequest
from approvals.services import approval_decide, case_submit
from approvals.tests.factories import requester_and_director, submitted_case
from conftest import NOTIFY_CALLBACK_TOKEN_FOR_TESTS
from notifications.models import OutboundEmail
from people.models import Role, User
from people.tests.factories import UserFactory


def post_receipt(body: dict) -> int:
    return (
        Client()
        .post(
            "/notify/callback/",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {NOTIFY_CALLBACK_TOKEN_FOR_TESTS}",
        )
        .status_code
    )


@pytest.mark.django_db
def test_the_demo_journeys_emails_all_go_through_notify_and_receipts_update_them(
    notify, mailoutbox, django_capture_on_commit_callbacks
):
    call_command("load_demo_data", verbosity=0)
    staff = User.objects.get(email="sam.staff@example.gov.uk")
    ict = User.objects.get(email="ian.ict@example.gov.uk")
    site = Site.objects.filter(name="LinkedIn").first() or Site.objects.create(name="LinkedIn")
    OutboundEmail.objects.all().delete()  # the demo data's own: this journey's are counted
    sent_before = len(notify.sent)

    with django_capture_on_commit_callbacks(execute=True):
        case = case_submit(case=BusinessCaseFactory(requester=staff, sites=[site]), actor=staff)
    approval = ApprovalRequest.objects.get(business_case=case)
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(approval_request=approval, decision="approve", actor=approval.approver)
    grant = AccessGrant.objects.get(business_case=case)
    with django_capture_on_commit_callbacks(execute=True):
        grant_provision(grant=grant, actor=ict)

    emails = list(OutboundEmail.objects.order_by("id"))
    templates = {email.template for email in emails}
    # The submission (the director's request, the requester's acknowledgement), the
    # decision (the outcome, ICT's work) and the provisioning (access ready).
    assert {"approval_request", "case_sent", "decision_outcome", "decision_provisioning"} <= (
        templates
    )
    assert "grant_ready" in templates
    assert mailoutbox == []  # nothing by SMTP
    journey = notify.sent[sent_before:]
    assert len(journey) == len(emails)
    for email in emails:
        assert email.status == OutboundEmail.Status.SENT
        assert email.sent_via == OutboundEmail.Via.NOTIFY
        [copy] = [n for n in journey if n.id == email.provider_id]
        assert copy.email_address == email.to
        assert copy.personalisation["subject"] == email.subject
    # The director's decision link went out live; the row keeps it masked.
    [to_director] = [n for n in journey if n.email_address == approval.approver.email]
    assert "/approvals/decide/" in to_director.personalisation["body"]

    for notification in journey:
        assert post_receipt(notify.receipt(notification, "delivered")) == 204
    assert set(OutboundEmail.objects.values_list("delivery_status", flat=True)) == {"delivered"}


@pytest.fixture
def notify_for_the_worker(notify, monkeypatch):
    """The worker a test starts next reads Notify's settings from its environment."""
    monkeypatch.setenv("NOTIFY_API_KEY", notify.api_key)
    monkeypatch.setenv("NOTIFY_EMAIL_TEMPLATE_ID", notify.template_id)
    monkeypatch.setenv("NOTIFY_BASE_URL", notify.base_url)
    return notify


@pytest.mark.worker
def test_a_real_worker_sends_through_notify_and_a_bounce_escalates(
    notify_for_the_worker, celery_worker_process
):
    notify = notify_for_the_worker
    requester, director = requester_and_director()
    case = submitted_case(requester=requester)  # commits: the sends are queued on Redis

    assert celery_worker_process.wait_for(lambda: len(notify.to(director.email)) == 1), (
        celery_worker_process.log_path.read_text()
    )
    assert not (celery_worker_process.mail_folder.exists()) or not list(
        celery_worker_process.mail_folder.iterdir()
    )  # not the demo mail folder
    email = OutboundEmail.objects.get(template="approval_request")
    assert celery_worker_process.wait_for(
        lambda: (
            OutboundEmail.objects.get(pk=email.pk).provider_id == notify.to(director.email)[0].id
        )
    )

    # Notify reports the director's address does not exist: the admins are asked at once,
    # and the worker sends them the request through Notify.
    admin = UserFactory(role=Role.ADMIN)
    assert post_receipt(notify.receipt(notify.to(director.email)[0], "permanent-failure")) == 204
    assert OutboundEmail.objects.get(pk=email.pk).delivery_status == "permanent-failure"
    assert case.approval_requests.filter(
        approver=admin, routed_because=ApprovalRequest.Reason.ESCALATION
    ).exists()
    assert celery_worker_process.wait_for(lambda: len(notify.to(admin.email)) == 1), (
        celery_worker_process.log_path.read_text()
    )
