"""Open approval requests whose approver lost the authority they were sent for (a director
replaced, a delegation ended, a fallback approver replaced, an admin no longer admin): each
is superseded with the reason recorded, and a case left with nobody to decide it is routed
afresh, so it never waits on someone who can no longer decide it.

The reminder sweep calls this before sending a fresh link, and the delegation end sweep
(`delegations_end_due`, on beat) for a deputy's requests the day after the delegation's
last day.
"""

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from access_requests.models import BusinessCase
from audit.services import SystemActor, record
from core.client import Client

from .. import selectors
from ..errors import NoApproverAvailable
from ..models import ApprovalRequest, Delegation
from .routing import approval_request_send

logger = logging.getLogger(__name__)

DELEGATION_END_SWEEP = SystemActor("delegations_end_due")


def approvals_supersede_lost_authority(
    *, case: BusinessCase, actor, client: Client | None = None, on: datetime.date | None = None
) -> list[int]:
    """Supersede the open requests of a case (locked by the caller) whose approver no
    longer holds the authority they were sent for, recording each with its reason; if the
    case, still waiting, then has no open request, route it afresh
    (`approval_request_send`). Returns the ids superseded.

    When nobody at all could decide the case now, it keeps no open request and the trail
    says so (`approval.no_approver`); it lapses in time like any undecided case."""
    on = on or timezone.localdate()
    now = timezone.now()
    open_requests = list(
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("approver")
        .filter(business_case=case, status=ApprovalRequest.Status.OPEN)
        .order_by("pk")
    )
    superseded = []
    for approval in open_requests:
        authority = selectors.approval_authority(approval=approval, on=on)
        if authority.ok:
            continue
        ApprovalRequest.objects.filter(pk=approval.pk).update(
            status=ApprovalRequest.Status.SUPERSEDED, next_reminder_at=None, updated_at=now
        )
        superseded.append(approval.pk)
        record(
            actor=actor,
            action="approval.authority_lost",
            obj=case,
            changes={
                "approval_request": approval.pk,
                "approver": approval.approver.email,
                "routed_because": approval.routed_because,
                "status": [ApprovalRequest.Status.OPEN, ApprovalRequest.Status.SUPERSEDED],
                "reason": authority.reason,
            },
            client=client,
        )
    if (
        superseded
        and case.status == BusinessCase.Status.SUBMITTED
        and len(superseded) == len(open_requests)
    ):
        try:
            with transaction.atomic():
                approval_request_send(case=case, actor=actor, client=client)
        except NoApproverAvailable:
            record(
                actor=actor,
                action="approval.no_approver",
                obj=case,
                changes={"superseded": superseded},
                client=client,
            )
    return superseded


def delegations_end_due(*, today: datetime.date | None = None) -> int:
    """The delegation end sweep (beat): every delegation past its last day (or cancelled)
    that still has open requests through it has them superseded, one delegation per
    transaction (`delegation_end`). Returns how many requests were closed; running it again
    closes nothing more."""
    today = today or timezone.localdate()
    due = (
        ApprovalRequest.objects.filter(
            status=ApprovalRequest.Status.OPEN,
            routed_because=ApprovalRequest.Reason.DEPUTY,
            delegation__ends_on__lt=today,
        )
        .values_list("delegation_id", flat=True)
        .distinct()
        .order_by("delegation_id")
    )
    closed = 0
    for delegation_id in list(due):
        try:
            closed += len(delegation_end(delegation_id=delegation_id, today=today))
        except Exception:
            logger.exception("Ending delegation %s failed", delegation_id)
    return closed


def delegation_end(*, delegation_id: int, today: datetime.date | None = None) -> list[int]:
    """A delegation past its last day: the deputy's open requests through it are
    superseded (a case left with nobody is routed afresh), recorded as `delegation.ended`
    with the requests closed. Nothing happens before the day after `ends_on`, or when
    nothing is open. Returns the ids closed."""
    today = today or timezone.localdate()
    with transaction.atomic():
        delegation = (
            Delegation.objects.select_for_update()
            .select_related("deputy")
            .filter(pk=delegation_id, ends_on__lt=today)
            .first()
        )
        if delegation is None:
            return []
        case_ids = list(
            ApprovalRequest.objects.filter(
                delegation=delegation, status=ApprovalRequest.Status.OPEN
            )
            .values_list("business_case_id", flat=True)
            .distinct()
            .order_by("business_case_id")
        )
        closed = []
        for case_id in case_ids:
            case = (
                BusinessCase.objects.select_for_update(of=("self",))
                .select_related("requester__profile__business_unit__directorate__organisation")
                .get(pk=case_id)
            )
            closed += approvals_supersede_lost_authority(
                case=case, actor=DELEGATION_END_SWEEP, on=today
            )
        if closed:
            record(
                actor=DELEGATION_END_SWEEP,
                action="delegation.ended",
                obj=delegation,
                changes={
                    "ends_on": delegation.ends_on,
                    "deputy": delegation.deputy.email,
                    "approval_requests_closed": closed,
                },
            )
    return closed
