"""The admins' page of failed email: given up by the outbox, or reported undeliverable by
GOV.UK Notify; who it was to, which case, when and why. Admins only."""

import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.tests.factories import requester_and_director, submitted_case
from conftest import NOTIFY_CALLBACK_TOKEN_FOR_TESTS
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/oversight/failed-emails/"


@pytest.fixture
def admin(client):
    user = UserFactory(role=Role.ADMIN, email="admin@example.gov.uk")
    client.force_login(user)
    return user


def failed(to="nobody@example.gov.uk", **fields) -> OutboundEmail:
    return OutboundEmail.objects.create(
        to=to,
        subject=fields.pop("subject", "Your request was sent"),
        template="case_sent",
        status=fields.pop("status", OutboundEmail.Status.FAILED),
        last_error=fields.pop("last_error", "SMTPRecipientsRefused: 550 no such user"),
        **fields,
    )


def ids_on_page(response) -> list[int]:
    return [int(i) for i in re.findall(r'data-email="(\d+)"', response.content.decode())]


def test_the_address_and_who_may_see_it(client):
    assert reverse("oversight:failed-emails") == URL
    for role in (Role.AUDITOR, Role.STAFF, Role.DIRECTOR, Role.ICT):
        client.force_login(UserFactory(role=role))
        assert client.get(URL).status_code == 403


def test_an_email_given_up_shows_who_it_was_to_which_case_and_why(client, admin):
    requester, _ = requester_and_director(profile__name="Sam Staff")
    case = submitted_case(requester=requester)
    email = failed(to=requester.email, object_type="access_requests.businesscase")
    OutboundEmail.objects.filter(pk=email.pk).update(object_id=str(case.pk))
    failed(to="sent@example.gov.uk", status=OutboundEmail.Status.SENT, sent_at=timezone.now())

    response = client.get(URL)
    assert response.status_code == 200
    assert ids_on_page(response) == [email.pk]  # the sent one is not listed
    page = response.content.decode()
    assert "Sam Staff" in page and requester.email in page
    assert "Your request was sent" in page
    assert f'href="/oversight/cases/{case.pk}/">{case.reference}</a>' in page
    assert "SMTPRecipientsRefused: 550 no such user" in page
    assert "Not sent" in page


def test_a_bounce_notify_reported_is_listed_as_undeliverable(
    client, admin, notify, django_capture_on_commit_callbacks
):
    requester, director = requester_and_director()
    with django_capture_on_commit_callbacks(execute=True):
        case = submitted_case(requester=requester)
    [to_requester] = notify.to(requester.email)
    response = client.post(
        "/notify/callback/",
        data=json.dumps(notify.receipt(to_requester, "permanent-failure")),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {NOTIFY_CALLBACK_TOKEN_FOR_TESTS}",
    )
    assert response.status_code == 204

    response = client.get(URL)
    email = OutboundEmail.objects.get(provider_id=to_requester.id)
    assert ids_on_page(response) == [email.pk]
    page = response.content.decode()
    assert "Undeliverable" in page
    assert "the email address does not exist" in page
    assert case.reference in page


def test_the_page_makes_the_same_number_of_queries_on_any_page(
    client, admin, django_assert_max_num_queries
):
    case = submitted_case()
    approval = case.approval_requests.get()
    for n in range(3):
        failed(
            to=f"few{n}@example.gov.uk",
            object_type="approvals.approvalrequest",
            object_id=str(approval.pk),
        )
    with django_assert_max_num_queries(30) as captured:
        client.get(URL)
    few = len(captured)
    people = [UserFactory() for _ in range(5)]
    for n in range(160):
        failed(
            to=people[n % 5].email,
            object_type="approvals.approvalrequest",
            object_id=str(approval.pk),
        )
    with django_assert_max_num_queries(few):
        response = client.get(URL)
    assert len(ids_on_page(response)) == 50
    with django_assert_max_num_queries(few):
        deeper = client.get(response.context["next_url"])
    assert len(ids_on_page(deeper)) == 50
    assert max(ids_on_page(deeper)) < min(ids_on_page(response))


def test_no_failed_email(client, admin):
    response = client.get(URL)
    assert "No email has failed." in response.content.decode()
    assert client.get(URL + "?after=garbage").status_code == 404
