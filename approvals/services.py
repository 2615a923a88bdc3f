"""Routing a submitted case to its approver, deciding it, reminders, escalation and lapse.

Lock order, everywhere: the business case first, then its approval requests. The sweeps
take both with `skip_locked`, so a sweep never waits behind a decision (or another sweep).
"""

import datetime
import logging
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.base import ModelState
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from access_requests.errors import TransitionNotAllowed, transition_check
from access_requests.models import TIER_LABELS, AccessTier, BusinessCase, SiteIdentity
from access_requests.services import business_cases as case_services
from access_requests.services.grants import grant_create_from_case
from audit.services import NewEvent, SystemActor, record, record_many
from core.client import Client
from core.links import absolute_url
from core.sweeping import after_keyset, batches_handle
from core.working_days import add_working_days, add_working_days_at
from notifications.rendering import email_date
from notifications.services import Outgoing, email_queue, email_queue_many, email_sends_batched
from people.models import Role, display_name_of

from . import selectors
from .errors import (
    ApprovalClosed,
    ApprovalLinkExpired,
    DecisionInvalid,
    DelegationInvalid,
    NoApproverAvailable,
)
from .models import ApprovalReminder, ApprovalRequest, Delegation

User = get_user_model()
logger = logging.getLogger(__name__)

# Reminders are written this many at a time, one transaction each (see `approval_remind_due`).
REMIND_BATCH_SIZE = 250
# Case ids the lapse sweep reads at a time (each case then lapses in its own transaction).
LAPSE_BATCH_SIZE = 500

REMINDER_SWEEP = SystemActor("approval_remind_due")
LAPSE_SWEEP = SystemActor("case_lapse_due")

VIA_LINK = "emailed link"
VIA_SIGNED_IN = "signed in"


# --- Links -----------------------------------------------------------------------------------


def _absolute_url_of(*names: str) -> str:
    """The first of these pages that exists (another app may not have built it yet)."""
    for name in names:
        try:
            return absolute_url(reverse(name))
        except NoReverseMatch:
            continue
    return absolute_url(reverse("home"))


def approval_link(token: str) -> str:
    return absolute_url(reverse("approvals:decide", args=[token]))


def _token_issue(now: datetime.datetime | None = None) -> tuple[str, str, datetime.datetime]:
    """A new random secret, the hash that is stored, and when the link stops working."""
    token = secrets.token_urlsafe(32)
    now = now or timezone.now()
    expires = now + datetime.timedelta(days=settings.SNS_APPROVAL_TOKEN_DAYS)
    return token, selectors.token_digest(token), expires


# --- Routing ---------------------------------------------------------------------------------


@dataclass
class Route:
    approver: object
    because: str
    delegation: Delegation | None = None
    on_behalf_of: object | None = None


@dataclass
class Routing:
    routes: list[Route] = field(default_factory=list)
    note: str = ""


def _fallback_approvers(*, organisation, exclude_ids: set[int]) -> tuple[list, str]:
    """The organisation's fallback approver, or else every active admin."""
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
    """Who decides this case and why. Never the requester."""
    on = on or timezone.localdate()
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
        approvers, who = _fallback_approvers(organisation=organisation, exclude_ids={requester.pk})
        if not approvers:
            raise NoApproverAvailable()
        routing.routes = [Route(user, ApprovalRequest.Reason.FALLBACK) for user in approvers]
        routing.note = f"{why}, so it was sent to {who}."

    # A named approver's deputies get the case too while their delegation is in force.
    if len(routing.routes) == 1:
        principal = routing.routes[0].approver
        for delegation in selectors.delegations_active(director=principal, on=on):
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


# --- What the emails show (plain values: the outbox row stores them, see notifications) -----


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"display_name": user.display_name, "email": user.email}


def _case_for_email(case: BusinessCase) -> dict:
    """The case as the approval and decision emails show it (the requester's profile and the
    paying unit joined by the caller)."""
    unit = case.paying_business_unit
    return {
        "reference": case.reference,
        "requester": _person(case.requester),
        "submitted_at": email_date(case.submitted_at),
        "routing_note": case.routing_note,
        "tier_display": case.get_tier_display(),
        "is_active_tier": case.is_active_tier,
        "paying_business_unit": {"name": unit.name, "cost_centre": unit.cost_centre}
        if unit is not None
        else None,
        "budget_holder_name": case.budget_holder_name,
        "pc_choice_display": case.get_pc_choice_display(),
        "pc_asset_tag": case.pc_asset_tag,
        "start_date": email_date(case.start_date),
        "end_date": email_date(case.end_date),
        "purpose": case.purpose,
        "audience": case.audience,
        "integration": case.integration,
    }


def _profile_for_email(user) -> dict | None:
    profile = getattr(user, "profile", None)
    if profile is None:
        return None
    unit = profile.business_unit
    return {
        "job_title": profile.job_title,
        "business_unit": {"name": unit.name, "directorate": {"name": unit.directorate.name}},
    }


def _identity_for_email(identity: SiteIdentity) -> dict:
    return {
        "site": {"name": identity.site.name},
        "display_name": identity.display_name,
        "uses_pseudonym": identity.uses_pseudonym,
        "pseudonym_reason": identity.pseudonym_reason,
        "identifies_as_official": identity.identifies_as_official,
        "not_official_reason": identity.not_official_reason,
    }


