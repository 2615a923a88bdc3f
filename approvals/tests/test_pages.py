import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from access_requests.models import BusinessCase
from approvals.models import ApprovalRequest, Delegation
from approvals.tests.factories import (
    DelegationFactory,
    requester_and_director,
    submitted_case,
)
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def cases_for(director, count):
    from people.tests.factories import BusinessUnitFactory

    unit = BusinessUnitFactory(directorate=director.directorates_led.get())
    return [
        submitted_case(requester=UserFactory(profile__business_unit=unit)) for _ in range(count)
    ]


def test_cases_to_decide_lists_the_approvers_open_cases_oldest_first(
    client, django_assert_max_num_queries
):
    requester, director = requester_and_director()
    first = submitted_case(requester=requester)
    later = cases_for(director, 2)
    withdrawn = cases_for(director, 1)[0]
    BusinessCase.objects.filter(pk=withdrawn.pk).update(status=BusinessCase.Status.WITHDRAWN)
    someone_elses = submitted_case()
    client.force_login(director)

    response = client.get(reverse("approvals:case-list"))

    html = response.content.decode()
    assert response.status_code == 200
    positions = [html.index(case.reference) for case in [first, *later]]
    assert positions == sorted(positions)
    assert withdrawn.reference not in html
    assert someone_elses.reference not in html
    approval = first.approval_requests.get()
    assert reverse("approvals:decide-signed-in", args=[approval.pk]) in html

    # The number of queries does not grow with the rows on the page.
    with django_assert_max_num_queries(12):
        client.get(reverse("approvals:case-list"))
    cases_for(director, 30)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("approvals:case-list"))
    assert response.context["page"].paginator.num_pages == 2
    assert len(response.context["page"].object_list) == 25
    response = client.get(reverse("approvals:case-list") + "?page=2")
    assert len(response.context["page"].object_list) == 8


# (page asked for, page shown): not a number, or below 1, is the first page; past the end,
# however far (even past what PostgreSQL's OFFSET can hold), the last.
PAGE_NUMBERS = [
    ("", 1),
    ("0", 1),
    ("-3", 1),
    ("2", 2),
    ("1.5", 1),
    ("last", 1),
    ("3", 2),
    ("9" * 30, 2),
]


def test_cases_to_decide_answers_any_page_number_with_a_page(client):
    """Every page number in PAGE_NUMBERS is answered with a page, never an error. One list of
    cases serves them all (building its 27 cases is most of the test's cost)."""
    requester, director = requester_and_director()
    cases = [submitted_case(requester=requester)] + cases_for(director, 26)
    client.force_login(director)

    for asked, shown in PAGE_NUMBERS:
        response = client.get(reverse("approvals:case-list"), {"page": asked})

        assert response.status_code == 200, asked
        assert response.context["page"].number == shown, asked
        html = response.content.decode()
        on_page = cases[:25] if shown == 1 else cases[25:]
        assert all(case.reference in html for case in on_page), asked
        assert not any(case.reference in html for case in cases if case not in on_page), asked


