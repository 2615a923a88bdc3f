"""Sending a case again when who decides it has changed: its requester moved, its director
changed or left, a deputy's delegation ended. The case's routing is worked out afresh
(`case_routing`); approvers no longer in it lose their request (recorded, and told why their
link no longer works), and routed approvers without an open request get one.

Lock order, as everywhere in approvals: the business case first, then its approval requests.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from access_requests.errors import transition_check
from access_requests.models import BusinessCase
from audit.services import NewEvent, record_many
from core.client import Client
from core.working_days import add_working_days

from ..errors import NoApproverAvailable
from ..models import ApprovalRequest
from .closing import approvals_closed_emails
from .routing import Route, approval_request_create, case_routing

CLOSED_REROUTED = "rerouted"


@dataclass
class Rerouted:
    """What `case_reroute` changed: the requests it closed and those it created."""

    superseded: list[ApprovalRequest] = field(default_factory=list)
    created: list[ApprovalRequest] = field(default_factory=list)


def _who(route: Route, requester) -> str:
    """A routed approver as the closed link's page names them."""
    name = route.approver.display_name
    if route.because == ApprovalRequest.Reason.DIRECTOR:
        profile = getattr(requester, "profile", None)
        if profile is not None:
            return f"{name}, the director of {profile.business_unit.directorate.name}"
    if route.because == ApprovalRequest.Reason.DEPUTY and route.on_behalf_of is not None:
        return f"{name}, deputising for {route.on_behalf_of.display_name}"
    if route.because == ApprovalRequest.Reason.FALLBACK:
        return f"{name}, the fallback approver"
    return name


def closed_because_text(*, because: str, routes: list[Route], requester) -> str:
    """Why an approver's request closed, in a sentence for their link's page and email:
    `because` (what changed) and to whom the case went instead."""
    if not routes:
        return f"{because}, so this case no longer needs your decision."[:300]
    if len(routes) > 3:
        who = "the service's administrators"
    else:
        who = " and ".join(_who(route, requester) for route in routes)
    return f"{because}, so this case was sent to {who}."[:300]


def case_reroute(
    *, case: BusinessCase, actor, because: str, client: Client | None = None
) -> Rerouted:
    """Bring a submitted case's open approval requests in line with its routing now.

    `because` says what changed, e.g. "Dana Okafor left the department". An open request
    whose approver is no longer routed is superseded, with the reason kept on it
    (`closed_because`, shown by its link's page, which answers 410) and emailed to the
    approver; an escalation stays while its approver can sign in. Each routed approver
    without an open request is sent one (`approval_request_create`, action
    `approval.rerouted`). A case no longer submitted, or already routed as it should be,
    is left alone; a second call changes nothing.

    Raises NoApproverAvailable when nobody at all may decide the case (the caller's
    transaction rolls back).
    """
    rerouted = Rerouted()
    with transaction.atomic():
        locked = (
            BusinessCase.objects.select_for_update(of=("self",))
            .select_related("requester__profile__business_unit__directorate__organisation")
            .get(pk=case.pk)
        )
        if locked.status != BusinessCase.Status.SUBMITTED:
            return rerouted
        routing = case_routing(case=locked)
        if not routing.routes:
            raise NoApproverAvailable()
        routed_ids = {route.approver.pk for route in routing.routes}
        open_requests = list(
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("approver__profile", "on_behalf_of__profile")
            .filter(business_case=locked, status=ApprovalRequest.Status.OPEN)
            .order_by("pk")
        )
        stale = [
            approval
            for approval in open_requests
            if approval.approver_id not in routed_ids
            and not (
                approval.routed_because == ApprovalRequest.Reason.ESCALATION
                and approval.approver.is_active
            )
        ]
        holding = {approval.approver_id for approval in open_requests if approval not in stale}
        missing = [route for route in routing.routes if route.approver.pk not in holding]
        if not stale and not missing:
            return rerouted

        now = timezone.now()
        text = closed_because_text(
            because=because, routes=missing or routing.routes, requester=locked.requester
        )
        for approval in stale:
            transition_check(approval, ApprovalRequest.Status.SUPERSEDED)
            approval.status = ApprovalRequest.Status.SUPERSEDED
            approval.next_reminder_at = None
            approval.closed_because = text
            approval.updated_at = now
        ApprovalRequest.objects.bulk_update(
            stale, ["status", "next_reminder_at", "closed_because", "updated_at"]
        )
        rerouted.superseded = stale
        approvals_closed_emails(
            case=locked,
            approvals=stale,
            because=CLOSED_REROUTED,
            closed_at=now,
            closed_because=text,
        )
        locked.routing_note = routing.note
        locked.save(update_fields=["routing_note", "updated_at"])
        decide_by = add_working_days(timezone.localdate(), settings.SNS_REMINDER_WORKING_DAYS)
        rerouted.created = [
            approval_request_create(
                case=locked,
                route=route,
                decide_by=decide_by,
                remind=True,
                actor=actor,
                client=client,
                action="approval.rerouted",
            )
            for route in missing
        ]
        # Recorded last: the audit chain's head stays locked from here until commit.
        record_many(
            actor=actor,
            events=[
                NewEvent(
                    action="approval.superseded",
                    obj=locked,
                    changes={
                        "approval_request": approval.pk,
                        "approver": approval.approver.email,
                        "approval_status": [
                            ApprovalRequest.Status.OPEN,
                            ApprovalRequest.Status.SUPERSEDED,
                        ],
                        "because": text,
                    },
                    client=client,
                )
                for approval in stale
            ],
        )
    return rerouted
