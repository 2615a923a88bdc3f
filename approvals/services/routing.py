"""Who decides a submitted case, and sending it to them: one approval request per approver,
each with its emailed link.

Lock order, everywhere in approvals: the business case first, then its approval requests.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from access_requests.errors import TransitionNotAllowed
from access_requests.models import BusinessCase
from access_requests.services.business_cases import business_case_submit
from audit.services import record
from core.client import Client
from core.working_days import add_working_days, add_working_days_at
from notifications.services import email_queue
from people.models import Role

from .. import emails, selectors
from ..errors import NoApproverAvailable
from ..models import ApprovalRequest, Delegation
from .acknowledgement import case_sent_acknowledgement_queue
from .links import EmailLinks, token_issue

User = get_user_model()


@dataclass
class Route:
    approver: object
    because: str
    delegation: Delegation | None = None
    on_behalf_of: object | None = None
    stage: str = ApprovalRequest.Stage.DIRECTOR


@dataclass
class Routing:
    routes: list[Route] = field(default_factory=list)
    note: str = ""


def fallback_approvers(*, organisation, exclude_ids: set[int]) -> tuple[list, str]:
    """The organisation's fallback approver, or else every active admin; and who they are,
    in words for the routing note."""
    fallback = organisation.fallback_approver if organisation is not None else None
    if fallback is not None and fallback.is_active and fallback.pk not in exclude_ids:
        return [fallback], f"{fallback.display_name}, the fallback approver for {organisation.name}"
    admins = list(
        User.objects.filter(is_active=True, groups__name=Role.ADMIN)
        .exclude(pk__in=exclude_ids)
        .select_related("profile")
        .distinct()
        .order_by("pk")
    )
    return admins, "the service's administrators"


def case_routing(*, case: BusinessCase, on: datetime.date | None = None) -> Routing:
    """Who decides this case and why. Never the requester. Once the director approved an
    active-tier case, who agrees to its cost (`budget_holder_routing`)."""
    on = on or timezone.localdate()
    if selectors.case_director_approval(case=case) is not None:
        return budget_holder_routing(case=case, on=on)
    requester = case.requester
    profile = getattr(requester, "profile", None)
    directorate = profile.business_unit.directorate if profile is not None else None
    organisation = directorate.organisation if directorate is not None else None
    director = directorate.director if directorate is not None else None

    routing = Routing()
    if director is not None and director.is_active and director.pk != requester.pk:
        routing.routes.append(Route(director, ApprovalRequest.Reason.DIRECTOR))
        routing.note = f"Sent to {director.display_name}, director of {directorate.name}."
    else:
        if directorate is None:
            why = "You are not in a directorate in the staff directory"
        elif director is None or not director.is_active:
            why = f"{directorate.name} has no director in the staff directory"
        else:
            why = (
                f"You are the director of {directorate.name} and nobody may approve their own case"
            )
        approvers, who = fallback_approvers(organisation=organisation, exclude_ids={requester.pk})
        if not approvers:
            raise NoApproverAvailable()
        routing.routes = [Route(user, ApprovalRequest.Reason.FALLBACK) for user in approvers]
        routing.note = f"{why}, so it was sent to {who}."

    # A named approver's deputies get the case too while their delegation is in force, if
    # it lets them decide cases: a deputy named by a budget holder agrees to costs only,
    # even once that budget holder leads a directorate.
    if len(routing.routes) == 1:
        principal = routing.routes[0].approver
        for delegation in selectors.delegations_active(
            director=principal, on=on, deciding_cases=True
        ):
            deputy = delegation.deputy
            if not deputy.is_active or deputy.pk == requester.pk:
                continue
            if any(route.approver.pk == deputy.pk for route in routing.routes):
                continue
            routing.routes.append(
                Route(deputy, ApprovalRequest.Reason.DEPUTY, delegation, principal)
            )
            routing.note += (
                f" Also sent to {deputy.display_name}, deputising for "
                f"{principal.display_name} until {delegation.ends_on:%-d %B %Y}."
            )
    routing.note = routing.note[:300]
    return routing


def budget_holder_routing(*, case: BusinessCase, on: datetime.date | None = None) -> Routing:
    """Who agrees to the cost of a case its director approved: the paying unit's budget
    holder (`selectors.case_budget_holder`) and their deputies in force; if the budget
    holder can no longer sign in, the fallback approver, or else every admin."""
    holder = selectors.case_budget_holder(case=case)
    unit = case.paying_business_unit
    stage = ApprovalRequest.Stage.BUDGET_HOLDER
    if holder is not None and holder.is_active and holder.pk != case.requester_id:
        routing = Routing(
            routes=[Route(holder, ApprovalRequest.Reason.BUDGET_HOLDER, stage=stage)],
            note=f"Sent to {holder.display_name}, budget holder for {unit.name}, to agree "
            "to the cost.",
        )
        # The budget holder's deputies get it too while their delegation is in force.
        for delegation in selectors.delegations_active(
            director=holder, on=on or timezone.localdate()
        ):
            deputy = delegation.deputy
            if not deputy.is_active or deputy.pk == case.requester_id:
                continue
            routing.routes.append(
                Route(deputy, ApprovalRequest.Reason.DEPUTY, delegation, holder, stage=stage)
            )
            routing.note += (
                f" Also sent to {deputy.display_name}, deputising for "
                f"{holder.display_name} until {delegation.ends_on:%-d %B %Y}."
            )
        routing.note = routing.note[:300]
        return routing
    profile = getattr(case.requester, "profile", None)
    organisation = profile.business_unit.directorate.organisation if profile else None
    approvers, who = fallback_approvers(organisation=organisation, exclude_ids={case.requester_id})
    if not approvers:
        raise NoApproverAvailable()
    return Routing(
        routes=[Route(user, ApprovalRequest.Reason.FALLBACK, stage=stage) for user in approvers],
        note=f"{unit.name} has no budget holder who can sign in, so the cost was sent to {who}."[
            :300
        ],
    )


def approval_request_create(
    *,
    case: BusinessCase,
    route: Route,
    decide_by: datetime.date,
    remind: bool,
    actor,
    client: Client | None,
    action: str,
    escalated_from: ApprovalRequest | None = None,
    undeliverable: bool = False,
    sent_again: dict | None = None,
) -> ApprovalRequest:
    """One approval request for a case the caller has locked: the row, its audit event
    (`action`) and the email with its link to the approver (`sent_again`: the question
    they asked, when the case comes back to them with more information)."""
    token, digest, expires = token_issue()
    now = timezone.now()
    approval = ApprovalRequest.objects.create(
        business_case=case,
        approver=route.approver,
        routed_because=route.because,
        stage=route.stage,
        delegation=route.delegation,
        on_behalf_of=route.on_behalf_of,
        token_hash=digest,
        token_expires_at=expires,
        decide_by=decide_by,
        next_reminder_at=(
            add_working_days_at(now, settings.SNS_REMINDER_WORKING_DAYS) if remind else None
        ),
    )
    changes = {
        "approval_request": approval.pk,
        "approver": route.approver.email,
        "routed_because": route.because,
        "stage": route.stage,
        "on_behalf_of": route.on_behalf_of.email if route.on_behalf_of else None,
        "decide_by": decide_by,
        "link_expires_at": expires,
    }
    if escalated_from is not None:
        changes["escalated_from"] = escalated_from.approver.email
        if undeliverable:
            changes["escalated_because"] = "email undeliverable"
    record(actor=actor, action=action, obj=case, changes=changes, client=client)
    links = EmailLinks.resolve()
    for_budget_holder = route.stage == ApprovalRequest.Stage.BUDGET_HOLDER
    email_queue(
        to=route.approver.email,
        template="budget_holder_request" if for_budget_holder else "approval_request",
        context=emails.approval_email_context(
            approval=emails.approval_rows([approval.pk])[approval.pk],
            case=emails.case_rows([case.pk])[case.pk],
            identities=emails.identity_rows([case.pk]).get(case.pk, []),
            cases_to_decide_url=links.cases_to_decide,
            escalated_from={
                "approver": emails.person(escalated_from.approver),
                "reminders_sent": escalated_from.reminders_sent,
                # Escalated because their email could not be delivered, not for no answer.
                "undeliverable": undeliverable,
            }
            if escalated_from is not None
            else None,
            yearly_cost=f"£{settings.SNS_STANDALONE_PC_YEARLY_COST:,}",
            sent_again=sent_again,
        ),
        related=approval,
        dedupe_key=f"approval-request:{approval.pk}",
        secrets={"link": links.decide(token)},
    )
    return approval


def approval_request_send(
    *, case: BusinessCase, actor, client: Client | None = None
) -> list[ApprovalRequest]:
    """Route a submitted case: one approval request (with its emailed link) per approver,
    and the case's routing note saying why. Runs inside `case_submit`'s transaction."""
    with transaction.atomic():
        locked = (
            BusinessCase.objects.select_for_update(of=("self",))
            .select_related("requester__profile__business_unit__directorate__organisation")
            .get(pk=case.pk)
        )
        if locked.status != BusinessCase.Status.SUBMITTED:
            raise TransitionNotAllowed(locked, BusinessCase.Status.SUBMITTED)
        routing = case_routing(case=locked)
        locked.routing_note = routing.note
        locked.save(update_fields=["routing_note", "updated_at"])
        decide_by = add_working_days(timezone.localdate(), settings.SNS_REMINDER_WORKING_DAYS)
        return [
            approval_request_create(
                case=locked,
                route=route,
                decide_by=decide_by,
                remind=True,
                actor=actor,
                client=client,
                action="approval.sent",
            )
            for route in routing.routes
        ]


def case_submit(*, case: BusinessCase, actor, client: Client | None = None) -> BusinessCase:
    """ "Accept and send": in one transaction the case becomes submitted
    (`business_case_submit`), is routed (`approval_request_send`) and the requester is sent
    an acknowledgement.

    Raises TransitionNotAllowed (already sent), BusinessCaseIncomplete, NoApproverAvailable.
    """
    with transaction.atomic():
        locked = BusinessCase.objects.select_for_update().get(pk=case.pk)
        submitted = business_case_submit(case=locked, actor=actor, client=client)
        approvals = approval_request_send(case=submitted, actor=actor, client=client)
        case_sent_acknowledgement_queue(case=submitted, approvals=approvals)
        submitted.refresh_from_db()
    return submitted