def _approval_for_email(approval: ApprovalRequest) -> dict:
    return {
        "approver": _person(approval.approver),
        "on_behalf_of": _person(approval.on_behalf_of),
        "routed_because": approval.routed_because,
        "decide_by": email_date(approval.decide_by),
        "token_expires_at": email_date(approval.token_expires_at),
        "decision": approval.decision,
        "decision_reason": approval.decision_reason,
        "decided_at": email_date(approval.decided_at),
        "approved_end_date": email_date(approval.approved_end_date),
    }


@dataclass(frozen=True)
class _EmailLinks:
    """The addresses the approval emails link to, resolved once for a batch of emails."""

    decide_head: str
    decide_tail: str
    cases_to_decide: str

    @classmethod
    def resolve(cls) -> "_EmailLinks":
        marker = "TOKEN-MARKER"
        head, tail = approval_link(marker).split(marker)
        return cls(head, tail, absolute_url(reverse("approvals:case-list")))

    def decide(self, token: str) -> str:
        return f"{self.decide_head}{token}{self.decide_tail}"


def _approval_email_context(
    *,
    approval: ApprovalRequest,
    token: str,
    case: BusinessCase | None = None,
    identities: list[SiteIdentity] | None = None,
    links: _EmailLinks | None = None,
    **extra,
) -> dict:
    """What the approval emails (the request and its reminders) show. `case` may be passed
    when the caller has it loaded with the requester's profile and the paying unit,
    `identities` (ordered by site name) when it has read them and `links` when it has
    resolved them (the reminder sweep)."""
    links = links or _EmailLinks.resolve()
    if case is None:
        case = selectors.case_for_decision(case_id=approval.business_case_id)
        identities = list(case.site_identities.all())
    elif identities is None:
        identities = list(case.site_identities.select_related("site").order_by("site__name"))
    return {
        "approval": _approval_for_email(approval),
        "case": _case_for_email(case),
        "requester": _person(case.requester),
        "profile": _profile_for_email(case.requester),
        "identities": [_identity_for_email(identity) for identity in identities],
        "link": links.decide(token),
        "cases_to_decide_url": links.cases_to_decide,
        **extra,
    }


