"""The director's stage and the budget holder's arriving at the same moment for the same
case: exactly one decision counts at each stage, and the loser's page says what happened
(never a 500). Each call runs in its own thread on its own database connection."""

import pytest
from django.test import Client
from django.urls import reverse

from access_requests.models import AccessGrant, BusinessCase
from approvals.models import ApprovalRequest
from approvals.services import approval_decide
from approvals.tests.factories import DelegationFactory, requester_and_director, token_for
from approvals.tests.test_budget_holder import active_case, budget_stage, director_request
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from tests.at_once import returned, run_at_once

pytestmark = pytest.mark.django_db(transaction=True)

BUDGET = ApprovalRequest.Stage.BUDGET_HOLDER


def case_with_deputy():
    """An active-tier case sent to a director and their deputy in force, whose paying unit
    has a budget holder: (case, director, budget holder, deputy)."""
    requester, director = requester_and_director()
    deputy = DelegationFactory(director=director).deputy
    case, _, holder = active_case(requester=requester, director=director)
    return case, director, holder, deputy


def test_the_director_s_stale_link_and_the_budget_holder_at_once(outbox_sends_later):
    """The director approved; a second tab of theirs rejects while the budget holder agrees."""
    case, director, holder, asked = budget_stage()
    stale = reverse("approvals:decide", args=[token_for(director_request(case))])
    fresh = reverse("approvals:decide", args=[token_for(asked)])

    director_page, holder_page = returned(
        run_at_once(
            lambda: Client().post(stale, {"decision": "reject", "reason": "Changed my mind"}),
            lambda: Client().post(fresh, {"decision": "approve"}),
        )
    )

    assert holder_page.status_code == 302
    # The director's tab says the case was decided (by their own approval) and the reject
    # was not recorded.
    assert director_page.status_code == 409
    shown = director_page.content.decode()
    assert "Your answer was not recorded" in shown
    assert "That was your own earlier answer" in shown
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED
    assert AccessGrant.objects.get(business_case=case).cost_agreed_by == holder
    assert AuditEvent.objects.filter(action="approval.decided").count() == 2  # one per stage


def test_the_director_and_their_deputy_approving_at_once_ask_the_budget_holder_once(
    outbox_sends_later,
):
    case, director, holder, deputy = case_with_deputy()
    by_director = case.approval_requests.get(approver=director)
    by_deputy = case.approval_requests.get(approver=deputy)

    director_page, deputy_page = returned(
        run_at_once(
            lambda: Client().post(
                reverse("approvals:decide", args=[token_for(by_director)]),
                {"decision": "approve"},
            ),
            lambda: Client().post(
                reverse("approvals:decide", args=[token_for(by_deputy)]),
                {"decision": "approve"},
            ),
        )
    )

    assert sorted([director_page.status_code, deputy_page.status_code]) == [302, 409]
    loser = director_page if director_page.status_code == 409 else deputy_page
    assert "This case has already been decided" in loser.content.decode()
    assert "It now waits for the budget holder" in loser.content.decode()
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED  # waiting for the budget holder
    asked = case.approval_requests.filter(stage=BUDGET)
    assert [a.approver for a in asked] == [holder]
    assert OutboundEmail.objects.filter(template="budget_holder_request").count() == 1
    assert OutboundEmail.objects.filter(template="director_approved").count() == 1


def test_the_budget_holder_and_the_director_s_deputy_stale_link_at_once(outbox_sends_later):
    """The deputy's link was superseded by the director's approval: it says so while the
    budget holder's refusal goes through."""
    case, director, holder, deputy = case_with_deputy()
    by_deputy = case.approval_requests.get(approver=deputy)
    deputy_link = reverse("approvals:decide", args=[token_for(by_deputy)])
    approval_decide(
        approval_request=case.approval_requests.get(approver=director),
        decision="approve",
        actor=director,
    )
    asked = case.approval_requests.get(stage=BUDGET)

    deputy_page, holder_page = returned(
        run_at_once(
            lambda: Client().post(deputy_link, {"decision": "approve"}),
            lambda: Client().post(
                reverse("approvals:decide", args=[token_for(asked)]),
                {"decision": "reject", "reason": "No budget"},
            ),
        )
    )

    assert holder_page.status_code == 302
    # Whichever came first, the deputy's page says the case is decided.
    assert deputy_page.status_code == 409
    assert "This case has already been decided" in deputy_page.content.decode()
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.REJECTED
    assert not AccessGrant.objects.filter(business_case=case).exists()
