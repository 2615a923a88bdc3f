"""Every paginated list page costs the same number of queries however many rows there
are, on its first page and on a deep one (the oversight pages have their own tests)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access_requests.models import SafeUseReminder
from access_requests.tests.factories import AccessGrantFactory, BusinessCaseFactory
from approvals.tests.factories import ApprovalRequestFactory
from people.models import Role
from people.tests.factories import DirectorateFactory, UserFactory, director_of

pytestmark = pytest.mark.django_db


def queries_for(client, url) -> int:
    client.get(url)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def assert_constant(client, url, make_rows, django_assert_max_num_queries, deep_page):
    make_rows(2)
    few = queries_for(client, url)
    make_rows(deep_page * 50)
    with django_assert_max_num_queries(few):
        response = client.get(url)
    assert response.context["page"].paginator.num_pages >= deep_page
    with django_assert_max_num_queries(few):
        response = client.get(f"{url}?page={deep_page}")
    assert response.context["page"].number == deep_page
    assert len(response.context["page"].object_list) > 0


def test_your_requests(client, django_assert_max_num_queries):
    person = UserFactory()
    client.force_login(person)
    assert_constant(
        client,
        reverse("access_requests:case-list"),
        lambda n: BusinessCaseFactory.create_batch(n, requester=person, submitted=True),
        django_assert_max_num_queries,
        deep_page=3,
    )


def test_cases_to_decide(client, django_assert_max_num_queries):
    director = UserFactory(role=Role.DIRECTOR)
    client.force_login(director)
    assert_constant(
        client,
        reverse("approvals:case-list"),
        lambda n: ApprovalRequestFactory.create_batch(n, approver=director),
        django_assert_max_num_queries,
        deep_page=3,
    )


def test_the_provisioning_queue(client, django_assert_max_num_queries):
    ict = UserFactory(role=Role.ICT)
    client.force_login(ict)
    approver = UserFactory(role=Role.DIRECTOR)

    def grants(n):
        for index in range(n):
            case = BusinessCaseFactory(
                submitted=True, status="approved", decided_at=timezone.now(), active=index % 2
            )
            AccessGrantFactory(business_case=case, approved_by=approver)

    assert_constant(
        client,
        reverse("access_requests:provisioning-queue"),
        grants,
        django_assert_max_num_queries,
        deep_page=2,
    )


def test_the_home_page_of_a_director_with_much_to_do(client, django_assert_max_num_queries):
    """The home page lists the person's access (both tiers, safe-use reminders on the active
    one), their requests, the cases waiting for them and their people's safe-use reviews
    not confirmed: more of each does not mean more queries."""
    director = director_of(DirectorateFactory())
    client.force_login(director)
    overdue = timezone.localdate() - datetime.timedelta(days=1)

    def rows(n):
        ApprovalRequestFactory.create_batch(n, approver=director)
        BusinessCaseFactory.create_batch(n, requester=director, submitted=True)
        for index in range(n):
            active_tier = index % 2 == 0
            grant = AccessGrantFactory(
                business_case__requester=director,
                business_case__active=active_tier,
                provisioned=True,
            )
            if active_tier:
                SafeUseReminder.objects.create(grant=grant, period=1, confirm_by=overdue)
            # Someone in the directorate who has not confirmed their review.
            holder = UserFactory(profile__business_unit=director.profile.business_unit)
            held = AccessGrantFactory(
                business_case__requester=holder, business_case__active=True, provisioned=True
            )
            SafeUseReminder.objects.create(grant=held, period=1, confirm_by=overdue)

    rows(1)
    few = queries_for(client, reverse("home"))
    # Session, user, roles and permissions; the person's grants and their sites, cases and
    # their sites, cases to decide, safe use not confirmed, their name with the budgets
    # they hold, and reviews to do (one prepared query each).
    assert few <= 12
    rows(12)
    with django_assert_max_num_queries(few):
        response = client.get(reverse("home"))
    sections = response.context["sections"]
    assert len(sections["to_decide"]) == 10
    assert len(sections["grants"]) == 10
    assert len(sections["cases"]) == 5
    assert len(sections["safe_use_unconfirmed"]) == 1 + 1 + 6 + 12  # own and their people's
    assert "Confirm you have reviewed them" in response.content.decode()
