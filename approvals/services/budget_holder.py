"""The budget holder's stage: after the director approves an active-tier case, the paying
unit's budget holder agrees (or not) to carry the standalone PC's yearly cost before the
grant goes to ICT.

The stage is approval requests with `stage = budget_holder`: emailed link, reminders,
escalation, lapse and re-routing work as for the director's. The case stays submitted
("Awaiting decision") until the budget holder answers; the page says which stage it is at.
"""

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from access_requests.models import BusinessCase
from core.client import Client
from core.links import absolute_url
from core.working_days import add_working_days
from notifications.services import email_queue

from .. import emails, selectors
from ..models import ApprovalRequest
from .routing import approval_request_create, budget_holder_routing


@dataclass(frozen=True)
class CostAgreement:
    """What the director's approval means for the cost: `ask` a budget holder (a second
    stage), or it is settled, `agreed_by` someone (or nobody), `note` saying how."""

    ask: object | None = None
    agreed_by: object | None = None
    note: str = ""


def cost_agreement_plan(*, case: BusinessCase, approver) -> CostAgreement:
    """Whether the director's approval of `case` needs the budget holder too.

    The passive tier costs nothing. When the budget holder is the approving director or
    the requester (who agreed by sending the case), one approval counts for both. A unit
    with no budget holder who can sign in leaves the director's approval covering the cost,
    and says so.
    """
    if not case.is_active_tier or case.paying_business_unit_id is None:
        return CostAgreement()
    unit = case.paying_business_unit
    holder = selectors.case_budget_holder(case=case)
    if holder is None or not holder.is_active:
        return CostAgreement(
            note=f"{unit.name} has no budget holder in the staff directory, so "
            f"{approver.display_name}’s approval covers the cost."
        )
    if holder.pk == approver.pk:
        return CostAgreement(
            agreed_by=approver,
            note=f"{approver.display_name} approved as director and as budget holder "
            f"for {unit.name}.",
        )
    if holder.pk == case.requester_id:
        return CostAgreement(
            agreed_by=holder,
            note=f"{approver.display_name} approved as director; {holder.display_name}, "
            f"who asked, is the budget holder for {unit.name}, so sending the case "
            "agreed to the cost.",
        )
    return CostAgreement(ask=holder)


def budget_holder_request_send(
    *, case: BusinessCase, actor, client: Client | None = None
) -> list[ApprovalRequest]:
    """Ask the budget holder (or, if they cannot sign in, the fallback approver or the
    admins) to agree to the cost. Runs inside the director's decision, with the case
    locked."""
    routing = budget_holder_routing(case=case)
    case.routing_note = routing.note
    case.save(update_fields=["routing_note", "updated_at"])
    decide_by = add_working_days(timezone.localdate(), settings.SNS_REMINDER_WORKING_DAYS)
    return [
        approval_request_create(
            case=case,
            route=route,
            decide_by=decide_by,
            remind=True,
            actor=actor,
            client=client,
            action="approval.budget_holder_asked",
        )
        for route in routing.routes
    ]


def director_approved_email(*, case: BusinessCase, approval: ApprovalRequest) -> None:
    """Tell the requester that the director approved and the budget holder is asked."""
    holder = selectors.case_budget_holder(case=case)
    email_queue(
        to=case.requester.email,
        template="director_approved",
        context={
            "case": emails.case_summary(emails.case_rows([case.pk])[case.pk]),
            "approval": emails.approval_summary(emails.approval_rows([approval.pk])[approval.pk]),
            "budget_holder": emails.person(holder),
            "home_url": absolute_url(reverse("home")),
        },
        related=case,
        dedupe_key=f"director-approved:{case.pk}",
    )


def yearly_cost_text() -> str:
    return f"£{settings.SNS_STANDALONE_PC_YEARLY_COST:,}"
