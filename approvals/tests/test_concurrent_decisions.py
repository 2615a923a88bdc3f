import time

import pytest
from django.db import transaction

from access_requests.models import AccessGrant, BusinessCase
from approvals.errors import ApprovalClosed, ApprovalLostAuthority
from approvals.models import ApprovalRequest
from approvals.services import approval_decide
from approvals.tests.factories import DelegationFactory, requester_and_director, submitted_case
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from notifications.models import OutboundEmail
from people.models import Directorate, Role
from people.tests.factories import UserFactory
from tests.at_once import returned, run_at_once


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


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change_holds_for", [0.0, 0.3])
def test_a_director_change_committing_while_the_old_director_decides(
    outbox_sends_later, change_holds_for
):
    """Either the decision comes first (the old director still decided it: the case is
    decided, by them, once) or the change does (the decision is refused and nothing
    changed): never a half of each. The change's transaction is held open for a moment in
    one run, so that the decision reads the directory while the change is under way."""
    requester, old = requester_and_director()
    case = submitted_case(requester=requester)
    approval = case.approval_requests.get()
    directorate = requester.profile.business_unit.directorate
    new = UserFactory(role=Role.DIRECTOR)

    def change_director():
        with transaction.atomic():
            Directorate.objects.filter(pk=directorate.pk).update(director=new)
            time.sleep(change_holds_for)
        return "changed"

    def decide():
        try:
            return approval_decide(approval_request=approval, decision="approve", actor=old)
        except ApprovalLostAuthority:
            return "refused"

    decision, change = returned(run_at_once(decide, change_director))

    assert change == "changed"
    assert Directorate.objects.get(pk=directorate.pk).director == new
    case.refresh_from_db()
    approval.refresh_from_db()
    if decision == "refused":
        assert case.status == BusinessCase.Status.SUBMITTED
        assert approval.status == ApprovalRequest.Status.OPEN
        assert not AuditEvent.objects.filter(action="approval.decided").exists()
        assert not AccessGrant.objects.exists()
    else:
        assert case.status == BusinessCase.Status.APPROVED
        assert approval.status == ApprovalRequest.Status.DECIDED
        event = AuditEvent.objects.get(action="approval.decided")
        assert event.changes["decided_by"] == old.email
        assert AccessGrant.objects.get(business_case=case).approved_by == old
    assert audit_chain_verify()[1] is None