def _approval_request_create(
    *,
    case: BusinessCase,
    route: Route,
    decide_by: datetime.date,
    remind: bool,
    actor,
    client: Client | None,
    action: str,
    escalated_from: ApprovalRequest | None = None,
) -> ApprovalRequest:
    token, digest, expires = _token_issue()
    now = timezone.now()
    approval = ApprovalRequest.objects.create(
        business_case=case,
        approver=route.approver,
        routed_because=route.because,
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
        "on_behalf_of": route.on_behalf_of.email if route.on_behalf_of else None,
        "decide_by": decide_by,
        "link_expires_at": expires,
    }
    if escalated_from is not None:
        changes["escalated_from"] = escalated_from.approver.email
    record(actor=actor, action=action, obj=case, changes=changes, client=client)
    email_queue(
        to=route.approver.email,
        template="approval_request",
        context=_approval_email_context(
            approval=approval,
            token=token,
            escalated_from={
                "approver": _person(escalated_from.approver),
                "reminders_sent": escalated_from.reminders_sent,
            }
            if escalated_from is not None
            else None,
        ),
        related=approval,
        dedupe_key=f"approval-request:{approval.pk}",
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
            _approval_request_create(
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
    """ "Accept and send": in one transaction the case becomes submitted and is routed.

    Raises TransitionNotAllowed (already sent), BusinessCaseIncomplete, NoApproverAvailable.
    """
    with transaction.atomic():
        submitted = case_services.business_case_submit(case=case, actor=actor, client=client)
        approval_request_send(case=submitted, actor=actor, client=client)
        submitted.refresh_from_db()
    return submitted


# --- Opening the link and deciding ----------------------------------------------------------


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


def _provisioning_people():
    """Active people who may provision grants (ICT), through a group or directly."""
    permission = Permission.objects.get(
        content_type__app_label="access_requests", codename="provision_accessgrant"
    )
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__permissions=permission) | Q(user_permissions=permission))
        .distinct()
        .order_by("pk")
    )


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
    ApprovalLinkExpired (through the emailed link only), DecisionInvalid.
    """
    reason = (reason or "").strip()
    if decision not in ApprovalRequest.Decision.values:
        raise DecisionInvalid("decision", "Select approve or reject")
    if decision == ApprovalRequest.Decision.REJECT and not reason:
        raise DecisionInvalid("reason", "Enter the reason for rejecting the case")
    if len(reason) > 2000:
        raise DecisionInvalid("reason", "Reason must be 2000 characters or fewer")

    with transaction.atomic():
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

        approving = decision == ApprovalRequest.Decision.APPROVE
        if not approving or end_date == case.end_date:
            end_date = None
        if end_date is not None and not (case.start_date <= end_date < case.end_date):
            raise DecisionInvalid(
                "end_date",
                f"End date must be between {case.start_date:%-d %B %Y} and "
                f"{case.end_date:%-d %B %Y}",
            )
        to_status = BusinessCase.Status.APPROVED if approving else BusinessCase.Status.REJECTED
        transition_check(approval, ApprovalRequest.Status.DECIDED)
        transition_check(case, to_status)

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
        case.status = to_status
        case.decided_at = now
        case.decision_reason = reason
        case.save(update_fields=["status", "decided_at", "decision_reason", "updated_at"])

        grant = None
        if approving:
            grant = grant_create_from_case(
                case=case,
                approved_by=approval.approver,
                approved_at=now,
                end_date=end_date,
                on_behalf_of=approval.on_behalf_of,
                actor=actor,
            )
        record(
            actor=actor,
            action="approval.decided",
            obj=case,
            changes={
                "status": [BusinessCase.Status.SUBMITTED, to_status],
                "decision": decision,
                "decided_by": approval.approver.email,
                "on_behalf_of": approval.on_behalf_of.email if approval.on_behalf_of else None,
                "via": via,
                "reason": reason,
                "approved_end_date": end_date,
                "approval_request": approval.pk,
                "superseded": superseded,
            },
            client=client,
        )
        _decision_emails(case=case, approval=approval, grant=grant)
    return approval


def _decision_emails(*, case: BusinessCase, approval: ApprovalRequest, grant) -> None:
    context = {
        "case": _case_for_email(case),
        "approval": _approval_for_email(approval),
        "grant": {
            "start_date": email_date(grant.start_date),
            "end_date": email_date(grant.end_date),
            "sites": [{"name": site.name} for site in grant.sites.order_by("name")],
        }
        if grant is not None
        else None,
        "end_date": email_date(approval.approved_end_date or case.end_date),
        "home_url": absolute_url(reverse("home")),
    }
    email_queue(
        to=case.requester.email,
        template="decision_outcome",
        context=context,
        related=case,
        dedupe_key=f"decision-outcome:{case.pk}",
    )
    if grant is not None:
        queue_url = _absolute_url_of("access_requests:provisioning-queue")
        for person in _provisioning_people():
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


# --- A case closed before its approver decided --------------------------------------------

CLOSED_WITHDRAWN = "withdrawn"
CLOSED_LAPSED = "lapsed"


def _approvals_closed_emails(
    *, case: BusinessCase, approvals: list[ApprovalRequest], because: str, closed_at
) -> None:
    """Each approver whose request was open still holds an emailed link: tell them the case
    (withdrawn by the requester, or lapsed undecided) no longer needs their decision and
    that the link no longer works. One email per request and reason (its dedupe key), all
    written in one INSERT; nothing when no request was open."""
    summary = {
        "reference": case.reference,
        "requester": _person(case.requester),
        "submitted_at": email_date(case.submitted_at),
    }
    email_queue_many(
        [
            Outgoing(
                template="approval_closed",
                context={
                    "approval": {
                        "approver": _person(approval.approver),
                        "on_behalf_of": _person(approval.on_behalf_of),
                    },
                    "case": summary,
                    "because": because,
                    "closed_on": email_date(closed_at),
                },
                to=[(approval.approver.email, f"approval-closed:{approval.pk}:{because}")],
                related=approval,
            )
            for approval in approvals
        ]
    )


def _approvals_supersede_for_withdrawal(
    *, case: BusinessCase, approvals: list[ApprovalRequest], actor, client: Client | None
) -> None:
    """Close these open requests of a withdrawn case (both locked by the caller), record
    each and tell each approver."""
    if not approvals:
        return
    for approval in approvals:
        transition_check(approval, ApprovalRequest.Status.SUPERSEDED)
    ApprovalRequest.objects.filter(pk__in=[approval.pk for approval in approvals]).update(
        status=ApprovalRequest.Status.SUPERSEDED, next_reminder_at=None, updated_at=timezone.now()
    )
    for approval in approvals:
        approval.status = ApprovalRequest.Status.SUPERSEDED
        approval.next_reminder_at = None
    _approvals_closed_emails(
        case=case, approvals=approvals, because=CLOSED_WITHDRAWN, closed_at=case.withdrawn_at
    )
    # Recorded last: the audit chain's head stays locked from here until commit.
    record_many(
        actor=actor,
        events=[
            NewEvent(
                action="approval.superseded",
                obj=case,
                changes={
                    "approval_request": approval.pk,
                    "approver": approval.approver.email,
                    "approval_status": [
                        ApprovalRequest.Status.OPEN,
                        ApprovalRequest.Status.SUPERSEDED,
                    ],
                    "because": f"the case is {case.status}",
                },
                client=client,
            )
            for approval in approvals
        ],
    )


def approval_requests_withdraw(
    *, case: BusinessCase, actor, client: Client | None = None
) -> list[ApprovalRequest]:
    """The requester withdrew the case: its open approval requests close at once and their
    approvers are told it no longer needs a decision. Runs inside `business_case_withdraw`'s
    transaction (through the `business_case_withdrawn` signal, see `receivers`); a second
    call finds nothing open and does nothing. Returns the requests it closed.

    Raises TransitionNotAllowed if the case is not withdrawn.
    """
    with transaction.atomic():
        locked = (
            BusinessCase.objects.select_for_update(of=("self",))
            .select_related("requester__profile")
            .get(pk=case.pk)
        )
        if locked.status != BusinessCase.Status.WITHDRAWN:
            raise TransitionNotAllowed(locked, BusinessCase.Status.WITHDRAWN)
        approvals = list(
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("approver__profile", "on_behalf_of__profile")
            .filter(business_case=locked, status=ApprovalRequest.Status.OPEN)
            .order_by("pk")
        )
        _approvals_supersede_for_withdrawal(
            case=locked, approvals=approvals, actor=actor, client=client
        )
    return approvals


# --- Reminders, escalation, lapse (Celery beat) ---------------------------------------------


def approval_remind_due() -> int:
    """Send the reminders (and escalations) that are due. Returns how many were handled.

    Due rows are walked through the partial index on open requests' (`next_reminder_at`,
    id), oldest first, by keyset, `REMIND_BATCH_SIZE` at a time, each batch in one
    transaction (`_approvals_remind`; two batches at a time on PostgreSQL, see
    `batches_handle`): its cases and requests are taken with `skip_locked`, so two sweeps
    running together never remind twice (and the unique ApprovalReminder rows and the
    emails' dedupe keys make sure of it even after a crash and retry). What a batch leaves
    to do one at a time (a withdrawn case's request to close, an escalation after the last
    reminder) is done by `approval_remind_one`, each in its own transaction, and so is
    every item of a batch that failed, so that one bad item holds back nobody else. One run
    handles everything due when it started (a backlog too, not a few hundred per run).
    """
    now = timezone.now()

    def batches():
        after = None
        while due := _approvals_due(now=now, after=after, limit=REMIND_BATCH_SIZE):
            after = due[-1][:2]
            yield [(approval_id, case_id) for _, approval_id, case_id in due]

    return sum(batches_handle(batches(), _remind_batch, each_thread_within=email_sends_batched))


def _approvals_due(*, now, after: tuple | None, limit: int) -> list[tuple]:
    """(next_reminder_at, id, case id) of open requests whose reminder is due, in that
    order, after the keyset `after` = (next_reminder_at, id): one row comparison, so that
    PostgreSQL starts its scan of `approval_reminder_due_idx` there."""
    query = ApprovalRequest.objects.filter(
        status=ApprovalRequest.Status.OPEN, next_reminder_at__lte=now
    )
    if after is not None:
        query = query.filter(after_keyset(("next_reminder_at", "id"), after))
    return list(
        query.order_by("next_reminder_at", "id").values_list(
            "next_reminder_at", "pk", "business_case_id"
        )[:limit]
    )


def _remind_batch(batch: list[tuple[int, int]]) -> int:
    """Remind one batch of (approval request id, case id) pairs; returns how many were
    handled. A batch that fails is retried one pair at a time."""
    try:
        handled, one_at_a_time = _approvals_remind(items=batch)
    except Exception:
        logger.exception("Reminding a batch of %s failed; one at a time", len(batch))
        handled, one_at_a_time = 0, batch
    for approval_id, case_id in one_at_a_time:
        try:
            handled += approval_remind_one(approval_id=approval_id, case_id=case_id)
        except Exception:
            logger.exception("Reminder for approval request %s failed", approval_id)
    return handled


def _approvals_remind(*, items: list[tuple[int, int]]) -> tuple[int, list[tuple[int, int]]]:
    """Send the next reminder of each of these (approval request id, case id) pairs that is
    still due, in one transaction: the cases, then their requests, are locked with
    `skip_locked` (what another sweep or a decision holds is left alone), each request's
    state is checked, one ApprovalReminder row per reminder is inserted (ON CONFLICT DO
    NOTHING: one that exists went out already), the requests get their fresh links in one
    UPDATE, the emails go to the outbox in one INSERT and the events to the audit trail in
    one append, recorded last.

    Returns how many were reminded, and the pairs that need more than a reminder (a case no
    longer waiting, a request that had its last reminder) for `approval_remind_one`."""
    now = timezone.now()
    with transaction.atomic():
        # The locks take the rows by primary key only and the state is checked here, on the
        # locked rows: with the due condition in SQL, stale statistics made PostgreSQL read
        # every due request (100,000) for each batch.
        case_status = dict(
            BusinessCase.objects.select_for_update(skip_locked=True)
            .filter(pk__in={case_id for _, case_id in items})
            .order_by("pk")
            .values_list("pk", "status")
        )
        locked = (
            ApprovalRequest.objects.select_for_update(skip_locked=True)
            .filter(
                pk__in=[approval_id for approval_id, case_id in items if case_id in case_status]
            )
            .order_by("pk")
            .values_list("pk", "business_case_id", "status", "next_reminder_at", "reminders_sent")
        )
        to_remind, one_at_a_time = [], []
        for approval_id, case_id, status, next_reminder_at, reminders_sent in locked:
            if (
                case_id not in case_status
                or status != ApprovalRequest.Status.OPEN
                or next_reminder_at is None
                or next_reminder_at > now
            ):
                continue  # decided, closed or reminded meanwhile
            if (
                case_status[case_id] == BusinessCase.Status.SUBMITTED
                and reminders_sent < settings.SNS_MAX_REMINDERS
            ):
                to_remind.append(_Reminder(approval_id, case_id, reminders_sent + 1))
            else:
                one_at_a_time.append((approval_id, case_id))
        to_remind = _reminder_rows_insert(to_remind)
        if to_remind:
            _reminders_write(reminders=to_remind, now=now)
    return len(to_remind), one_at_a_time


@dataclass(frozen=True)
class _Reminder:
    """One reminder to send: the request, its case and the reminder's number."""

    approval_id: int
    case_id: int
    number: int


# What a reminder shows, read as values (no model instance per row): the request and its
# approver (and whom they deputise for), the case, its requester and their unit.
_PERSON = ("email", "first_name", "last_name", "profile__commonly_used_name")
_APPROVAL_VALUES = (
    "pk",
    "business_case_id",
    "routed_because",
    "decide_by",
    "decision",
    "decision_reason",
    "decided_at",
    "approved_end_date",
    "on_behalf_of_id",
    *(f"approver__{name}" for name in _PERSON),
    *(f"on_behalf_of__{name}" for name in _PERSON),
)
_CASE_VALUES = (
    "pk",
    "reference",
    "submitted_at",
    "routing_note",
    "tier",
    "paying_business_unit_id",
    "paying_business_unit__name",
    "paying_business_unit__cost_centre",
    "budget_holder_name",
    "pc_choice",
    "pc_asset_tag",
    "start_date",
    "end_date",
    "purpose",
    "audience",
    "integration",
    *(f"requester__{name}" for name in _PERSON),
    "requester__profile__id",
    "requester__profile__job_title",
    "requester__profile__business_unit__name",
    "requester__profile__business_unit__directorate__name",
)
_IDENTITY_VALUES = (
    "business_case_id",
    "site__name",
    "display_name",
    "uses_pseudonym",
    "pseudonym_reason",
    "identifies_as_official",
    "not_official_reason",
)
_PC_CHOICE_LABELS = {
    str(value): str(label) for value, label in BusinessCase._meta.get_field("pc_choice").flatchoices
}


def _by_id(model, pk: int):
    """An instance holding only its primary key, for the outbox and the audit trail, which
    read nothing else of it (its type and id). `Model(pk=…)` works out the default of every
    other field (~70 µs for a business case) and `Model.from_db` with the id alone still
    walks every field (~8 µs); this sets the id and the instance's state only (~0.4 µs;
    two per reminder). Any other field read from it is loaded from the database, as a
    deferred field would be."""
    instance = model.__new__(model)
    instance._state = ModelState()
    instance._state.adding = False
    setattr(instance, model._meta.pk.attname, pk)
    return instance


def _person_of(row: dict, prefix: str) -> dict | None:
    """`_person` from joined values (None when the person is absent)."""
    email = row[f"{prefix}email"]
    if email is None:
        return None
    name = display_name_of(
        row[f"{prefix}profile__commonly_used_name"],
        row[f"{prefix}first_name"],
        row[f"{prefix}last_name"],
        email,
    )
    return {"display_name": name, "email": email}


def _reminder_context(
    *,
    approval: dict,
    case: dict,
    identities: list[dict],
    expires_text: str,
    link: str,
    links,
    number,
) -> dict:
    """`_approval_email_context` for a reminder, from the values `_reminders_write` reads
    (approvals/tests/test_reminders.py checks the two give the same context)."""
    requester = _person_of(case, "requester__")
    return {
        "approval": {
            "approver": _person_of(approval, "approver__"),
            "on_behalf_of": _person_of(approval, "on_behalf_of__")
            if approval["on_behalf_of_id"] is not None
            else None,
            "routed_because": approval["routed_because"],
            "decide_by": email_date(approval["decide_by"]),
            "token_expires_at": expires_text,
            "decision": approval["decision"],
            "decision_reason": approval["decision_reason"],
            "decided_at": email_date(approval["decided_at"]),
            "approved_end_date": email_date(approval["approved_end_date"]),
        },
        "case": {
            "reference": case["reference"],
            "requester": requester,
            "submitted_at": email_date(case["submitted_at"]),
            "routing_note": case["routing_note"],
            "tier_display": TIER_LABELS.get(case["tier"], case["tier"]),
            "is_active_tier": case["tier"] == AccessTier.ACTIVE,
            "paying_business_unit": {
                "name": case["paying_business_unit__name"],
                "cost_centre": case["paying_business_unit__cost_centre"],
            }
            if case["paying_business_unit_id"] is not None
            else None,
            "budget_holder_name": case["budget_holder_name"],
            "pc_choice_display": _PC_CHOICE_LABELS.get(case["pc_choice"], case["pc_choice"]),
            "pc_asset_tag": case["pc_asset_tag"],
            "start_date": email_date(case["start_date"]),
            "end_date": email_date(case["end_date"]),
            "purpose": case["purpose"],
            "audience": case["audience"],
            "integration": case["integration"],
        },
        "requester": requester,
        "profile": {
            "job_title": case["requester__profile__job_title"],
            "business_unit": {
                "name": case["requester__profile__business_unit__name"],
                "directorate": {
                    "name": case["requester__profile__business_unit__directorate__name"]
                },
            },
        }
        if case["requester__profile__id"] is not None
        else None,
        "identities": [
            {
                "site": {"name": identity["site__name"]},
                "display_name": identity["display_name"],
                "uses_pseudonym": identity["uses_pseudonym"],
                "pseudonym_reason": identity["pseudonym_reason"],
                "identifies_as_official": identity["identifies_as_official"],
                "not_official_reason": identity["not_official_reason"],
            }
            for identity in identities
        ],
        "link": link,
        "cases_to_decide_url": links.cases_to_decide,
        "number": number,
    }


def _reminder_rows_insert(reminders: list[_Reminder]) -> list[_Reminder]:
    """One ApprovalReminder row per reminder, in one INSERT … ON CONFLICT DO NOTHING: the
    reminders whose row was written (a row that exists means that reminder went out
    already). No savepoint per row."""
    if not reminders:
        return []
    table = ApprovalReminder._meta.db_table
    rows = ", ".join(["(%s, %s, %s)"] * len(reminders))
    sent_at = timezone.now()
    params = [value for r in reminders for value in (r.approval_id, r.number, sent_at)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (approval_request_id, number, sent_at) VALUES {rows} "  # noqa: S608  # nosec B608 - the table name is the model's, values are parameters
            "ON CONFLICT DO NOTHING RETURNING approval_request_id",
            params,
        )
        written = {row[0] for row in cursor.fetchall()}
    return [r for r in reminders if r.approval_id in written]


def _fresh_links_update(
    links: list[tuple[int, int, str]], *, expires, next_reminder_at, now
) -> None:
    """One UPDATE … FROM (VALUES …) for the whole batch: each request's (id, reminder count,
    new token hash), and the expiry and next reminder they share. (Django's `bulk_update`
    builds a CASE per field per row and took ~7 ms a request.)"""
    table = ApprovalRequest._meta.db_table
    if connection.vendor != "postgresql":  # `make run`'s SQLite: no column list on VALUES
        for approval_id, reminders_sent, token_hash in links:
            ApprovalRequest.objects.filter(pk=approval_id).update(
                reminders_sent=reminders_sent,
                token_hash=token_hash,
                token_expires_at=expires,
                next_reminder_at=next_reminder_at,
                updated_at=now,
            )
        return
    rows = ", ".join(["(%s, %s, %s)"] * len(links))
    params = [expires, next_reminder_at, now]
    params += [value for link in links for value in link]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS a SET reminders_sent = v.reminders_sent, "  # noqa: S608  # nosec B608 - the table name is the model's, values are parameters
            "token_hash = v.token_hash, token_expires_at = %s, next_reminder_at = %s, "
            f"updated_at = %s FROM (VALUES {rows}) AS v (id, reminders_sent, token_hash) "
            "WHERE a.id = v.id",
            params,
        )


