import pytest

from access_requests.models import AccessGrant, BusinessCase
from approvals.errors import ApprovalClosed
from approvals.models import ApprovalRequest
from approvals.services import approval_decide
from approvals.tests.factories import DelegationFactory, requester_and_director, submitted_case
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.tests.factories import UserFactory
from tests.at_once import run_at_once


def decide_together(calls):
    """Run the calls at the same moment: ("decided", result), ("closed", why) or
    ("error", repr) for each."""
    outcomes = []
    for kind, value in run_at_once(*calls):
        if kind == "returned":
            outcomes.append(("decided", value))
        elif isinstance(value, ApprovalClosed):
            outcomes.append(("closed", value.why))
        else:
            outcomes.append(("error", repr(value)))
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_director_and_deputy_deciding_at_once_produce_exactly_one_decision(outbox_sends_later):
    requester, director = requester_and_director()
    deputy = UserFactory()
    DelegationFactory(director=director, deputy=deputy)
    case = submitted_case(requester=requester)
    director_request = case.approval_requests.get(approver=director)
    deputy_request = case.approval_requests.get(approver=deputy)

    outcomes = decide_together(
        [
            lambda: approval_decide(
                approval_request=director_request, decision="approve", actor=director
            ),
            lambda: approval_decide(
                approval_request=deputy_request,
                decision="reject",
                reason="Not needed",
                actor=deputy,
            ),
        ]
    )

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["closed", "decided"], outcomes
    assert ("closed", "decided") in outcomes  # the loser is told it was already decided
    case.refresh_from_db()
    assert case.status in (BusinessCase.Status.APPROVED, BusinessCase.Status.REJECTED)
    statuses = sorted(case.approval_requests.values_list("status", flat=True))
    assert statuses == ["decided", "superseded"]
    assert AuditEvent.objects.filter(action="approval.decided").count() == 1
    assert OutboundEmail.objects.filter(template="decision_outcome").count() == 1
    assert AccessGrant.objects.count() == (1 if case.status == "approved" else 0)


@pytest.mark.django_db(transaction=True)
def test_two_tabs_posting_the_same_decision_record_it_once(outbox_sends_later):
    case = submitted_case()
    approval = case.approval_requests.get()

    outcomes = decide_together(
        [
            lambda: approval_decide(
                approval_request=approval, decision="approve", actor=approval.approver
            )
        ]
        * 3
    )

    assert sorted(kind for kind, _ in outcomes) == ["closed", "closed", "decided"], outcomes
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "decided"
    assert AccessGrant.objects.filter(business_case=case).count() == 1
