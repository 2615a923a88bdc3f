"""Every paginated list page costs the same number of queries however many rows there
are, on its first page and on a deep one (the oversight pages have their own tests)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access_requests.tests.factories import AccessGrantFactory, BusinessCaseFactory
from approvals.tests.factories import ApprovalRequestFactory
from people.models import Role
from people.tests.factories import UserFactory

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
    """The home page lists the person's access, their requests and the cases waiting for
    them: more of each does not mean more queries."""
    director = UserFactory(role=Role.DIRECTOR)
    client.force_login(director)

    def rows(n):
        ApprovalRequestFactory.create_batch(n, approver=director)
        BusinessCaseFactory.create_batch(n, requester=director, submitted=True)
        for _ in range(n):
            AccessGrantFactory(business_case__requester=director, provisioned=True)

    rows(1)
    few = queries_for(client, reverse("home"))
    rows(12)
    with django_assert_max_num_queries(few):
        response = client.get(reverse("home"))
    assert len(response.context["sections"]["to_decide"]) == 10
    assert len(response.context["sections"]["grants"]) == 10
    assert len(response.context["sections"]["cases"]) == 5
