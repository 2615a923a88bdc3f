"""The access grant's lifecycle: every change of a grant's status is one function here
(creation on approval, provisioning, sending back, revoking, giving up, expiry), and so is
the holder's choice to let it lapse.

Each owns its transaction, locks the grant and then checks its status against
`AccessGrant.TRANSITIONS`, records an audit event and writes the emails it causes to the
outbox in the same transaction (they are sent after commit).
"""

import datetime
from dataclasses import dataclass, fields
from typing import ClassVar

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import CharField, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.utils import timezone

from access_requests.errors import (
    AssetTagRequired,
    ReasonRequired,
    TransitionNotAllowed,
    transition_check,
)
from access_requests.models import AccessGrant, AccessTier, BusinessCase
from access_requests.selectors.grants import (
    grant_for_update,
    grant_may_revoke,
    grants_due_to_expire,
    renewal_continues_access,
)
from access_requests.services.grant_emails import (
    IctRecipient,
    grant_email_context,
    grant_expiry_emails,
    ict_email_queue,
)
from audit.services import NewEvent, SystemActor, record, record_many
from core.client import Client
from core.lookups import ids_any
from core.models import model_reference
from notifications.services import email_queue, email_queue_many

# --- creation on approval --------------------------------------------------------------------

# Who revoked a grant, in the holder's email, when the staff directory import did.
REVOKED_BY_DIRECTORY = "The staff directory import"
# How the holder's email names a system task that revokes access (by its `SystemActor` name).
REVOKED_BY_SYSTEM = {"access_review_close_due": "The access review"}


def grant_create_from_case(
    *,
    case: BusinessCase,
    approved_by,
    approved_at: datetime.datetime,
    end_date: datetime.date | None = None,
    on_behalf_of=None,
    cost_agreed_by=None,
    actor=None,
) -> AccessGrant:
    """Create the grant for an approved case (called by `approvals.services.approval_decide`
    inside its transaction). `end_date` is the approver's earlier end date, if any;
    `cost_agreed_by` who agreed that the paying unit carries an active-tier grant's cost.

    A renewal (`case.renewal_of`) continues the old grant without a gap: it starts the day
    after the old end date (or on the requested start date if that is later), and when the
    tier and PC are unchanged it starts active with the old provisioning.
    """
    with transaction.atomic():
        previous = None
        start_date = case.start_date
        end = end_date or case.end_date
        if case.renewal_of_id:
            previous = grant_for_update(case.renewal_of_id)
            start_date = max(previous.end_date + datetime.timedelta(days=1), case.start_date)
            end = max(end, start_date)
        continues = previous is not None and renewal_continues_access(case=case, previous=previous)
        grant = AccessGrant.objects.create(
            business_case=case,
            holder=case.requester,
            tier=case.tier,
            start_date=start_date,
            end_date=end,
            approved_by=approved_by,
            approved_on_behalf_of=on_behalf_of,
            approved_at=approved_at,
            cost_agreed_by=cost_agreed_by,
            paying_business_unit=case.paying_business_unit,
            pc_asset_tag=previous.pc_asset_tag if continues else case.pc_asset_tag,
            renewed_from=previous,
            status=AccessGrant.Status.ACTIVE
            if continues
            else AccessGrant.Status.AWAITING_PROVISIONING,
            provisioned_at=previous.provisioned_at if continues else None,
            provisioned_by=previous.provisioned_by if continues else None,
        )
        grant.sites.set(case.sites.all())
        changes = {
            "status": [None, grant.status],
            "case": case.reference,
            "tier": grant.tier,
            "start_date": grant.start_date,
            "end_date": grant.end_date,
            "cost_agreed_by": cost_agreed_by.email if cost_agreed_by is not None else None,
        }
        if previous is not None:
            changes["renewed_from"] = previous.pk
            changes["continues_without_reprovisioning"] = continues
        record(actor=actor or approved_by, action="grant.created", obj=grant, changes=changes)
    return grant


# --- provisioning ------------------------------------------------------------------------------


