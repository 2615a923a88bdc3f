"""GOV.UK Notify's delivery receipts at /notify/callback/: only with the configured bearer
token; each status written on its email; an approver's decision email that can never be
delivered escalates the case at once."""

import json

import pytest
from django.urls import reverse

from access_requests.models import BusinessCase
from approvals.models import ApprovalRequest
from approvals.services import approval_decide
from approvals.tests.factories import requester_and_director, submitted_case
from audit.models import AuditEvent
from conftest import NOTIFY_CALLBACK_TOKEN_FOR_TESTS
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory

URL = "/notify/callback/"


def post(client, body, token=NOTIFY_CALLBACK_TOKEN_FOR_TESTS, **headers):
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(
        URL,
        data=json.dumps(body) if not isinstance(body, str) else body,
        content_type="application/json",
        REMOTE_ADDR="192.0.2.44",
        **headers,
    )


def test_the_address_is_the_documented_one():
    assert reverse("notify-callback") == URL


@pytest.fixture
def sent_case(notify, django_capture_on_commit_callbacks):
    """A case submitted with email through Notify: (case, director, the stand-in's copy of
    the director's email)."""
    requester, director = requester_and_director()
    with django_capture_on_commit_callbacks(execute=True):
        case = submitted_case(requester=requester)
    [to_director] = notify.to(director.email)
    return case, director, to_director


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status",
    ["delivered", "temporary-failure", "technical-failure", "permanent-failure"],
)
def test_each_receipt_is_written_on_its_email_and_in_the_trail(client, notify, sent_case, status):
    case, director, to_director = sent_case
    response = post(client, notify.receipt(to_director, status))
    assert response.status_code == 204
    email = OutboundEmail.objects.get(provider_id=to_director.id)
    assert email.to == director.email
    assert email.delivery_status == status
    assert email.delivery_updated_at is not None
    event = AuditEvent.objects.get(action="email.delivery_reported", object_id=str(email.pk))
    assert event.changes["delivery_status"] == ["", status]
    assert event.actor_label == "system:notify_delivery_receipt"
    assert event.client_address == "192.0.2.44"

    # Notify retrying the same receipt changes nothing more.
    assert post(client, notify.receipt(to_director, status)).status_code == 204
    assert AuditEvent.objects.filter(action="email.delivery_reported").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token", "headers"),
    [
        (None, {}),  # missing
        ("wrong-token", {}),
        (NOTIFY_CALLBACK_TOKEN_FOR_TESTS[:-1], {}),  # nearly right
        (None, {"HTTP_AUTHORIZATION": f"Basic {NOTIFY_CALLBACK_TOKEN_FOR_TESTS}"}),
    ],
)
def test_a_missing_or_wrong_token_is_refused_and_changes_nothing(
    client, notify, sent_case, token, headers
):
    _, _, to_director = sent_case
    response = post(client, notify.receipt(to_director, "permanent-failure"), token, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert not OutboundEmail.objects.exclude(delivery_status="").exists()
    assert not AuditEvent.objects.filter(action="email.delivery_reported").exists()
    assert not ApprovalRequest.objects.filter(
        routed_because=ApprovalRequest.Reason.ESCALATION
    ).exists()


@pytest.mark.django_db
def test_without_a_callback_token_configured_there_is_no_callback(client, settings):
    settings.NOTIFY_CALLBACK_TOKEN = ""
    assert post(client, {"status": "delivered"}, token="").status_code == 404


@pytest.mark.django_db
def test_only_post_and_only_receipts(client, notify, sent_case):
    _, _, to_director = sent_case
    assert client.get(URL).status_code == 405
    assert post(client, "not json").status_code == 400
    assert post(client, "[" * 100_000).status_code == 400
    assert post(client, {**notify.receipt(to_director, "lost"), "id": "x"}).status_code == 400
    assert post(client, ["a list"]).status_code == 400
    unknown = {**notify.receipt(to_director, "delivered"), "reference": "x", "id": "y"}
    assert post(client, unknown).status_code == 204  # not ours: nothing to do
    assert not OutboundEmail.objects.exclude(delivery_status="").exists()


@pytest.mark.django_db
def test_a_permanent_failure_to_the_director_escalates_at_once_to_the_fallback_approver(
    client, notify, sent_case, django_capture_on_commit_callbacks
):
    case, director, to_director = sent_case
    organisation = director.profile.business_unit.directorate.organisation
    fallback = UserFactory(profile__name="Fran Fallback")
    organisation.fallback_approver = fallback
    organisation.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, notify.receipt(to_director, "permanent-failure"))
    assert response.status_code == 204

    stalled = case.approval_requests.get(approver=director)
    assert stalled.status == ApprovalRequest.Status.OPEN  # the director may still sign in
    assert stalled.next_reminder_at is None  # reminders would not arrive either
    escalated = case.approval_requests.get(routed_because=ApprovalRequest.Reason.ESCALATION)
    assert escalated.approver == fallback
    [to_fallback] = notify.to(fallback.email)  # sent through Notify, with its link
    body = to_fallback.personalisation["body"]
    assert "but their email could not be delivered, so it now comes to you" in body
    assert "0 times" not in body
    assert "/approvals/decide/" in to_fallback.personalisation["body"]
    event = AuditEvent.objects.get(action="approval.email_undeliverable")
    assert event.object_id == str(case.pk)
    assert event.changes["approver"] == director.email
    assert event.changes["escalated"] is True
    escalation = AuditEvent.objects.get(action="approval.escalated")
    assert escalation.changes["escalated_from"] == director.email
    assert escalation.changes["escalated_because"] == "email undeliverable"

    # The fallback approver decides the case from the link.
    approval_decide(
        approval_request=escalated, decision="approve", reason="", actor=fallback, client=None
    )
    assert BusinessCase.objects.get(pk=case.pk).status == BusinessCase.Status.APPROVED