def _reminders_write(*, reminders: list[_Reminder], now) -> None:
    """Each request gets a fresh link (only its hash is stored, so the earlier link stops
    working: the pages say to use the newest email), a fresh expiry and its next reminder
    date; its approver gets the reminder with the link. What the emails show is read as
    values (a model instance for each of the ~12 rows a reminder joins was ~40 % of the
    sweep's Python time); the case and request objects the outbox and the audit trail
    refer to are built from their ids."""
    case_ids = {r.case_id for r in reminders}
    approvals = {
        row["pk"]: row
        for row in ApprovalRequest.objects.filter(pk__in=[r.approval_id for r in reminders]).values(
            *_APPROVAL_VALUES
        )
    }
    cases = {
        row["pk"]: row for row in BusinessCase.objects.filter(pk__in=case_ids).values(*_CASE_VALUES)
    }
    identities: dict[int, list[dict]] = {}
    for identity in (
        SiteIdentity.objects.filter(business_case_id__in=case_ids)
        .order_by("site__name")
        .values(*_IDENTITY_VALUES)
    ):
        identities.setdefault(identity["business_case_id"], []).append(identity)
    next_reminder_at = add_working_days_at(now, settings.SNS_REMINDER_WORKING_DAYS)
    links = _EmailLinks.resolve()
    emails, events, fresh = [], [], []
    expiry_texts: dict = {}  # every link of a batch expires at the same time
    for reminder in reminders:
        approval, case = approvals[reminder.approval_id], cases[reminder.case_id]
        token, digest, expires = _token_issue(now)
        if expires not in expiry_texts:
            expiry_texts[expires] = email_date(expires)
        fresh.append((reminder.approval_id, reminder.number, digest))
        approver_email = approval["approver__email"]
        emails.append(
            Outgoing(
                template="approval_reminder",
                context=_reminder_context(
                    approval=approval,
                    case=case,
                    identities=identities.get(reminder.case_id, []),
                    expires_text=expiry_texts[expires],
                    link=links.decide(token),
                    links=links,
                    number=reminder.number,
                ),
                to=[
                    (approver_email, f"approval-reminder:{reminder.approval_id}:{reminder.number}")
                ],
                related=_by_id(ApprovalRequest, reminder.approval_id),
            )
        )
        events.append(
            NewEvent(
                action="approval.reminded",
                obj=_by_id(BusinessCase, reminder.case_id),
                object_repr=case["reference"] or f"Draft {reminder.case_id}",  # str(case)
                changes={
                    "approval_request": reminder.approval_id,
                    "approver": approver_email,
                    "reminder": reminder.number,
                    "link_expires_at": expires,
                },
            )
        )
    _fresh_links_update(fresh, expires=expires, next_reminder_at=next_reminder_at, now=now)
    email_queue_many(emails)
    # Recorded last: the audit chain's head stays locked from here until commit.
    record_many(actor=REMINDER_SWEEP, events=events)