def grant_provision(
    *, grant: AccessGrant, actor, asset_tag: str = "", client: Client | None = None
) -> AccessGrant:
    """Awaiting provisioning → active (ICT). The active tier records the PC's asset tag."""
    asset_tag = (asset_tag or "").strip()
    with transaction.atomic():
        locked = grant_for_update(grant)
        transition_check(locked, AccessGrant.Status.ACTIVE)
        if locked.tier == AccessTier.ACTIVE and not asset_tag:
            raise AssetTagRequired()
        now = timezone.now()
        old_tag = locked.pc_asset_tag
        locked.status = AccessGrant.Status.ACTIVE
        locked.provisioned_at = now
        locked.provisioned_by = actor
        if locked.tier == AccessTier.ACTIVE:
            locked.pc_asset_tag = asset_tag
        locked.save(
            update_fields=[
                "status",
                "provisioned_at",
                "provisioned_by",
                "pc_asset_tag",
                "updated_at",
            ]
        )
        changes = {"status": ["awaiting", "active"]}
        if locked.tier == AccessTier.ACTIVE:
            changes["pc_asset_tag"] = [old_tag, locked.pc_asset_tag]
        record(
            actor=actor,
            action="grant.provisioned",
            obj=locked,
            changes=changes,
            client=client,
        )
        email_queue(
            to=locked.holder.email,
            template="grant_ready",
            context={
                **grant_email_context(locked),
                "starts_later": locked.start_date > timezone.localdate(),
            },
            related=locked,
            dedupe_key=f"grant-{locked.pk}-ready",
        )
    return locked