@pytest.mark.django_db
def test_without_a_fallback_approver_the_admins_are_asked(client, notify, sent_case):
    case, _, to_director = sent_case
    admin = UserFactory(role=Role.ADMIN)
    assert post(client, notify.receipt(to_director, "permanent-failure")).status_code == 204
    escalated = case.approval_requests.get(routed_because=ApprovalRequest.Reason.ESCALATION)
    assert escalated.approver == admin


@pytest.mark.django_db
def test_a_temporary_failure_or_a_requester_bounce_does_not_escalate(
    client, notify, sent_case, django_capture_on_commit_callbacks
):
    case, _, to_director = sent_case
    UserFactory(role=Role.ADMIN)
    assert post(client, notify.receipt(to_director, "temporary-failure")).status_code == 204
    [to_requester] = notify.to(case.requester.email)  # "your case was sent"
    assert post(client, notify.receipt(to_requester, "permanent-failure")).status_code == 204
    assert OutboundEmail.objects.get(provider_id=to_requester.id).delivery_status == (
        "permanent-failure"
    )
    assert not case.approval_requests.filter(
        routed_because=ApprovalRequest.Reason.ESCALATION
    ).exists()


@pytest.mark.django_db
def test_a_bounce_after_the_case_was_decided_changes_nothing_more(
    client, notify, sent_case, django_capture_on_commit_callbacks
):
    case, director, to_director = sent_case
    UserFactory(role=Role.ADMIN)
    approval = case.approval_requests.get()
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(
            approval_request=approval, decision="approve", reason="", actor=director, client=None
        )
    assert post(client, notify.receipt(to_director, "permanent-failure")).status_code == 204
    assert not case.approval_requests.filter(
        routed_because=ApprovalRequest.Reason.ESCALATION
    ).exists()
    assert not AuditEvent.objects.filter(action="approval.email_undeliverable").exists()