def approval_remind_one(*, approval_id: int, case_id: int) -> bool:
    with transaction.atomic():
        case = (
            BusinessCase.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(
                "requester__profile__business_unit__directorate__organisation",
                "paying_business_unit",
            )
            .filter(pk=case_id)
            .first()
        )
        if case is None:
            return False  # being decided, or another sweep has it
        now = timezone.now()
        approval = (
            ApprovalRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("approver__profile", "on_behalf_of__profile")
            .filter(pk=approval_id, status=ApprovalRequest.Status.OPEN, next_reminder_at__lte=now)
            .first()
        )
        if approval is None:
            return False  # handled already
        if case.status != BusinessCase.Status.SUBMITTED:
            # Withdrawn, and the request still open: withdrawing closes a case's requests
            # (`approval_requests_withdraw`), but not those of cases withdrawn before it
            # did. The sweep closes them the same way.
            _approvals_supersede_for_withdrawal(
                case=case, approvals=[approval], actor=REMINDER_SWEEP, client=None
            )
            return False
        if approval.reminders_sent < settings.SNS_MAX_REMINDERS:
            return _approval_remind(case=case, approval=approval, now=now)
        approval.next_reminder_at = None
        approval.save(update_fields=["next_reminder_at", "updated_at"])
        if _case_escalate(case=case, stalled=approval):
            return True
        # No escalation (the case was escalated already, or nobody is left to ask): the
        # reminders stop all the same, and the trail says so.
        record(
            actor=REMINDER_SWEEP,
            action="approval.reminders_stopped",
            obj=case,
            changes={
                "approval_request": approval.pk,
                "approver": approval.approver.email,
                "reminders_sent": approval.reminders_sent,
            },
        )
        return False


