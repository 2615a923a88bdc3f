"""Where a sent case stands between its approvers, for its requester's page: read with the
case's approval requests in one prepared query, whose ids the page's timeline reads too."""

from dataclasses import dataclass

from access_requests.models import BusinessCase
from core.prepared import PreparedQuery
from people.models import display_name_of

from ..models import ApprovalRequest


@dataclass(frozen=True)
class CaseStage:
    """Where a sent case stands between its approvers, in words for its requester:
    `waiting_for` while it waits, `cost` who agreed (or not) to pay once settled."""

    waiting_for: str = ""
    cost: str = ""


@dataclass(frozen=True)
class CaseApproval:
    """One of a case's approval requests, as its requester's page reads it."""

    id: int
    stage: str
    status: str
    decision: str
    cost_note: str
    approver_name: str


def _case_approvals(case_id: int):
    return (
        ApprovalRequest.objects.filter(business_case_id=case_id)
        .order_by("decided_at", "id")
        .values_list(
            "id",
            "stage",
            "status",
            "decision",
            "cost_note",
            "approver__profile__commonly_used_name",
            "approver__first_name",
            "approver__last_name",
            "approver__email",
        )
    )


# Read on every view of a sent case by its requester: built once per process and planned
# once per connection (`core.prepared`).
_CASE_APPROVALS = PreparedQuery("case_approvals", _case_approvals, case_id=-(2**62) + 71)


def case_approvals(*, case_id: int) -> list[CaseApproval]:
    """The case's approval requests, the decided ones in the order they were decided (the
    rest after them), with their approver's name."""
    return [
        CaseApproval(
            pk,
            stage,
            status,
            decision or "",
            cost_note,
            display_name_of(common, first, last, email),
        )
        for pk, stage, status, decision, cost_note, common, first, last, email in (
            _CASE_APPROVALS.run(case_id=case_id)
        )
    ]


def case_stage(*, case: BusinessCase, approvals: list[CaseApproval] | None = None) -> CaseStage:
    """The stage of `case`, from its approval requests (`case_approvals`, read if not
    given)."""
    if approvals is None:
        approvals = case_approvals(case_id=case.pk)
    decided = [a for a in approvals if a.status == ApprovalRequest.Status.DECIDED]
    director = next((a for a in decided if a.stage == ApprovalRequest.Stage.DIRECTOR), None)
    holder = next((a for a in decided if a.stage == ApprovalRequest.Stage.BUDGET_HOLDER), None)
    cost = director.cost_note if director is not None else ""
    if holder is not None:
        agreed = (
            "agreed" if holder.decision == ApprovalRequest.Decision.APPROVE else "did not agree"
        )
        unit = case.paying_business_unit
        cost = f"{holder.approver_name} {agreed} to pay, for {unit.name}."
    if case.status != BusinessCase.Status.SUBMITTED:
        return CaseStage(cost=cost)
    if director is None:
        return CaseStage(waiting_for="Waiting for your director to decide.")
    asked = min(
        (
            a
            for a in approvals
            if a.stage == ApprovalRequest.Stage.BUDGET_HOLDER
            and a.status == ApprovalRequest.Status.OPEN
        ),
        key=lambda a: a.id,
        default=None,
    )
    who = f" ({asked.approver_name})" if asked is not None else ""
    return CaseStage(
        waiting_for=f"Approved by your director, waiting for the budget holder{who}.", cost=cost
    )
