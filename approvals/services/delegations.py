"""A director names a deputy for a date range: new cases then go to both."""

import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from access_requests.models import BusinessCase
from audit.services import record
from core.client import Client
from core.links import absolute_url
from notifications.rendering import email_date
from notifications.services import email_queue

from .. import emails, selectors
from ..errors import DelegationInvalid
from ..models import ApprovalRequest, Delegation


def delegation_create(
    *,
    director,
    deputy,
    starts_on: datetime.date,
    ends_on: datetime.date,
    actor,
    client: Client | None = None,
) -> Delegation:
    """A director names a deputy for a date range; new cases then go to both.

    The giver must decide cases or their cost in their own right now (a directorate's
    director, an organisation's fallback approver or a business unit's budget holder,
    active), and the deputy be eligible (`deputy_refused_because`); at most
    `SNS_MAX_DELEGATION_DAYS`. Its scope is fixed now (`selectors.delegation_scope_for`): a
    deputy named by someone acting only as a budget holder agrees to costs only, whatever
    that person comes to lead later. Raises DelegationInvalid."""
    if ends_on < starts_on:
        raise DelegationInvalid("ends_on", "End date must be the same as or after the start date")
    if ends_on < timezone.localdate():
        raise DelegationInvalid("ends_on", "End date must be today or in the future")
    if too_long := selectors.delegation_too_long(starts_on, ends_on):
        raise DelegationInvalid("ends_on", too_long)
    with transaction.atomic():
        # Both read afresh: the caller's objects may predate a directorate handed to
        # someone else or a role taken away.
        people = get_user_model().objects.in_bulk([director.pk, deputy.pk])
        director, deputy = people[director.pk], people[deputy.pk]
        if not selectors.approver_may_name_deputy(user=director):
            raise DelegationInvalid(None, selectors.NOT_AN_APPROVER)
        refused = selectors.deputy_refused_because(director=director, deputy=deputy)
        if refused is not None:
            raise DelegationInvalid("deputy_email", refused)
        scope = selectors.delegation_scope_for(director=director)
        delegation = Delegation.objects.create(
            director=director, deputy=deputy, starts_on=starts_on, ends_on=ends_on, scope=scope
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
                "scope": scope,
            },
            client=client,
        )
        email_queue(
            to=deputy.email,
            template="approval_delegation",
            context={
                "delegation": {
                    "director": emails.person(director),
                    "deputy": emails.person(deputy),
                    "starts_on": email_date(starts_on),
                    "ends_on": email_date(ends_on),
                    "costs_only": scope == Delegation.Scope.COSTS,
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
