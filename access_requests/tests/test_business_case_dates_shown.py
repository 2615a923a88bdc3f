"""The requester sees the dates their director approved (and what they asked for, where that
differs) and the access's current state beside the case's outcome."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from access_requests.services.grants import grant_provision, grant_surrender
from access_requests.tests.factories import BusinessCaseFactory, SiteFactory
from approvals.services import approval_decide, case_submit
from people.models import Role
from people.tests.factories import BusinessUnitFactory, UserFactory, director_of

pytestmark = pytest.mark.django_db


def _approved_shorter():
    unit = BusinessUnitFactory()
    director = director_of(unit.directorate)
    staff = UserFactory(profile__business_unit=unit)
    today = timezone.localdate()
    case = BusinessCaseFactory(
        requester=staff,
        sites=[SiteFactory(name="LinkedIn")],
        start_date=today,
        end_date=today + datetime.timedelta(days=180),
    )
    case = case_submit(case=case, actor=staff)
    approval = case.approval_requests.get(approver=director)
    shorter = today + datetime.timedelta(days=60)
    approval_decide(approval_request=approval, decision="approve", end_date=shorter, actor=director)
    case.refresh_from_db()
    return staff, case, today, shorter


def _long(day: datetime.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _short(day: datetime.date) -> str:
    return f"{day.day} {day:%b %Y}"


def test_your_requests_shows_the_approved_dates_and_what_was_asked_for(client):
    staff, case, today, shorter = _approved_shorter()
    client.force_login(staff)
    html = client.get(reverse("access_requests:case-list")).content.decode()
    assert f"{_short(today)} to {_short(shorter)}" in html
    assert f"You asked for {_short(today)} to {_short(case.end_date)}" in html
    assert "Awaiting provisioning" in html


def test_the_case_page_states_the_approved_dates_and_the_access_now(client):
    staff, case, today, shorter = _approved_shorter()
    client.force_login(staff)
    html = client.get(reverse("access_requests:case-detail", args=[case.pk])).content.decode()
    assert "Access approved" in html
    assert f"{_long(today)} to {_long(shorter)}" in html
    assert f"You asked for {_long(today)} to {_long(case.end_date)}" in html
    assert "Your access now" in html


def test_a_case_whose_access_was_given_up_says_so_beside_approved(client):
    staff, case, _today, _shorter = _approved_shorter()
    grant_provision(grant=case.grant, actor=UserFactory(role=Role.ICT))
    grant_surrender(grant=case.grant, actor=staff)
    client.force_login(staff)
    for url in [
        reverse("access_requests:case-list"),
        reverse("access_requests:case-detail", args=[case.pk]),
    ]:
        html = client.get(url).content.decode()
        assert "Approved" in html and "Given up" in html, url


def test_dates_the_director_left_alone_are_shown_once(client):
    unit = BusinessUnitFactory()
    director = director_of(unit.directorate)
    staff = UserFactory(profile__business_unit=unit)
    case = case_submit(
        case=BusinessCaseFactory(requester=staff, sites=[SiteFactory()]), actor=staff
    )
    approval_decide(
        approval_request=case.approval_requests.get(), decision="approve", actor=director
    )
    client.force_login(staff)
    html = client.get(reverse("access_requests:case-list")).content.decode()
    assert "You asked for" not in html


def test_your_requests_takes_the_same_queries_with_grants(client, django_assert_max_num_queries):
    staff, _case, _today, _shorter = _approved_shorter()
    client.force_login(staff)
    client.get(reverse("access_requests:case-list"))
    with django_assert_max_num_queries(20) as first:
        client.get(reverse("access_requests:case-list"))
    for _ in range(3):
        BusinessCaseFactory(requester=staff)
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(reverse("access_requests:case-list"))