def _approval_remind(*, case: BusinessCase, approval: ApprovalRequest, now) -> bool:
    """The next reminder of one request (case and request locked by the caller), the same
    way as a batch of them."""
    written = _reminder_rows_insert([_Reminder(approval.pk, case.pk, approval.reminders_sent + 1)])
    if not written:
        return False  # this reminder went out already
    _reminders_write(reminders=written, now=now)
    return True


def _case_escalate(*, case: BusinessCase, stalled: ApprovalRequest) -> bool:
    """After the last reminder, the fallback approver is asked too (once per case)."""
    if stalled.routed_because == ApprovalRequest.Reason.ESCALATION:
        return False
    if case.approval_requests.filter(routed_because=ApprovalRequest.Reason.ESCALATION).exists():
        return False
    profile = getattr(case.requester, "profile", None)
    organisation = profile.business_unit.directorate.organisation if profile else None
    already = set(
        case.approval_requests.filter(status=ApprovalRequest.Status.OPEN).values_list(
            "approver_id", flat=True
        )
    )
    approvers, _ = _fallback_approvers(
        organisation=organisation, exclude_ids=already | {case.requester_id}
    )
    lapses_on = timezone.localdate(
        case.submitted_at + datetime.timedelta(days=settings.SNS_LAPSE_AFTER_DAYS)
    )
    decide_by = min(
        add_working_days(timezone.localdate(), settings.SNS_REMINDER_WORKING_DAYS), lapses_on
    )
    for approver in approvers:
        _approval_request_create(
            case=case,
            route=Route(approver, ApprovalRequest.Reason.ESCALATION),
            decide_by=decide_by,
            remind=False,
            actor=REMINDER_SWEEP,
            client=None,
            action="approval.escalated",
            escalated_from=stalled,
        )
    return bool(approvers)


