"""Attacks on the director's emailed link: none of them decides anything.

Forged, truncated, extended, expired, replayed after the decision, used for another case,
used after the case went to another approver, used by someone signed in as another person.
Each attack POSTs a full "approve" to the decision URL and checks that no case, approval
request or grant changed, and that the answer is a clear page (never a 500).
"""

import datetime
import secrets

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant
from approvals.models import ApprovalRequest
from approvals.services import approval_decide, approval_remind_due
from approvals.tests.factories import requester_and_director, submitted_case, token_for
from people.models import Role
from people.tests.factories import UserFactory
from tests.portal_map import snapshot_differences, state_snapshot

pytestmark = pytest.mark.django_db

APPROVE = {"decision": "approve", "reason": "Looks fine", "send": "1"}


@pytest.fixture
def case_and_approval():
    UserFactory(role=Role.ADMIN)  # the fallback approver of last resort
    requester, _director = requester_and_director()
    case = submitted_case(requester=requester)
    return case, case.approval_requests.get()


def attack(token: str, client: Client | None = None) -> tuple[int, str, list[str]]:
    """POST an approval with this token: (status, page, what changed)."""
    client = client or Client()
    url = reverse("approvals:decide", args=[token])
    before = state_snapshot()
    response = client.post(url, APPROVE)
    return (
        response.status_code,
        response.content.decode(),
        snapshot_differences(before, state_snapshot()),
    )


def assert_nothing_decided(status, changed):
    assert status in (200, 403, 404, 410), status
    assert not changed, changed
    assert not AccessGrant.objects.exists()
    assert not ApprovalRequest.objects.filter(status=ApprovalRequest.Status.DECIDED).exists()


def flip(character: str) -> str:
    return "A" if character != "A" else "B"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda t: secrets.token_urlsafe(32), id="forged"),
        pytest.param(lambda t: t[:-1], id="truncated"),
        pytest.param(lambda t: t[: len(t) // 2], id="half"),
        pytest.param(lambda t: t + "A", id="extended"),
        pytest.param(lambda t: flip(t[0]) + t[1:], id="first-character-changed"),
        pytest.param(lambda t: t[:-1] + flip(t[-1]), id="last-character-changed"),
        pytest.param(lambda t: t.upper(), id="case-changed"),
        pytest.param(lambda t: t[::-1], id="reversed"),
        pytest.param(lambda t: "x", id="one-character"),
        pytest.param(lambda t: "%00" + t, id="nul-prefixed"),
    ],
)
def test_a_forged_or_altered_token_decides_nothing(case_and_approval, forge):
    _case, approval = case_and_approval
    token = token_for(approval)
    forged = forge(token)
    assert forged != token
    status, html, changed = attack(forged)
    assert_nothing_decided(status, changed)
    assert status == 404


def test_an_expired_token_decides_nothing(case_and_approval):
    _case, approval = case_and_approval
    token = token_for(approval)
    later = approval.token_expires_at + datetime.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        status, html, changed = attack(token)
    assert_nothing_decided(status, changed)
    assert status in (404, 410)


def test_a_token_replayed_after_the_decision_decides_nothing_more(case_and_approval):
    case, approval = case_and_approval
    token = token_for(approval)
    approval_decide(
        approval_request=approval, decision="reject", reason="Not now", actor=approval.approver
    )
    before = state_snapshot()
    response = Client().post(reverse("approvals:decide", args=[token]), APPROVE)
    assert response.status_code == 409
    assert "Already decided" in response.content.decode()
    assert not snapshot_differences(before, state_snapshot())
    assert not AccessGrant.objects.exists()
    case.refresh_from_db()
    assert case.status == "rejected"


def test_a_token_decides_only_its_own_case(case_and_approval):
    case, approval = case_and_approval
    token = token_for(approval)
    other = submitted_case()
    other_approval = other.approval_requests.get()
    # The other case's ids smuggled into the form posted with this case's token.
    response = Client().post(
        reverse("approvals:decide", args=[token]),
        {**APPROVE, "approval_request": other_approval.pk, "case": other.pk, "pk": other.pk},
    )
    other.refresh_from_db()
    assert other.status == "submitted"
    assert not AccessGrant.objects.filter(business_case=other).exists()
    # Its own case may be decided by it, and only that one.
    assert response.status_code in (200, 302)
    assert set(AccessGrant.objects.values_list("business_case", flat=True)) <= {case.pk}


def test_a_token_used_after_the_case_went_to_another_approver_decides_nothing(
    case_and_approval,
):
    """Each reminder sends a fresh link (the old one stops working); after the last one
    the case is escalated to the fallback approver. The first link decides nothing."""
    case, approval = case_and_approval
    first_token = token_for(approval)
    for days in range(1, 40):
        with time_machine.travel(timezone.now() + datetime.timedelta(days=days)):
            approval_remind_due()
        if case.approval_requests.filter(routed_because="escalation").exists():
            break
    escalated = case.approval_requests.get(routed_because="escalation")
    assert escalated.approver != approval.approver
    approval.refresh_from_db()
    assert approval.reminders_sent >= 1
    status, html, changed = attack(first_token)
    assert_nothing_decided(status, changed)


def test_a_token_used_while_signed_in_as_someone_else_decides_nothing(case_and_approval):
    case, approval = case_and_approval
    token = token_for(approval)
    for role in (Role.STAFF, Role.DIRECTOR, Role.ADMIN):
        intruder = Client()
        intruder.force_login(UserFactory(role=role))
        status, html, changed = attack(token, intruder)
        assert_nothing_decided(status, changed)
        assert status == 403
    requester = Client()
    requester.force_login(case.requester)  # nobody approves their own case
    status, html, changed = attack(token, requester)
    assert_nothing_decided(status, changed)
