import datetime
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase
from approvals.models import ApprovalRequest
from approvals.tests.factories import (
    DelegationFactory,
    requester_and_director,
    submitted_case,
    token_for,
)
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (Director's laptop)", "REMOTE_ADDR": "10.1.2.3"}


def decide_url(approval):
    return reverse("approvals:decide", args=[token_for(approval)])


def state():
    """Every row a decision would change (first_opened_at is bookkeeping, left out)."""
    approval_fields = [f.name for f in ApprovalRequest._meta.fields if f.name != "first_opened_at"]
    return (
        list(BusinessCase.objects.order_by("pk").values()),
        list(ApprovalRequest.objects.order_by("pk").values(*approval_fields)),
        list(AccessGrant.objects.order_by("pk").values()),
    )


@pytest.fixture
def case_and_approval():
    requester, director = requester_and_director(profile__name="Sam Staff")
    case = submitted_case(requester=requester)
    return case, case.approval_requests.get()


def test_opening_the_link_shows_the_whole_case_and_records_who_opened_it(client, case_and_approval):
    case, approval = case_and_approval
    before = state()

    response = client.get(decide_url(approval), **BROWSER)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Decide <bdi>Sam Staff</bdi>’s request" in html
    for text in [case.reference, case.purpose, case.audience, case.integration, "LinkedIn"]:
        assert text in html
    assert re.search(
        r'name="decision"\s+class="govuk-radios__input"\s+id="\w+"\s+value="approve"', html
    )
    assert re.search(
        r'name="decision"\s+class="govuk-radios__input"\s+id="\w+"\s+value="reject"', html
    )
    assert 'name="end_date_0"' in html  # GOV.UK date input: day, month, year
    assert response["Referrer-Policy"] == "same-origin"
    assert state() == before
    opened = AuditEvent.objects.get(action="approval.opened")
    assert opened.object_id == str(case.pk)
    assert opened.client_address == "10.1.2.3"
    assert opened.user_agent == "Mozilla/5.0 (Director's laptop)"
    approval.refresh_from_db()
    assert approval.first_opened_at is not None


def test_head_changes_nothing_and_records_nothing(client, case_and_approval):
    case, approval = case_and_approval
    before = state()
    events = AuditEvent.objects.count()

    response = client.head(decide_url(approval))

    assert response.status_code == 200
    assert state() == before
    assert AuditEvent.objects.count() == events
    approval.refresh_from_db()
    assert approval.first_opened_at is None


def test_approving_through_the_link_creates_the_grant_and_tells_everyone(client, case_and_approval):
    case, approval = case_and_approval
    ict = UserFactory(role=Role.ICT)
    url = decide_url(approval)

    response = client.post(url, {"decision": "approve", "reason": "Good case"}, **BROWSER)

    assert response.status_code == 302
    case.refresh_from_db()
    approval.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED
    assert case.decided_at is not None
    assert approval.status == ApprovalRequest.Status.DECIDED
    grant = AccessGrant.objects.get(business_case=case)
    assert grant.approved_by == approval.approver
    assert grant.end_date == case.end_date
    decided = AuditEvent.objects.get(action="approval.decided")
    assert decided.client_address == "10.1.2.3"
    assert decided.changes["decided_by"] == approval.approver.email
    assert decided.changes["via"] == "emailed link"
    outcome = OutboundEmail.objects.get(template="decision_outcome")
    assert outcome.to == case.requester.email
    assert "approved" in outcome.content().subject
    assert "Good case" in outcome.content().body_text
    assert OutboundEmail.objects.get(template="decision_provisioning").to == ict.email

    page = client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Case approved" in html
    today = timezone.localdate().strftime("%-d %B %Y")
    assert f"Already decided by <bdi>{approval.approver.display_name}</bdi>" in html
    assert f"on {today}" in html


def test_rejecting_needs_a_reason_which_the_requester_is_told(client, case_and_approval):
    case, approval = case_and_approval
    url = decide_url(approval)

    response = client.post(url, {"decision": "reject", "reason": "  "})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter the reason for rejecting the case" in html
    assert "<title>Error: " in html
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED

    response = client.post(url, {"decision": "reject", "reason": "Use the press office account."})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.REJECTED
    assert case.decision_reason == "Use the press office account."
    assert not AccessGrant.objects.exists()
    outcome = OutboundEmail.objects.get(template="decision_outcome")
    assert "rejected" in outcome.content().subject
    assert "Use the press office account." in outcome.content().body_text


def test_no_decision_chosen_is_an_error(client, case_and_approval):
    _, approval = case_and_approval
    response = client.post(decide_url(approval), {})
    assert "Select approve, reject or ask for more information" in response.content.decode()


def test_an_earlier_end_date_limits_the_grant_and_a_later_one_is_refused(client, case_and_approval):
    case, approval = case_and_approval
    url = decide_url(approval)
    later = case.end_date + datetime.timedelta(days=1)
    response = client.post(
        url,
        {
            "decision": "approve",
            "end_date_0": later.day,
            "end_date_1": later.month,
            "end_date_2": later.year,
        },
    )
    assert "End date must be on or before" in response.content.decode()

    earlier = case.start_date + datetime.timedelta(days=30)
    response = client.post(
        url,
        {
            "decision": "approve",
            "end_date_0": earlier.day,
            "end_date_1": earlier.month,
            "end_date_2": earlier.year,
        },
    )
    assert response.status_code == 302
    assert AccessGrant.objects.get().end_date == earlier


def test_the_link_expires(client, case_and_approval):
    case, approval = case_and_approval
    url = decide_url(approval)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=15)):
        before = state()
        response = client.get(url)
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
        response = client.post(url, {"decision": "approve"})
        assert response.status_code == 410
        assert state() == before


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token + "x",
        lambda token: "x",
        lambda token: "a" * 300,
    ],
)
def test_a_tampered_or_unknown_token_is_not_found(client, case_and_approval, tamper):
    _, approval = case_and_approval
    url = reverse("approvals:decide", args=[tamper(token_for(approval))])
    before = state()
    for response in (client.get(url), client.post(url, {"decision": "approve"})):
        assert response.status_code == 404
        assert "This link is not recognised" in response.content.decode()
    assert state() == before


