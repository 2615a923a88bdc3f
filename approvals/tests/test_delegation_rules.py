"""Who may name a deputy, who may be named, and for how long: the form shows each rule as a
GOV.UK error, and the service refuses it too."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.errors import DelegationInvalid
from approvals.models import Delegation
from approvals.services import delegation_create
from approvals.tests.factories import requester_and_director, submitted_case
from people.models import Role
from people.tests.factories import DirectorateFactory, UserFactory, director_of

pytestmark = pytest.mark.django_db


def form_data(deputy_email, starts_on=None, ends_on=None):
    starts_on = starts_on or timezone.localdate()
    ends_on = ends_on or starts_on + datetime.timedelta(days=10)
    return {
        "deputy_email": deputy_email,
        "starts_on_0": starts_on.day,
        "starts_on_1": starts_on.month,
        "starts_on_2": starts_on.year,
        "ends_on_0": ends_on.day,
        "ends_on_1": ends_on.month,
        "ends_on_2": ends_on.year,
    }


def name_deputy(client, director, deputy_email, **dates):
    client.force_login(director)
    return client.post(reverse("approvals:delegation-create"), form_data(deputy_email, **dates))


@pytest.mark.parametrize(
    ("role", "error"),
    [
        (Role.AUDITOR, "not an auditor or ICT"),
        (Role.ICT, "not an auditor or ICT"),
        (Role.STAFF, "cannot decide cases"),
    ],
)
def test_auditors_ict_and_plain_staff_cannot_be_deputies(client, role, error):
    _, director = requester_and_director()
    someone = UserFactory(role=role, profile__name="Pat Person")
    response = name_deputy(client, director, someone.email)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: " in html
    assert "govuk-error-summary" in html
    assert error in html
    assert not Delegation.objects.exists()
    with pytest.raises(DelegationInvalid) as refused:
        delegation_create(
            director=director,
            deputy=someone,
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate(),
            actor=director,
        )
    assert refused.value.field == "deputy_email"
    assert error in refused.value.message


def test_a_director_cannot_name_themself(client):
    _, director = requester_and_director()
    html = name_deputy(client, director, director.email).content.decode()
    assert "Enter someone else&#x27;s email address" in html
    assert not Delegation.objects.exists()


@pytest.mark.parametrize("role", [Role.DEPUTY, Role.DIRECTOR, Role.ADMIN])
def test_deputy_directors_directors_and_admins_can_be_deputies(client, role):
    _, director = requester_and_director()
    someone = UserFactory(role=role)
    response = name_deputy(client, director, someone.email)
    assert response.status_code == 302
    assert Delegation.objects.get().deputy == someone


def test_a_delegation_lasts_at_most_sns_max_delegation_days(client, settings):
    settings.SNS_MAX_DELEGATION_DAYS = 92
    _, director = requester_and_director()
    deputy = UserFactory(role=Role.DEPUTY)
    today = timezone.localdate()
    html = name_deputy(
        client, director, deputy.email, starts_on=today, ends_on=today + datetime.timedelta(92)
    ).content.decode()
    last = today + datetime.timedelta(days=91)
    assert f"enter an end date on or before {last:%-d %B %Y}" in html
    assert "at most 92 days" in html
    assert not Delegation.objects.exists()
    with pytest.raises(DelegationInvalid):
        delegation_create(
            director=director,
            deputy=deputy,
            starts_on=today,
            ends_on=today + datetime.timedelta(92),
            actor=director,
        )

    response = name_deputy(client, director, deputy.email, starts_on=today, ends_on=last)
    assert response.status_code == 302
    assert Delegation.objects.get().ends_on == last


def test_a_director_replaced_cannot_name_a_deputy(client):
    requester, director = requester_and_director()
    directorate = requester.profile.business_unit.directorate
    directorate.director = UserFactory(role=Role.DIRECTOR)
    directorate.save(update_fields=["director"])
    deputy = UserFactory(role=Role.DEPUTY)

    client.force_login(director)
    page = client.get(reverse("approvals:delegation-create")).content.decode()
    assert "You can name a deputy only while you are the director of a directorate" in page
    html = name_deputy(client, director, deputy.email).content.decode()
    assert "<title>Error: " in html
    assert "You can name a deputy only while you are the director of a directorate" in html
    assert not Delegation.objects.exists()
    with pytest.raises(DelegationInvalid):
        delegation_create(
            director=director,
            deputy=deputy,
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate(),
            actor=director,
        )
    assert not Delegation.objects.exists()


def test_a_fallback_approver_may_name_a_deputy():
    fallback = UserFactory(role=Role.ADMIN)
    organisation = DirectorateFactory().organisation
    organisation.fallback_approver = fallback
    organisation.save(update_fields=["fallback_approver"])
    deputy = director_of(DirectorateFactory())
    delegation = delegation_create(
        director=fallback,
        deputy=deputy,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate(),
        actor=fallback,
    )
    assert delegation.deputy == deputy


def test_a_deputy_sees_cases_to_decide_in_the_navigation_and_on_home(
    client, django_assert_max_num_queries
):
    requester, director = requester_and_director()
    deputy = UserFactory(role=Role.DEPUTY)
    name_deputy(client, director, deputy.email)
    case = submitted_case(requester=requester)
    client.force_login(deputy)
    html = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("approvals:case-list")}"' in html
    assert "Cases to decide" in html
    assert case.reference in html


def test_a_plain_person_with_a_case_to_decide_sees_cases_to_decide(client):
    """A deputy named before the rules (plain staff), or a fallback approver who is plain
    staff: whoever has a case to decide sees where to decide it."""
    requester, director = requester_and_director()
    staff = UserFactory(role=Role.STAFF)
    client.force_login(staff)
    assert "Cases to decide" not in client.get(reverse("home")).content.decode()
    Delegation.objects.create(
        director=director,
        deputy=staff,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate(),
        scope=Delegation.Scope.CASES,
    )
    case = submitted_case(requester=requester)
    html = client.get(reverse("home")).content.decode()
    assert "Cases to decide" in html
    assert case.reference in html
    html = client.get(reverse("access_requests:case-list")).content.decode()
    assert f'href="{reverse("approvals:case-list")}"' in html