def test_cases_to_decide_builds_its_costly_authority_condition_once(client):
    """The list's page and its count come from one query: the authority condition (ten
    joined tables, the costliest part of the page to build and to plan) is not built and
    planned again for a separate COUNT. Every page, past the end too, is still right."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    requester, director = requester_and_director()
    cases = [submitted_case(requester=requester)] + cases_for(director, 29)
    client.force_login(director)
    url = reverse("approvals:case-list")

    with CaptureQueriesContext(connection) as queries:
        second = client.get(url + "?page=2")

    # Run once: as a prepared statement (`EXECUTE`, after its `PREPARE` on a connection
    # that had not prepared it) or as a plain query.
    with_authority = [
        q["sql"]
        for q in queries.captured_queries
        if "EXECUTE approvals_open_page" in q["sql"]
        or ("approvals_delegation" in q["sql"] and not q["sql"].startswith("PREPARE"))
    ]
    assert len(with_authority) == 1
    assert second.context["page"].paginator.count == 30
    assert second.context["page"].number == 2
    shown = second.content.decode()
    assert all(case.reference in shown for case in cases[25:])
    assert not any(case.reference in shown for case in cases[:25])
    past_the_end = client.get(url + "?page=9")
    assert past_the_end.context["page"].number == 2
    assert len(past_the_end.context["page"].object_list) == 5
    assert client.get(url + "?page=oops").context["page"].number == 1


def test_the_signed_in_page_decides_with_the_same_form(client):
    case = submitted_case()
    approval = case.approval_requests.get()
    client.force_login(approval.approver)
    url = reverse("approvals:decide-signed-in", args=[approval.pk])

    response = client.get(url)
    assert response.status_code == 200
    assert case.purpose in response.content.decode()
    assert AuditEvent.objects.get(action="approval.opened").actor == approval.approver

    response = client.post(url, {"decision": "reject", "reason": "Not this year"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.REJECTED
    assert AuditEvent.objects.get(action="approval.decided").changes["via"] == "signed in"
    response = client.get(url)
    assert "Case rejected" in response.content.decode()
    assert list(client.get(reverse("approvals:case-list")).context["page"].object_list) == []


def test_a_second_post_on_the_signed_in_page_is_refused_as_a_conflict(client):
    case = submitted_case()
    approval = case.approval_requests.get()
    client.force_login(approval.approver)
    url = reverse("approvals:decide-signed-in", args=[approval.pk])
    client.post(url, {"decision": "reject", "reason": "Not this year"})

    again = client.post(url, {"decision": "approve"})

    assert again.status_code == 409
    html = again.content.decode()
    assert "This case has already been decided" in html
    assert "Your answer was not recorded" in html
    assert "rejected" in html
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.REJECTED
    assert AuditEvent.objects.filter(action="approval.decided").count() == 1
    # Reading one's own decision afterwards is no conflict.
    assert client.get(url).status_code == 200


def test_the_signed_in_page_works_after_the_emailed_link_expired(client):
    case = submitted_case()
    approval = case.approval_requests.get()
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        token_expires_at=timezone.now() - datetime.timedelta(days=1)
    )
    client.force_login(approval.approver)
    response = client.post(
        reverse("approvals:decide-signed-in", args=[approval.pk]), {"decision": "approve"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED


def test_a_director_names_a_deputy_by_email_and_cancels_the_delegation(client):
    requester, director = requester_and_director()
    deputy = UserFactory(
        email="dev.deputy@example.gov.uk", profile__name="Dev Deputy", role=Role.DEPUTY
    )
    client.force_login(director)
    today = timezone.localdate()
    ends = today + datetime.timedelta(days=10)

    response = client.get(reverse("approvals:delegation-create"))
    assert response.status_code == 200
    response = client.post(
        reverse("approvals:delegation-create"),
        {
            "deputy_email": "Dev.Deputy@example.gov.uk",
            "starts_on_0": today.day,
            "starts_on_1": today.month,
            "starts_on_2": today.year,
            "ends_on_0": ends.day,
            "ends_on_1": ends.month,
            "ends_on_2": ends.year,
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Dev Deputy is your deputy from" in html
    assert "In force" in html
    delegation = Delegation.objects.get()
    assert (delegation.director, delegation.deputy, delegation.ends_on) == (director, deputy, ends)
    assert delegation.scope == Delegation.Scope.CASES
    assert AuditEvent.objects.get(action="delegation.created").changes["scope"] == "cases"
    told = OutboundEmail.objects.get(template="approval_delegation")
    assert told.to == deputy.email
    assert "New cases for Dana Director" in told.content().body_text

    case = submitted_case(requester=requester)
    deputy_request = case.approval_requests.get(approver=deputy)

    response = client.post(
        reverse("approvals:delegation-cancel", args=[delegation.pk]), follow=True
    )
    assert "You cancelled Dev Deputy" in response.content.decode()
    delegation.refresh_from_db()
    assert delegation.cancelled_at is not None
    deputy_request.refresh_from_db()
    assert deputy_request.status == ApprovalRequest.Status.SUPERSEDED
    assert case.approval_requests.get(approver=director).status == "open"
    assert AuditEvent.objects.filter(action="delegation.cancelled").exists()
    later_case = submitted_case(requester=requester)
    assert [a.approver for a in later_case.approval_requests.all()] == [director]


def test_naming_a_deputy_shows_govuk_errors(client):
    _, director = requester_and_director()
    client.force_login(director)
    response = client.post(
        reverse("approvals:delegation-create"),
        {
            "deputy_email": "nobody@example.gov.uk",
            "starts_on_0": "10",
            "starts_on_1": "12",
            "starts_on_2": "2030",
            "ends_on_0": "1",
            "ends_on_1": "12",
            "ends_on_2": "2030",
        },
    )
    html = response.content.decode()
    assert "<title>Error: " in html
    assert "Enter the email address of someone in the staff directory" in html
    assert "End date must be the same as or after the start date" in html
    response = client.post(reverse("approvals:delegation-create"), {"deputy_email": director.email})
    html = response.content.decode()
    assert "Enter someone else&#x27;s email address" in html
    assert "Enter the start date" in html or "Enter the day" in html
    assert not Delegation.objects.exists()


def test_only_directors_manage_delegations_and_only_their_own(client):
    client.force_login(UserFactory(role=Role.STAFF))
    assert client.get(reverse("approvals:delegation-list")).status_code == 403
    assert client.get(reverse("approvals:delegation-create")).status_code == 403

    others = DelegationFactory()
    client.force_login(UserFactory(role=Role.DIRECTOR))
    assert client.get(reverse("approvals:delegation-list")).status_code == 200
    assert client.post(reverse("approvals:delegation-cancel", args=[others.pk])).status_code == 404
    assert client.get(reverse("approvals:delegation-cancel", args=[others.pk])).status_code == 405
    others.refresh_from_db()
    assert others.cancelled_at is None


def test_a_directors_home_page_links_each_case_to_decide_to_its_decision_page(client):
    requester, director = requester_and_director()
    case = submitted_case(requester=requester)
    approval = ApprovalRequest.objects.get(business_case=case, approver=director)
    client.force_login(director)
    html = client.get(reverse("home")).content.decode()
    decide_url = reverse("approvals:decide-signed-in", args=[approval.pk])
    assert f'href="{decide_url}"' in html
    assert case.reference in html
    response = client.get(decide_url)
    assert response.status_code == 200
    assert case.purpose in response.content.decode()