def test_a_second_decision_after_the_first_shows_already_decided(client, case_and_approval):
    case, approval = case_and_approval
    url = decide_url(approval)
    client.post(url, {"decision": "approve"})
    before = state()

    other = Client()
    response = other.post(url, {"decision": "reject", "reason": "Changed my mind"})

    assert response.status_code == 409
    html = response.content.decode()
    assert "This case has already been decided" in html
    assert "Your answer was not recorded" in html
    assert "Already decided by" in html
    # Reading the link afterwards is no conflict: the page, as before.
    assert other.get(url).status_code == 200
    assert state() == before
    assert AuditEvent.objects.filter(action="approval.decided").count() == 1


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_decided_cases_link_shows_only_that_it_has_expired_after_its_expiry(
    client, case_and_approval, decision
):
    case, approval = case_and_approval
    url = decide_url(approval)
    client.post(url, {"decision": decision, "reason": "Not needed"})
    assert "Sam Staff" in Client().get(url).content.decode()  # within its life: decided page

    with time_machine.travel(timezone.now() + datetime.timedelta(days=15)):
        before = state()
        for response in (Client().get(url), Client().post(url, {"decision": "approve"})):
            page = response.content.decode()
            assert response.status_code == 410
            assert "This link has expired" in page
            assert "Already decided" not in page
            assert "Decided by you" not in page
            assert "Sam Staff" not in page
        assert state() == before


def test_a_token_decides_only_its_own_case(client, case_and_approval):
    case_a, approval_a = case_and_approval
    case_b = submitted_case()
    approval_b = case_b.approval_requests.get()

    response = client.get(decide_url(approval_a))
    assert case_a.reference in response.content.decode()
    assert case_b.reference not in response.content.decode()
    client.post(decide_url(approval_a), {"decision": "approve"})

    case_b.refresh_from_db()
    assert case_b.status == BusinessCase.Status.SUBMITTED
    # Signed in as case A's director, case B's signed-in page is not found.
    client.force_login(approval_a.approver)
    assert (
        client.get(reverse("approvals:decide-signed-in", args=[approval_b.pk])).status_code == 404
    )
    response = client.post(
        reverse("approvals:decide-signed-in", args=[approval_b.pk]), {"decision": "approve"}
    )
    assert response.status_code == 404
    case_b.refresh_from_db()
    assert case_b.status == BusinessCase.Status.SUBMITTED


