"""Opening an emailed link, and the approver's decision: exactly one decision per case wins."""

import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from access_requests.errors import transition_check
from access_requests.models import BusinessCase
from access_requests.services.business_cases import business_case_decide
from access_requests.services.grants import grant_create_from_case
from audit.services import record
from core.client import Client
from core.links import absolute_url
from notifications.rendering import email_date
from notifications.services import email_queue

from .. import emails, selectors
from ..errors import ApprovalClosed, ApprovalLinkExpired, ApprovalLostAuthority, DecisionInvalid
from ..models import ApprovalRequest
from .budget_holder import (
    CostAgreement,
    budget_holder_request_send,
    cost_agreement_plan,
    director_approved_email,
)
from .links import page_url

VIA_LINK = "emailed link"
VIA_SIGNED_IN = "signed in"


def approval_opened(
    *, approval_request: ApprovalRequest, actor=None, client: Client | None = None
) -> None:
    """Someone (the approver, or a mail scanner) opened the link and saw the case.

    Records an audit event; changes no case or approval state. `first_opened_at` is set
    once as bookkeeping (a conditional UPDATE, no lock, nothing decided).
    """
    now = timezone.now()
    with transaction.atomic():
        ApprovalRequest.objects.filter(pk=approval_request.pk, first_opened_at__isnull=True).update(
            first_opened_at=now
        )
        record(
            actor=actor,
            action="approval.opened",
            obj=approval_request.business_case,
            changes={
                "approval_request": approval_request.pk,
                "approver": approval_request.approver.email,
            },
            client=client,
        )


def approval_lock_to_act(*, approval_request: ApprovalRequest, via: str):
    """Inside the caller's transaction: lock the case, then the request (approvals' lock
    order), and check the request may still be acted on: open, its link unexpired (by link),
    and its approver still holding the authority it was sent for. Returns (case, approval,
    now); raises ApprovalClosed, ApprovalLinkExpired or ApprovalLostAuthority."""
    case = (
        BusinessCase.objects.select_for_update(of=("self",))
        .select_related("requester__profile")
        .get(pk=approval_request.business_case_id)
    )
    approval = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("approver__profile", "on_behalf_of__profile")
        .get(pk=approval_request.pk)
    )
    why = selectors.approval_closed_reason(approval=approval, case=case)
    if why is not None:
        raise ApprovalClosed(approval, why)
    now = timezone.now()
    if via == VIA_LINK and approval.token_expires_at <= now:
        raise ApprovalLinkExpired(approval)
    # Read after the locks, as the directory stands now: a director replaced, or a
    # delegation ended, since the request was sent takes the decision away. A change
    # committing meanwhile orders itself after this one.
    authority = selectors.approval_authority(approval=approval, on=timezone.localdate(now))
    if not authority.ok:
        raise ApprovalLostAuthority(approval, authority)
    return case, approval, now


