"""Every service that changes state writes its audit event (and keeps the chain whole).

One entry per service: a function that runs it and returns what the trail must now hold
(the action, the object it is about, who did it). Add an entry with each new service.
"""

import datetime
from dataclasses import dataclass
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from access_requests.models import BusinessCase
from access_requests.services import business_cases as case_services, grants as grant_services
from access_requests.tests.factories import BusinessCaseFactory, requester_with_director
from approvals import services as approval_services
from audit.client import Client
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from notifications.models import OutboundEmail
from notifications.services import outbound_email_send
from people.services import staff_import, staff_rows_read
from people.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CLIENT = Client(address="203.0.113.9", user_agent="Service test")


@dataclass(frozen=True)
class Expected:
    action: str
    obj: object | None  # the model the event is about (None: no object)
    actor_label: str
    client_address: str | None = None


def run_business_case_submit(client):
    case = BusinessCaseFactory()
    case_services.business_case_submit(case=case, actor=case.requester, client=CLIENT)
    return Expected("case.submitted", case, case.requester.email, CLIENT.address)


def run_case_submit(client):
    case = BusinessCaseFactory(requester=requester_with_director())
    approval_services.case_submit(case=case, actor=case.requester, client=CLIENT)
    return Expected("case.submitted", case, case.requester.email, CLIENT.address)


def run_grant_create_from_case(client):
    case = BusinessCaseFactory(
        submitted=True, status=BusinessCase.Status.APPROVED, decided_at=timezone.now()
    )
    director = UserFactory(role="director")
    grant = grant_services.grant_create_from_case(
        case=case, approved_by=director, approved_at=timezone.now()
    )
    return Expected("grant.created", grant, director.email)


def _email() -> OutboundEmail:
    return OutboundEmail.objects.create(
        to="someone@example.gov.uk",
        subject="Subject",
        body_text="Body",
        template="test",
        next_attempt_at=timezone.now(),
    )


def run_outbound_email_send(client):
    email = _email()
    outbound_email_send(email_id=email.pk)
    return Expected("email.sent", email, "system:outbox")


def run_outbound_email_send_failing(client):
    from unittest import mock

    email = _email()
    with mock.patch(
        "notifications.services.EmailMultiAlternatives.send", side_effect=OSError("down")
    ):
        outbound_email_send(email_id=email.pk)
    return Expected("email.send_failed", email, "system:outbox")


def run_staff_import(client):
    admin = UserFactory(role="admin")
    lines = StringIO(
        "email,name,job_title,organisation,directorate,business_unit,cost_centre,role\n"
        "new.person@example.gov.uk,New Person,Adviser,HQ,Borders,Visas,CC99001,staff\n"
    )
    staff_import(rows=staff_rows_read(lines), actor=admin)
    return Expected("people.staff_imported", None, admin.email)


def run_sign_in(client):
    user = UserFactory()
    client.post(
        reverse("sign-in"),
        {"username": user.email, "password": TEST_PASSWORD},
        REMOTE_ADDR=CLIENT.address,
    )
    return Expected("auth.signed_in", user, user.email, CLIENT.address)


def run_failed_sign_in(client):
    request = RequestFactory().post("/sign-in/", REMOTE_ADDR=CLIENT.address)
    assert authenticate(request, username="nobody@example.gov.uk", password="wrong") is None
    return Expected("auth.sign_in_failed", None, "anonymous", CLIENT.address)


def run_sign_out(client):
    user = UserFactory()
    client.force_login(user)
    client.post(reverse("sign-out"), REMOTE_ADDR=CLIENT.address)
    return Expected("auth.signed_out", user, user.email, CLIENT.address)


SERVICES = {
    "business_case_submit": run_business_case_submit,
    "case_submit": run_case_submit,
    "grant_create_from_case": run_grant_create_from_case,
    "outbound_email_send": run_outbound_email_send,
    "outbound_email_send (failure)": run_outbound_email_send_failing,
    "staff_import": run_staff_import,
    "sign in": run_sign_in,
    "failed sign in": run_failed_sign_in,
    "sign out": run_sign_out,
    # Admin edits: audit/tests/test_admin_edits.py.
}


@pytest.mark.parametrize("name", list(SERVICES))
def test_the_service_writes_its_audit_event(client, name):
    last_before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    started = timezone.now() - datetime.timedelta(seconds=1)
    expected = SERVICES[name](client)

    new = AuditEvent.objects.filter(id__gt=last_before, action=expected.action)
    assert new.exists(), f"{name} wrote no {expected.action} event"
    event = new.order_by("-id").first()
    assert event.actor_label == expected.actor_label
    assert event.occurred_at >= started
    if expected.obj is not None:
        assert event.object_type == expected.obj._meta.label_lower
        assert event.object_id == str(expected.obj.pk)
    if expected.client_address:
        assert event.client_address == expected.client_address
    assert audit_chain_verify()[1] is None