def case_lapse_due() -> int:
    """Cases undecided `SNS_LAPSE_AFTER_DAYS` after they were sent lapse, each in its own
    transaction (`case_lapse_one`). Returns how many. One run handles every case due when
    it started, `LAPSE_BATCH_SIZE` ids at a time by keyset (a backlog too, not a few
    hundred per run)."""
    cutoff = timezone.now() - datetime.timedelta(days=settings.SNS_LAPSE_AFTER_DAYS)
    lapsed = 0
    after = None
    with email_sends_batched():
        while due := _cases_lapse_due(cutoff=cutoff, after=after, limit=LAPSE_BATCH_SIZE):
            after = due[-1]
            lapsed += sum(1 for _, case_id in due if case_lapse_one(case_id=case_id))
    return lapsed


def _cases_lapse_due(*, cutoff, after: tuple | None, limit: int) -> list[tuple]:
    """(submitted_at, id) of cases still waiting for a decision that were sent by `cutoff`,
    in that order, after the keyset `after`."""
    query = BusinessCase.objects.filter(
        status=BusinessCase.Status.SUBMITTED, submitted_at__lte=cutoff
    )
    if after is not None:
        query = query.filter(after_keyset(("submitted_at", "id"), after))
    return list(query.order_by("submitted_at", "id").values_list("submitted_at", "pk")[:limit])