def grant_return(
    *, grant: AccessGrant, actor, reason: str, client: Client | None = None
) -> AccessGrant:
    """Awaiting provisioning → returned (ICT cannot provision it); the holder is told why."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    with transaction.atomic():
        locked = grant_for_update(grant)
        transition_check(locked, AccessGrant.Status.RETURNED)
        locked.status = AccessGrant.Status.RETURNED
        locked.returned_reason = reason
        locked.save(update_fields=["status", "returned_reason", "updated_at"])
        record(
            actor=actor,
            action="grant.returned",
            obj=locked,
            changes={"status": ["awaiting", "returned"], "reason": reason},
            client=client,
        )
        email_queue(
            to=locked.holder.email,
            template="grant_returned",
            context={**grant_email_context(locked), "reason": reason},
            related=locked,
            dedupe_key=f"grant-{locked.pk}-returned",
        )
    return locked


# --- revocation and surrender --------------------------------------------------------------------


def grant_revoke(
    *,
    grant: AccessGrant,
    actor,
    reason: str,
    client: Client | None = None,
    by_reviewer: bool = False,
) -> AccessGrant:
    """Awaiting or active → revoked, by an admin or the holder's director, with a reason;
    or by the staff directory import or an access review's end (a `SystemActor`), when
    `revoked_by` stays empty. `by_reviewer`: the actor is the grant's reviewer in an access
    review (the fallback approver reviews a director's own access), as the caller checked
    with the review's item locked. The holder is told, and ICT is asked to withdraw the
    access."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    by_system = isinstance(actor, SystemActor)
    with transaction.atomic():
        locked = grant_for_update(grant)
        if not (by_system or by_reviewer) and not grant_may_revoke(user=actor, grant=locked):
            raise PermissionDenied("Only an admin or the holder's director can revoke a grant")
        transition_check(locked, AccessGrant.Status.REVOKED)
        old_status = locked.status
        locked.status = AccessGrant.Status.REVOKED
        locked.revoked_at = timezone.now()
        locked.revoked_by = None if by_system else actor
        locked.revocation_reason = reason
        locked.save(
            update_fields=["status", "revoked_at", "revoked_by", "revocation_reason", "updated_at"]
        )
        record(
            actor=actor,
            action="grant.revoked",
            obj=locked,
            changes={"status": [old_status, "revoked"], "reason": reason},
            client=client,
        )
        context = {
            **grant_email_context(locked),
            "reason": reason,
            "revoked_by": REVOKED_BY_SYSTEM.get(actor.name, REVOKED_BY_DIRECTORY)
            if by_system
            else actor.display_name,
        }
        email_queue(
            to=locked.holder.email,
            template="grant_revoked",
            context=context,
            related=locked,
            dedupe_key=f"grant-{locked.pk}-revoked",
        )
        ict_email_queue(
            grant=locked,
            template="grant_withdraw_ict",
            key="revoked",
            context={**context, "why": "revoked", "was_provisioned": old_status == "active"},
        )
    return locked


def grant_surrender(*, grant: AccessGrant, actor, client: Client | None = None) -> AccessGrant:
    """Active → given up, by the holder. ICT is asked to withdraw the access."""
    with transaction.atomic():
        locked = grant_for_update(grant)
        if locked.holder_id != getattr(actor, "pk", None):
            raise PermissionDenied("Only the holder can give up a grant")
        transition_check(locked, AccessGrant.Status.SURRENDERED)
        locked.status = AccessGrant.Status.SURRENDERED
        locked.surrendered_at = timezone.now()
        locked.save(update_fields=["status", "surrendered_at", "updated_at"])
        record(
            actor=actor,
            action="grant.surrendered",
            obj=locked,
            changes={"status": ["active", "surrendered"]},
            client=client,
        )
        ict_email_queue(
            grant=locked,
            template="grant_withdraw_ict",
            key="surrendered",
            context={**grant_email_context(locked), "why": "surrendered"},
        )
    return locked


def grant_choose_lapse(*, grant: AccessGrant, actor, client: Client | None = None) -> AccessGrant:
    """The holder lets the grant lapse: no more expiry notices. Choosing twice changes nothing."""
    with transaction.atomic():
        locked = grant_for_update(grant)
        if locked.holder_id != getattr(actor, "pk", None):
            raise PermissionDenied("Only the holder can let a grant lapse")
        if locked.status not in AccessGrant.Status.current():
            raise TransitionNotAllowed(locked, locked.status)
        if locked.lapse_chosen_at is not None:
            return locked
        locked.lapse_chosen_at = timezone.now()
        locked.save(update_fields=["lapse_chosen_at", "updated_at"])
        record(
            actor=actor,
            action="grant.lapse_chosen",
            obj=locked,
            changes={"lapse_chosen_at": [None, locked.lapse_chosen_at]},
            client=client,
        )
    return locked


def grant_lapse_undo(*, grant: AccessGrant, actor, client: Client | None = None) -> AccessGrant:
    """The holder takes back "let it lapse" (by renewing): expiry notices resume. Runs in the
    caller's transaction on the locked grant; nothing to undo changes nothing."""
    if grant.lapse_chosen_at is None:
        return grant
    chosen_at = grant.lapse_chosen_at
    grant.lapse_chosen_at = None
    grant.save(update_fields=["lapse_chosen_at", "updated_at"])
    record(
        actor=actor,
        action="grant.lapse_undone",
        obj=grant,
        changes={"lapse_chosen_at": [chosen_at, None]},
        client=client,
    )
    return grant


# --- expiry ------------------------------------------------------------------------------------


def grant_expire(
    *,
    grant_id: int,
    today: datetime.date | None = None,
    ict: list[IctRecipient] | None = None,
) -> AccessGrant | None:
    """Active or awaiting provisioning → expired once the end date has passed. Returns None
    when there is nothing to do (another sweep holds the grant, or it is no longer due). The
    sweep expires grants a batch at a time (`grants_expire`) and calls this for each grant
    of a batch that failed, so that one bad grant does not hold back the others.

    A grant ICT never provisioned goes to expired too (`AccessGrant.TRANSITIONS` allows
    awaiting → expired): its period is over, so it leaves ICT's queue and the register's
    current grants. Its emails say so (`was_provisioned` false in their context): the
    holder and their director that it ended before ICT set it up, and ICT that it has left
    their queue with nothing to withdraw, not a request to close access never opened."""
    expired = grants_expire(grant_ids=[grant_id], today=today or timezone.localdate(), ict=ict)
    return AccessGrant.objects.get(pk=grant_id) if expired else None


@dataclass(slots=True)
class ExpiringGrant:
    """A grant the expiry has locked, as the values its emails and its event read (from the
    grant and, joined in, its case, its holder and their director): a model instance for
    each grant and joined row would be the largest Python cost of a batch."""

    TRANSITIONS: ClassVar = AccessGrant.TRANSITIONS  # for `transition_check`

    pk: int
    status: str
    tier: str
    start_date: datetime.date
    end_date: datetime.date
    pc_asset_tag: str
    provisioned_at: datetime.datetime | None
    holder_id: int
    reference: str
    holder_email: str
    holder_name: str
    director_id: int | None
    successor_end_date: datetime.date | None  # an active renewal's, which continues it

    def __str__(self) -> str:
        return f"{self.reference} ({self.status})"


def grants_expire(
    *, grant_ids: list[int], today: datetime.date, ict: list[IctRecipient] | None
) -> list[ExpiringGrant]:
    """Expire those of these grants that are still due (active or awaiting provisioning, end
    date passed) and that no other sweep holds, in one transaction whatever their number:
    the grants are locked with `skip_locked` (with what the emails need joined in, and
    whether an active renewal continues each), checked against the transitions table,
    updated with one UPDATE; their emails go to the outbox in one INSERT (rendered when
    sent) and their events (from which status each expired) to the audit trail in one append,
    recorded last. `ict` is the sweep's list of ICT recipients (read once per batch);
    without it it is read here. Returns the grants expired, as they were before (their
    status the one they expired from)."""
    with transaction.atomic():
        locked = _grants_due_lock(grant_ids=grant_ids, today=today)
        if not locked:
            return []
        for grant in locked:
            transition_check(grant, AccessGrant.Status.EXPIRED)
        now = timezone.now()
        AccessGrant.objects.filter(
            ids_any(AccessGrant, "id", [grant.pk for grant in locked])
        ).update(status=AccessGrant.Status.EXPIRED, expired_at=now, updated_at=now)
        email_queue_many(grant_expiry_emails(locked, ict=ict))
        expired_label = AccessGrant.Status.EXPIRED.label  # what get_status_display() says now
        record_many(
            actor=SystemActor("grant_expiry_sweep"),
            events=[
                NewEvent(
                    action="grant.expired",
                    obj=model_reference(AccessGrant, grant.pk),
                    # str(grant) would read its case: the reference is joined in instead
                    object_repr=f"{grant.reference} ({expired_label})",
                    changes={"status": [grant.status, "expired"], "end_date": grant.end_date},
                )
                for grant in locked
            ],
        )
    return locked


def _grants_due_lock(*, grant_ids: list[int], today: datetime.date) -> list[ExpiringGrant]:
    """Lock those of these grants still due to expire that no other sweep holds, and read
    them as `ExpiringGrant` values: what the emails need from the case and the holder
    (reference, email, name, their director's id) and whether an active renewal continues
    each are joined in. The emails read the sites by name (`grant_expiry_emails`)."""
    # `User.display_name`'s rule, in SQL: the commonly used name, else the full name, else
    # the email (access_requests/tests/test_grant_expiry.py checks the two agree).
    holder_name = Coalesce(
        NullIf(F("holder__profile__commonly_used_name"), Value("")),
        NullIf(
            Trim(Concat(F("holder__first_name"), Value(" "), F("holder__last_name"))), Value("")
        ),
        F("holder__email"),
        output_field=CharField(),
    )
    rows = (
        AccessGrant.objects.select_for_update(skip_locked=True, of=("self",))
        .annotate(
            reference=F("business_case__reference"),
            holder_email=F("holder__email"),
            holder_name=holder_name,
            director_id=F("holder__profile__business_unit__directorate__director_id"),
            successor_end_date=Subquery(
                AccessGrant.objects.filter(
                    renewed_from=OuterRef("pk"), status=AccessGrant.Status.ACTIVE
                )
                .order_by("id")
                .values("end_date")[:1]
            ),
        )
        .filter(grants_due_to_expire(today), ids_any(AccessGrant, "id", grant_ids))
        .order_by("id")
        .values_list(*_EXPIRING_COLUMNS)
    )
    return [ExpiringGrant(*row) for row in rows]


_EXPIRING_COLUMNS = [field.name for field in fields(ExpiringGrant)]