def test_a_withdrawn_cases_link_no_longer_works(client, case_and_approval):
    case, approval = case_and_approval
    url = decide_url(approval)
    BusinessCase.objects.filter(pk=case.pk).update(
        status=BusinessCase.Status.WITHDRAWN, withdrawn_at=timezone.now()
    )
    before = state()

    response = client.get(url)
    assert response.status_code == 410
    assert "withdrew" in response.content.decode()
    response = client.post(url, {"decision": "approve"})
    assert response.status_code == 410
    assert state() == before
    assert not AccessGrant.objects.exists()


def test_signed_in_as_someone_else_the_link_is_refused(client, case_and_approval):
    case, approval = case_and_approval
    client.force_login(UserFactory(role=Role.DIRECTOR))
    url = decide_url(approval)
    before = state()

    for response in (client.get(url), client.post(url, {"decision": "approve"})):
        assert response.status_code == 403
        assert f"This link was sent to <bdi>{approval.approver.display_name}</bdi>" in (
            response.content.decode()
        )
    assert state() == before


def test_signed_in_as_the_approver_the_link_decides_as_them(client, case_and_approval):
    case, approval = case_and_approval
    client.force_login(approval.approver)
    response = client.post(decide_url(approval), {"decision": "approve"})
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="approval.decided").actor == approval.approver


def test_the_decision_needs_the_csrf_token(case_and_approval):
    case, approval = case_and_approval
    client = Client(enforce_csrf_checks=True)
    url = decide_url(approval)
    assert client.post(url, {"decision": "approve"}).status_code == 403
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED

    page = client.get(url)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    response = client.post(url, {"decision": "approve", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302


def test_a_deputys_decision_is_on_behalf_of_the_director_who_is_told(client):
    requester, director = requester_and_director()
    deputy = UserFactory(profile__name="Dev Deputy")
    DelegationFactory(director=director, deputy=deputy)
    case = submitted_case(requester=requester)
    deputy_approval = case.approval_requests.get(approver=deputy)
    director_approval = case.approval_requests.get(approver=director)

    client.post(decide_url(deputy_approval), {"decision": "approve"})

    grant = AccessGrant.objects.get(business_case=case)
    assert grant.approved_by == deputy
    assert grant.approved_on_behalf_of == director
    event = AuditEvent.objects.get(action="approval.decided")
    assert event.changes["on_behalf_of"] == director.email
    told = OutboundEmail.objects.get(template="decision_by_deputy")
    assert told.to == director.email
    assert "Dev Deputy" in told.content().body_text
    # The director's own link now says who decided.
    response = Client().get(decide_url(director_approval))
    assert response.status_code == 200
    assert (
        "Already decided by <bdi>Dev Deputy</bdi> (deputy for <bdi>Dana Director</bdi>)"
        in response.content.decode()
    )
    director_approval.refresh_from_db()
    assert director_approval.status == ApprovalRequest.Status.SUPERSEDED


def test_fetching_every_link_of_every_email_changes_nothing(client):
    """Mail scanners open every link: GET and HEAD must never decide anything."""
    requester, director = requester_and_director()
    DelegationFactory(director=director, deputy=UserFactory())
    UserFactory(role=Role.ICT)
    case = submitted_case(requester=requester)

    def fetch_every_link():
        links = set()
        for email in OutboundEmail.objects.all():
            links |= set(
                re.findall(r"http://testserver[^\s\"<>]*", email.content(live=True).body_text)
            )
            links |= set(
                re.findall(r"http://testserver[^\s\"<>]*", email.content(live=True).body_html)
            )
        assert links
        for link in links:
            path = link.removeprefix("http://testserver")
            for fetch in (client.get, client.head, Client().get, Client().head):
                assert fetch(path).status_code in {200, 302, 403, 404, 410}
        return links

    before = state()
    links = fetch_every_link()
    assert any("/approvals/decide/" in link for link in links)
    assert state() == before

    client.post(decide_url(case.approval_requests.get(approver=director)), {"decision": "approve"})
    before = state()
    fetch_every_link()
    assert state() == before
    assert OutboundEmail.objects.filter(template="decision_provisioning").exists()