def case_lapse_one(*, case_id: int) -> bool:
    now = timezone.now()
    cutoff = now - datetime.timedelta(days=settings.SNS_LAPSE_AFTER_DAYS)
    with transaction.atomic():
        case = (
            BusinessCase.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("requester__profile")
            .filter(pk=case_id, status=BusinessCase.Status.SUBMITTED, submitted_at__lte=cutoff)
            .first()
        )
        if case is None:
            return False
        transition_check(case, BusinessCase.Status.LAPSED)
        case.status = BusinessCase.Status.LAPSED
        case.lapsed_at = now
        case.save(update_fields=["status", "lapsed_at", "updated_at"])
        open_approvals = list(
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("approver__profile", "on_behalf_of__profile")
            .filter(business_case=case, status=ApprovalRequest.Status.OPEN)
            .order_by("pk")
        )
        expired = [approval.pk for approval in open_approvals]
        ApprovalRequest.objects.filter(pk__in=expired).update(
            status=ApprovalRequest.Status.EXPIRED, next_reminder_at=None, updated_at=now
        )
        record(
            actor=LAPSE_SWEEP,
            action="case.lapsed",
            obj=case,
            changes={
                "status": [BusinessCase.Status.SUBMITTED, BusinessCase.Status.LAPSED],
                "approval_requests_expired": expired,
            },
        )
        email_queue(
            to=case.requester.email,
            template="case_lapsed",
            context={
                "case": {
                    "reference": case.reference,
                    "requester": _person(case.requester),
                    "submitted_at": email_date(case.submitted_at),
                },
                "start_again_url": _absolute_url_of("access_requests:case-list"),
            },
            related=case,
            dedupe_key=f"case-lapsed:{case.pk}",
        )
        _approvals_closed_emails(
            case=case, approvals=open_approvals, because=CLOSED_LAPSED, closed_at=now
        )
    return True


# --- Delegations -------------------------------------------------------------------------------


def delegation_create(
    *,
    director,
    deputy,
    starts_on: datetime.date,
    ends_on: datetime.date,
    actor,
    client: Client | None = None,
) -> Delegation:
    """A director names a deputy for a date range; new cases then go to both."""
    if deputy.pk == director.pk:
        raise DelegationInvalid("deputy_email", "Enter someone else's email address")
    if not deputy.is_active:
        raise DelegationInvalid(
            "deputy_email", "Enter the email address of someone who can sign in"
        )
    if ends_on < starts_on:
        raise DelegationInvalid("ends_on", "End date must be the same as or after the start date")
    if ends_on < timezone.localdate():
        raise DelegationInvalid("ends_on", "End date must be today or in the future")
    with transaction.atomic():
        delegation = Delegation.objects.create(
            director=director, deputy=deputy, starts_on=starts_on, ends_on=ends_on
        )
        record(
            actor=actor,
            action="delegation.created",
            obj=delegation,
            changes={
                "director": director.email,
                "deputy": deputy.email,
                "starts_on": starts_on,
                "ends_on": ends_on,
            },
            client=client,
        )
        email_queue(
            to=deputy.email,
            template="approval_delegation",
            context={
                "delegation": {
                    "director": _person(director),
                    "deputy": _person(deputy),
                    "starts_on": email_date(starts_on),
                    "ends_on": email_date(ends_on),
                },
                "cases_to_decide_url": absolute_url(reverse("approvals:case-list")),
            },
            related=delegation,
            dedupe_key=f"approval-delegation:{delegation.pk}",
        )
    return delegation


def delegation_cancel(*, delegation: Delegation, actor, client: Client | None = None) -> Delegation:
    """Cancel a delegation: no new cases go to the deputy, and their open ones close."""
    with transaction.atomic():
        locked = Delegation.objects.select_for_update().get(pk=delegation.pk)
        if locked.cancelled_at is not None:
            return locked
        now = timezone.now()
        locked.cancelled_at = now
        locked.save(update_fields=["cancelled_at", "updated_at"])
        # Cases sent to the deputy through this delegation stay with the director alone.
        closed = []
        for approval in (
            ApprovalRequest.objects.filter(delegation=locked, status=ApprovalRequest.Status.OPEN)
            .select_related("business_case")
            .order_by("business_case_id")
        ):
            with transaction.atomic():
                BusinessCase.objects.select_for_update().get(pk=approval.business_case_id)
                updated = ApprovalRequest.objects.filter(
                    pk=approval.pk, status=ApprovalRequest.Status.OPEN
                ).update(
                    status=ApprovalRequest.Status.SUPERSEDED, next_reminder_at=None, updated_at=now
                )
                if updated:
                    closed.append(approval.pk)
        record(
            actor=actor,
            action="delegation.cancelled",
            obj=locked,
            changes={
                "cancelled_at": [None, now],
                "deputy": locked.deputy.email,
                "approval_requests_closed": closed,
            },
            client=client,
        )
    return locked