def approval_decide(
    *,
    approval_request: ApprovalRequest,
    decision: str,
    reason: str = "",
    end_date: datetime.date | None = None,
    actor,
    client: Client | None = None,
    via: str = VIA_LINK,
) -> ApprovalRequest:
    """The approver approves or rejects the case. Exactly one decision per case wins.

    Raises ApprovalClosed (decided by anyone, withdrawn, lapsed, superseded),
    ApprovalLinkExpired (through the emailed link only), ApprovalLostAuthority (the
    approver no longer holds the authority the request was sent for), DecisionInvalid.
    """
    reason = (reason or "").strip()
    if decision not in ApprovalRequest.Decision.values:
        raise DecisionInvalid("decision", "Select approve or reject")
    if decision == ApprovalRequest.Decision.REJECT and not reason:
        raise DecisionInvalid("reason", "Enter the reason for rejecting the case")
    if len(reason) > 2000:
        raise DecisionInvalid("reason", "Reason must be 2000 characters or fewer")

    with transaction.atomic():
        case, approval, now = approval_lock_to_act(approval_request=approval_request, via=via)

        approving = decision == ApprovalRequest.Decision.APPROVE
        if not approving or end_date == case.end_date:
            end_date = None
        if end_date is not None and not (case.start_date <= end_date < case.end_date):
            raise DecisionInvalid(
                "end_date",
                f"End date must be between {case.start_date:%-d %B %Y} and "
                f"{case.end_date:%-d %B %Y}",
            )
        transition_check(approval, ApprovalRequest.Status.DECIDED)

        approval.status = ApprovalRequest.Status.DECIDED
        approval.decision = decision
        approval.decision_reason = reason
        approval.decided_at = now
        approval.approved_end_date = end_date
        approval.next_reminder_at = None
        approval.save(
            update_fields=[
                "status",
                "decision",
                "decision_reason",
                "decided_at",
                "approved_end_date",
                "next_reminder_at",
                "updated_at",
            ]
        )
        superseded = list(
            ApprovalRequest.objects.filter(business_case=case, status=ApprovalRequest.Status.OPEN)
            .exclude(pk=approval.pk)
            .values_list("pk", flat=True)
        )
        ApprovalRequest.objects.filter(pk__in=superseded).update(
            status=ApprovalRequest.Status.SUPERSEDED, next_reminder_at=None, updated_at=now
        )
        # The approval that allows the access (the director's), and who agreed to its cost.
        director_approval, cost = approval, None
        if approval.stage == ApprovalRequest.Stage.BUDGET_HOLDER:
            director_approval = selectors.case_director_approval(case=case)
            end_date = director_approval.approved_end_date
            cost = CostAgreement(agreed_by=approval.approver)
        elif approving:
            cost = cost_agreement_plan(case=case, approver=approval.approver)
            if cost.note:
                approval.cost_note = cost.note
                approval.save(update_fields=["cost_note", "updated_at"])

        grant = None
        if cost is not None and cost.ask is not None:
            # Approved by the director: the case waits, still submitted, for its budget holder.
            budget_holder_request_send(case=case, actor=actor, client=client)
        else:
            business_case_decide(case=case, approved=approving, reason=reason, decided_at=now)
        if approving and case.status == BusinessCase.Status.APPROVED:
            grant = grant_create_from_case(
                case=case,
                approved_by=director_approval.approver,
                approved_at=now,
                end_date=end_date,
                on_behalf_of=director_approval.on_behalf_of,
                cost_agreed_by=cost.agreed_by if cost is not None else None,
                actor=actor,
            )
        record(
            actor=actor,
            action="approval.decided",
            obj=case,
            changes={
                "status": [BusinessCase.Status.SUBMITTED, case.status],
                "stage": approval.stage,
                "decision": decision,
                "decided_by": approval.approver.email,
                "on_behalf_of": approval.on_behalf_of.email if approval.on_behalf_of else None,
                "via": via,
                "reason": reason,
                "approved_end_date": end_date,
                "approval_request": approval.pk,
                "superseded": superseded,
                "cost_note": approval.cost_note or None,
            },
            client=client,
        )
        if case.status == BusinessCase.Status.SUBMITTED:
            director_approved_email(case=case, approval=approval)
        else:
            _decision_emails(
                case=case,
                approval=approval if not approving else director_approval,
                grant=grant,
                cost_agreed_by=cost.agreed_by if cost is not None else None,
            )
    return approval


def _decision_emails(
    *, case: BusinessCase, approval: ApprovalRequest, grant, cost_agreed_by=None
) -> None:
    """The outcome to the requester; to ICT, an approved case's grant to provision; to the
    director, a decision their deputy made for them."""
    context = {
        "case": emails.case_summary(emails.case_rows([case.pk])[case.pk]),
        "approval": emails.approval_summary(emails.approval_rows([approval.pk])[approval.pk]),
        "grant": {
            "start_date": email_date(grant.start_date),
            "end_date": email_date(grant.end_date),
            "sites": [{"name": site.name} for site in grant.sites.order_by("name")],
        }
        if grant is not None
        else None,
        "end_date": email_date(approval.approved_end_date or case.end_date),
        "home_url": absolute_url(reverse("home")),
        "cost_agreed_by": emails.person(cost_agreed_by) if cost_agreed_by is not None else None,
    }
    email_queue(
        to=case.requester.email,
        template="decision_outcome",
        context=context,
        related=case,
        dedupe_key=f"decision-outcome:{case.pk}",
    )
    if grant is not None:
        queue_url = page_url("access_requests:provisioning-queue")
        for person in selectors.provisioning_people():
            email_queue(
                to=person.email,
                template="decision_provisioning",
                context={**context, "queue_url": queue_url},
                related=grant,
                dedupe_key=f"decision-provisioning:{case.pk}:{person.pk}",
            )
    if approval.on_behalf_of is not None:
        email_queue(
            to=approval.on_behalf_of.email,
            template="decision_by_deputy",
            context=context,
            related=case,
            dedupe_key=f"decision-by-deputy:{case.pk}",
        )
