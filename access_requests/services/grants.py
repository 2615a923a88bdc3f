"""Business rules for the access grant: creation on approval, provisioning, expiry notices,
expiry, safe-use reminders, renewal, revocation and surrender.

Every change of a grant is one function here: it owns its transaction, locks the grant and
then checks its status against `AccessGrant.TRANSITIONS`, records an audit event and writes
the emails it causes to the outbox in the same transaction (they are sent after commit).

The sweeps (`grant_expiry_notice_sweep`, `grant_expiry_sweep`, `grant_safe_use_sweep`) read
due ids in batches through indexed queries (two batches at a time on PostgreSQL, each on its
own connection: `sweeping.batches_handle`), then handle each grant in its own short
transaction (the expiry sweep: each batch in one), taking its row with `skip_locked` so that
two sweeps never work on the same grant at once. A failure on one grant is logged and the
sweep goes on; a rerun picks up whatever is still due. Each notice and reminder is recorded by a unique row (`ExpiryNotice`,
`SafeUseReminder`) written in the same transaction as its outbox row, which also carries a
unique `dedupe_key`: a notice goes out once whatever runs twice, overlaps or crashes.
"""

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import (
    CharField,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Concat, NullIf, Trim, TruncDate
from django.urls import reverse
from django.utils import timezone

from access_requests.errors import TransitionNotAllowed, transition_check
from access_requests.models import (
    TIER_LABELS,
    AccessGrant,
    AccessTier,
    BusinessCase,
    ExpiryNotice,
    SafeUseReminder,
    SiteIdentity,
)
from access_requests.selectors.grants import site_names_by_grant
from audit.services import NewEvent, SystemActor, record, record_many
from core.client import Client
from core.links import absolute_url
from core.sweeping import after_keyset, batches_handle
from core.working_days import working_day_on_or_before
from notifications.rendering import email_date, email_day_and_date
from notifications.services import Outgoing, email_queue, email_queue_many, email_sends_batched
from people.models import Role, User

logger = logging.getLogger(__name__)

SWEEP_BATCH_SIZE = 500


class GrantError(Exception):
    """A change to a grant that cannot be made; the message is shown to the person."""


class AssetTagRequired(GrantError):
    def __init__(self):
        super().__init__("Enter the asset tag of the standalone PC")


class ReasonRequired(GrantError):
    def __init__(self):
        super().__init__("Enter a reason")


class NotRenewable(GrantError):
    pass


# --- small helpers -------------------------------------------------------------------------


def _grant_url(grant: AccessGrant) -> str:
    return absolute_url(reverse("access_requests:grant-detail", kwargs={"pk": grant.pk}))


def _grant_urls() -> Callable[[int], str]:
    """The grant page's address for any grant id, resolved once (a sweep writes thousands
    of emails that link to it, and `reverse` costs tens of microseconds)."""
    marker = "987654321"
    head, tail = absolute_url(
        reverse("access_requests:grant-detail", kwargs={"pk": int(marker)})
    ).split(marker)
    return lambda pk: f"{head}{pk}{tail}"


def _lock(grant: AccessGrant | int) -> AccessGrant:
    pk = grant if isinstance(grant, int) else grant.pk
    return AccessGrant.objects.select_for_update(of=("self",)).get(pk=pk)


def _director_of(user: User) -> User | None:
    profile = getattr(user, "profile", None)
    if profile is None:
        return None
    return profile.business_unit.directorate.director


def _ict_people() -> list[User]:
    return list(
        User.objects.filter(groups__name=Role.ICT, is_active=True)
        .select_related("profile")
        .order_by("id")
        .distinct()
    )


@dataclass(frozen=True)
class IctRecipient:
    address: str
    key: str  # the last part of the email's dedupe key


def ict_recipients() -> list[IctRecipient]:
    """Who ICT is, for the emails asking to withdraw access: the team's mailbox
    (`SNS_ICT_MAILBOX`, one email per grant: one service-desk ticket per job) when it is
    set, or else every active ICT person (each gets the same email). The sweeps read this
    once per batch of grants."""
    mailbox = (getattr(settings, "SNS_ICT_MAILBOX", "") or "").strip()
    if mailbox:
        return [IctRecipient(mailbox, "ict-mailbox")]
    return [IctRecipient(person.email, f"ict-{person.pk}") for person in _ict_people()]


def _sites_text(grant: AccessGrant) -> str:
    return ", ".join(site.name for site in grant.sites.order_by("name"))


def _grant_context(
    grant: AccessGrant, *, sites: str | None = None, grant_url: str | None = None
) -> dict:
    """What every grant email shows, as plain values (stored on the outbox row)."""
    return {
        "grant": {
            "start_date": email_date(grant.start_date),
            "end_date": email_date(grant.end_date),
            "tier": grant.tier,
            "pc_asset_tag": grant.pc_asset_tag,
            "holder": {"email": grant.holder.email},
        },
        "reference": grant.business_case.reference,
        "holder_name": grant.holder.display_name,
        "tier": grant.get_tier_display(),
        "sites": _sites_text(grant) if sites is None else sites,
        "grant_url": _grant_url(grant) if grant_url is None else grant_url,
    }


def _ict_email(
    *,
    grant: AccessGrant,
    template: str,
    key: str,
    context: dict,
    recipients: list[IctRecipient] | None = None,
) -> Outgoing | None:
    """The email asking ICT to withdraw the access (rendered once, to each recipient)."""
    if recipients is None:
        recipients = ict_recipients()
    if not recipients:
        logger.warning("No ICT person to tell about grant %s (%s)", grant.pk, template)
        return None
    return Outgoing(
        template=template,
        context=context,
        to=[(r.address, f"grant-{grant.pk}-{key}-{r.key}") for r in recipients],
        related=grant,
    )


def _tell_ict(*, grant: AccessGrant, template: str, key: str, context: dict) -> None:
    message = _ict_email(grant=grant, template=template, key=key, context=context)
    if message is not None:
        email_queue_many([message])


def _today() -> datetime.date:
    return timezone.localdate()


def grant_is_usable(grant: AccessGrant, today: datetime.date | None = None) -> bool:
    """Usable means provisioned (active) and within its dates."""
    today = today or _today()
    return grant.status == AccessGrant.Status.ACTIVE and grant.start_date <= today <= grant.end_date


def grant_may_revoke(*, user, grant: AccessGrant) -> bool:
    """An admin, or the director of the holder's directorate."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.has_perm("access_requests.revoke_accessgrant"):
        return True
    director = _director_of(grant.holder)
    return director is not None and director.pk == user.pk


# --- creation on approval --------------------------------------------------------------------


def _continues_without_reprovisioning(*, case: BusinessCase, previous: AccessGrant) -> bool:
    """A renewal keeps the same access when nothing ICT set up has to change: the same tier;
    for the active tier the same standalone PC; for the passive tier no new site to open."""
    if previous.status not in (AccessGrant.Status.ACTIVE, AccessGrant.Status.EXPIRED):
        return False  # revoked or given up: ICT withdrew it
    if previous.provisioned_at is None or case.tier != previous.tier:
        return False
    if case.tier == AccessTier.ACTIVE:
        return (
            case.pc_choice == BusinessCase.PcChoice.EXISTING
            and case.pc_asset_tag.strip().lower() == previous.pc_asset_tag.strip().lower()
            and bool(previous.pc_asset_tag)
        )
    previous_sites = set(previous.sites.values_list("pk", flat=True))
    return set(case.sites.values_list("pk", flat=True)) <= previous_sites


def grant_create_from_case(
    *,
    case: BusinessCase,
    approved_by,
    approved_at: datetime.datetime,
    end_date: datetime.date | None = None,
    on_behalf_of=None,
    actor=None,
) -> AccessGrant:
    """Create the grant for an approved case (called by `approvals.services.approval_decide`
    inside its transaction). `end_date` is the approver's earlier end date, if any.

    A renewal (`case.renewal_of`) continues the old grant without a gap: it starts the day
    after the old end date (or on the requested start date if that is later), and when the
    tier and PC are unchanged it starts active with the old provisioning.
    """
    with transaction.atomic():
        previous = None
        start_date = case.start_date
        end = end_date or case.end_date
        if case.renewal_of_id:
            previous = _lock(case.renewal_of_id)
            start_date = max(previous.end_date + datetime.timedelta(days=1), case.start_date)
            end = max(end, start_date)
        continues = previous is not None and _continues_without_reprovisioning(
            case=case, previous=previous
        )
        grant = AccessGrant.objects.create(
            business_case=case,
            holder=case.requester,
            tier=case.tier,
            start_date=start_date,
            end_date=end,
            approved_by=approved_by,
            approved_on_behalf_of=on_behalf_of,
            approved_at=approved_at,
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
        locked = _lock(grant)
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
                **_grant_context(locked),
                "starts_later": locked.start_date > _today(),
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
        locked = _lock(grant)
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
            context={**_grant_context(locked), "reason": reason},
            related=locked,
            dedupe_key=f"grant-{locked.pk}-returned",
        )
    return locked


# --- revocation and surrender --------------------------------------------------------------------


def grant_revoke(
    *, grant: AccessGrant, actor, reason: str, client: Client | None = None
) -> AccessGrant:
    """Awaiting or active → revoked, by an admin or the holder's director, with a reason.
    The holder is told, and ICT is asked to withdraw the access."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    with transaction.atomic():
        locked = _lock(grant)
        if not grant_may_revoke(user=actor, grant=locked):
            raise PermissionDenied("Only an admin or the holder's director can revoke a grant")
        transition_check(locked, AccessGrant.Status.REVOKED)
        old_status = locked.status
        locked.status = AccessGrant.Status.REVOKED
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
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
        context = {**_grant_context(locked), "reason": reason, "revoked_by": actor.display_name}
        email_queue(
            to=locked.holder.email,
            template="grant_revoked",
            context=context,
            related=locked,
            dedupe_key=f"grant-{locked.pk}-revoked",
        )
        _tell_ict(
            grant=locked,
            template="grant_withdraw_ict",
            key="revoked",
            context={**context, "why": "revoked", "was_provisioned": old_status == "active"},
        )
    return locked


def grant_may_surrender(*, user, grant: AccessGrant) -> bool:
    """The holder may give up a grant the transitions table lets go to surrendered."""
    return grant.holder_id == getattr(user, "pk", None) and (
        AccessGrant.Status.SURRENDERED in AccessGrant.TRANSITIONS.get(grant.status, set())
    )


def grant_surrender(*, grant: AccessGrant, actor, client: Client | None = None) -> AccessGrant:
    """Active → given up, by the holder. ICT is asked to withdraw the access."""
    with transaction.atomic():
        locked = _lock(grant)
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
        _tell_ict(
            grant=locked,
            template="grant_withdraw_ict",
            key="surrendered",
            context={**_grant_context(locked), "why": "surrendered"},
        )
    return locked


def grant_choose_lapse(*, grant: AccessGrant, actor, client: Client | None = None) -> AccessGrant:
    """The holder lets the grant lapse: no more expiry notices. Choosing twice changes nothing."""
    with transaction.atomic():
        locked = _lock(grant)
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


# --- expiry ------------------------------------------------------------------------------------


def grant_expire(
    *,
    grant_id: int,
    today: datetime.date | None = None,
    ict: list[IctRecipient] | None = None,
) -> AccessGrant | None:
    """Active or awaiting provisioning → expired once the end date has passed. Returns None
    when there is nothing to do (another sweep holds the grant, or it is no longer due). The
    sweep expires grants a batch at a time (`_grants_expire`) and calls this for each grant
    of a batch that failed, so that one bad grant does not hold back the others.

    A grant ICT never provisioned goes to expired too (`AccessGrant.TRANSITIONS` allows
    awaiting → expired): its period is over, so it leaves ICT's queue and the register's
    current grants. Its emails say so (`was_provisioned` false in their context): the
    holder and their director that it ended before ICT set it up, and ICT that it has left
    their queue with nothing to withdraw, not a request to close access never opened."""
    expired = _grants_expire(grant_ids=[grant_id], today=today or _today(), ict=ict)
    return expired[0] if expired else None


def _grants_expire(
    *, grant_ids: list[int], today: datetime.date, ict: list[IctRecipient] | None
) -> list[AccessGrant]:
    """Expire those of these grants that are still due (active or awaiting provisioning, end
    date passed) and that no other sweep holds, in one transaction whatever their number:
    the grants are locked with `skip_locked` (with what the emails need joined in, and
    whether an active renewal continues each), checked against the transitions table,
    updated with one UPDATE; their emails go to the outbox in one INSERT (rendered when
    sent) and their events (from which status each expired) to the audit trail in one append,
    recorded last. `ict` is the sweep's list of ICT recipients (read once per batch);
    without it it is read here. Returns the grants expired."""
    with transaction.atomic():
        locked = _grants_due_lock(grant_ids=grant_ids, today=today)
        if not locked:
            return []
        for grant in locked:
            transition_check(grant, AccessGrant.Status.EXPIRED)
            grant.expired_from = grant.status
        now = timezone.now()
        AccessGrant.objects.filter(pk__in=[grant.pk for grant in locked]).update(
            status=AccessGrant.Status.EXPIRED, expired_at=now, updated_at=now
        )
        if ict is None:
            ict = ict_recipients()
        directors = _directors_by_id({grant.director_id for grant in locked})
        sites = {
            grant_id: ", ".join(names)
            for grant_id, names in site_names_by_grant([grant.pk for grant in locked]).items()
        }
        emails, grant_url = [], _grant_urls()
        for grant in locked:
            grant.status, grant.expired_at, grant.updated_at = AccessGrant.Status.EXPIRED, now, now
            emails.extend(
                _expiry_emails(
                    grant=grant,
                    ict=ict,
                    grant_url=grant_url(grant.pk),
                    director=directors.get(grant.director_id),
                    sites=sites.get(grant.pk, ""),
                )
            )
        email_queue_many(emails)
        expired_label = AccessGrant.Status.EXPIRED.label  # what get_status_display() says now
        record_many(
            actor=SystemActor("grant_expiry_sweep"),
            events=[
                NewEvent(
                    action="grant.expired",
                    obj=grant,
                    # str(grant) would read its case: the reference is joined in instead
                    object_repr=f"{grant.reference} ({expired_label})",
                    changes={
                        "status": [grant.expired_from, "expired"],
                        "end_date": grant.end_date,
                    },
                )
                for grant in locked
            ],
        )
    return locked


def _due_to_expire(today: datetime.date) -> Q:
    """Current grants (active, or still awaiting provisioning) whose end date has passed. As
    `status IN ('awaiting', 'active')`, the predicate of the partial index
    `grant_current_end_idx` (end_date, id), which the due-id query reads in order."""
    return Q(status__in=AccessGrant.Status.current(), end_date__lt=today)


def _grants_due_lock(*, grant_ids: list[int], today: datetime.date) -> list[AccessGrant]:
    """Lock those of these grants still due to expire that no other sweep holds. Only the
    grant rows become model instances: what the emails need from the case and the holder
    (reference, email, name, their director's id) and whether an active renewal continues
    each are joined in as plain values, and the sites prefetched by name. (Building an
    instance for each of the seven joined rows was the largest Python cost of a batch.) The
    sites are read by `site_names_by_grant`."""
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
    return list(
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
        .filter(_due_to_expire(today), pk__in=grant_ids)
        .order_by("id")
    )


def _directors_by_id(ids: set[int | None]) -> dict[int, User]:
    """The holders' directors of a batch (a few dozen people at most), read once."""
    ids.discard(None)
    if not ids:
        return {}
    return {user.pk: user for user in User.objects.filter(pk__in=ids).select_related("profile")}


def _expiry_emails(
    *,
    grant: AccessGrant,
    ict: list[IctRecipient],
    grant_url: str,
    director: User | None,
    sites: str,
) -> list[Outgoing]:
    """The holder, their director and (unless a renewal continues the same access) ICT are
    told that the grant has ended. `grant` comes from `_grants_due_lock` (with the holder's
    and case's values joined in). For a grant never provisioned the same templates say that
    it ended before ICT set it up, and tell ICT it has left their queue (`was_provisioned`).
    `sites` is its sites by name (`site_names_by_grant`)."""
    continues = grant.successor_end_date is not None
    context = {
        "grant": {
            "start_date": email_date(grant.start_date),
            "end_date": email_date(grant.end_date),
            "tier": grant.tier,
            "pc_asset_tag": grant.pc_asset_tag,
            "holder": {"email": grant.holder_email},
        },
        "reference": grant.reference,
        "holder_name": grant.holder_name,
        "tier": TIER_LABELS.get(grant.tier, grant.tier),  # get_tier_display(), from a dict
        "sites": sites,
        "grant_url": grant_url,
        "continues": continues,
        "was_provisioned": grant.provisioned_at is not None,
    }
    if continues:
        context["successor_end_date"] = email_date(grant.successor_end_date)
    emails = [
        Outgoing(
            template="grant_expired",
            context=context,
            to=[(grant.holder_email, f"grant-{grant.pk}-expired")],
            related=grant,
        )
    ]
    if director is not None and director.pk != grant.holder_id:
        emails.append(
            Outgoing(
                template="grant_expired_director",
                context={**context, "recipient_name": director.display_name},
                to=[(director.email, f"grant-{grant.pk}-expired-director")],
                related=grant,
            )
        )
    if not continues:  # a renewal that continues the same access keeps it open
        ict_message = _ict_email(
            grant=grant,
            template="grant_withdraw_ict",
            key="expired",
            context={**context, "why": "expired"},
            recipients=ict,
        )
        if ict_message is not None:
            emails.append(ict_message)
    return emails


# --- expiry notices ------------------------------------------------------------------------------


def expiry_notice_date(*, end_date: datetime.date, days_before: int) -> datetime.date:
    """The day a notice goes out: `days_before` the end date, or the working day before that
    if it falls on a weekend (or a bank holiday)."""
    return working_day_on_or_before(end_date - datetime.timedelta(days=days_before))


def _notice_days() -> list[int]:
    return sorted({int(d) for d in settings.SNS_EXPIRY_NOTICE_DAYS if int(d) > 0})


def _latest_end_date_due(*, today: datetime.date, days_before: int) -> datetime.date:
    """The latest end date whose `days_before` notice is due by `today`."""
    end = today + datetime.timedelta(days=days_before)
    while (
        expiry_notice_date(end_date=end + datetime.timedelta(days=1), days_before=days_before)
        <= today
    ):
        end += datetime.timedelta(days=1)
    return end


def expiry_notice_due(*, grant: AccessGrant, today: datetime.date) -> int | None:
    """Which notice (days before) is due for this grant today, if any: the nearest one whose
    day has come. Missed earlier notices are not sent late: only the most urgent one."""
    if grant.end_date < today:
        return None
    for days in _notice_days():
        if expiry_notice_date(end_date=grant.end_date, days_before=days) <= today:
            return days
    return None


def _noticeable() -> Q:
    return Q(status=AccessGrant.Status.ACTIVE, lapse_chosen_at__isnull=True) & ~Q(
        Exists(AccessGrant.objects.filter(renewed_from=OuterRef("pk")))
    )


def expiry_notices_due_ids(
    *, today: datetime.date, days_before: int, after: tuple | None = None, limit: int
) -> list[tuple[datetime.date, int]]:
    """(end_date, id) of grants whose `days_before` notice is due and not yet sent, in end-date
    order, from the keyset `after`. A notice is due for end dates up to the latest one due for
    it, and above the latest one due for any nearer notice (that one is sent instead)."""
    upper = _latest_end_date_due(today=today, days_before=days_before)
    nearer = [d for d in _notice_days() if d < days_before]
    lower = max(
        [_latest_end_date_due(today=today, days_before=d) for d in nearer],
        default=today - datetime.timedelta(days=1),
    )
    query = (
        AccessGrant.objects.filter(_noticeable(), end_date__gt=lower, end_date__lte=upper)
        .filter(end_date__gte=today)
        .exclude(Exists(ExpiryNotice.objects.filter(grant=OuterRef("pk"), days_before=days_before)))
    )
    if after is not None:
        query = query.filter(after_keyset(("end_date", "id"), after))
    return list(query.order_by("end_date", "id").values_list("end_date", "id")[:limit])


def expiry_notice_send(
    *, grant_id: int, days_before: int, today: datetime.date | None = None
) -> ExpiryNotice | None:
    """Send one expiry notice if it is still due and unsent. The ExpiryNotice row and the
    outbox row are written in one transaction (the email leaves after commit), so a crash
    before commit leaves neither and a rerun sends it once; after commit both exist."""
    today = today or _today()
    with transaction.atomic():
        locked = (
            AccessGrant.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_noticeable(), pk=grant_id)
            .first()
        )
        if locked is None:  # another sweep holds it, or it no longer needs notices
            return None
        if expiry_notice_due(grant=locked, today=today) != days_before:
            return None
        if ExpiryNotice.objects.filter(grant=locked, days_before=days_before).exists():
            return None
        try:
            with transaction.atomic():
                notice = ExpiryNotice.objects.create(grant=locked, days_before=days_before)
        except IntegrityError:
            return None
        days_left = (locked.end_date - today).days
        email_queue(
            to=locked.holder.email,
            template="grant_expiry_notice",
            context={
                **_grant_context(locked),
                "days_left": days_left,
                "ends_on": email_day_and_date(locked.end_date),
                "renew_url": absolute_url(
                    reverse("access_requests:grant-renew", kwargs={"pk": locked.pk})
                ),
                "lapse_url": _grant_url(locked) + "#let-it-lapse",
            },
            related=locked,
            dedupe_key=f"grant-{locked.pk}-expiry-notice-{days_before}",
        )
        record(
            actor=SystemActor("grant_expiry_notice_sweep"),
            action="grant.expiry_notice_sent",
            obj=locked,
            changes={"days_before": days_before, "end_date": locked.end_date},
        )
    return notice


@dataclass
class SweepResult:
    done: int = 0
    failed: int = 0


def _sweep_items(
    *,
    fetch: Callable[[tuple | None], list[tuple]],
    handle: Callable[[int, object], object],
    name: str,
    result: SweepResult,
    per_batch: Callable[[], object] | None = None,
    handle_batch: Callable[[list[int], object], list] | None = None,
) -> None:
    """Walk due rows in keyset batches and log failures. `per_batch` is called before each
    batch and its value passed to the handlers (what every item needs, read once per
    batch). With `handle_batch`, a batch is handled in one transaction (it returns what it
    changed); if that fails, each item of the batch is tried on its own with `handle`, so
    one bad item holds back nobody else. Batches are handled two at a time on PostgreSQL
    (`batches_handle`), and emails queued for sending a chunk at a time."""

    def batches():
        after = None
        while batch := fetch(after):
            after = batch[-1]
            yield [key[-1] for key in batch]

    def batch_handle(ids: list[int]) -> tuple[int, int]:
        shared = per_batch() if per_batch is not None else None
        if handle_batch is not None:
            try:
                return len(handle_batch(ids, shared)), 0
            except Exception:
                logger.exception("%s: a batch of %s failed; trying each on its own", name, len(ids))
        done = failed = 0
        for grant_id in ids:
            try:
                if handle(grant_id, shared) is not None:
                    done += 1
            except Exception:
                failed += 1
                logger.exception("%s: grant %s failed; the next run tries again", name, grant_id)
        return done, failed

    for done, failed in batches_handle(
        batches(), batch_handle, each_thread_within=email_sends_batched
    ):
        result.done += done
        result.failed += failed


def grant_expiry_notice_sweep(
    *, today: datetime.date | None = None, batch_size: int = SWEEP_BATCH_SIZE
) -> SweepResult:
    today = today or _today()
    result = SweepResult()
    for days in _notice_days():
        _sweep_items(
            fetch=lambda after, days=days: expiry_notices_due_ids(
                today=today, days_before=days, after=after, limit=batch_size
            ),
            handle=lambda grant_id, _, days=days: expiry_notice_send(
                grant_id=grant_id, days_before=days, today=today
            ),
            name="grant_expiry_notice_sweep",
            result=result,
        )
    return result


def grants_due_to_expire_ids(
    *, today: datetime.date, after: tuple | None = None, limit: int
) -> list[tuple[datetime.date, int]]:
    query = AccessGrant.objects.filter(_due_to_expire(today))
    if after is not None:
        query = query.filter(after_keyset(("end_date", "id"), after))
    return list(query.order_by("end_date", "id").values_list("end_date", "id")[:limit])


def grant_expiry_sweep(
    *, today: datetime.date | None = None, batch_size: int = SWEEP_BATCH_SIZE
) -> SweepResult:
    today = today or _today()
    result = SweepResult()
    _sweep_items(
        fetch=lambda after: grants_due_to_expire_ids(today=today, after=after, limit=batch_size),
        handle=lambda grant_id, ict: grant_expire(grant_id=grant_id, today=today, ict=ict),
        handle_batch=lambda ids, ict: _grants_expire(grant_ids=ids, today=today, ict=ict),
        name="grant_expiry_sweep",
        result=result,
        per_batch=ict_recipients,
    )
    return result


# --- safe-use reminders -----------------------------------------------------------------------


def safe_use_period(*, grant: AccessGrant, today: datetime.date) -> int:
    """0 before the first reminder is due, then 1, 2, … every SNS_SAFE_USE_REMINDER_DAYS days
    counted from provisioning."""
    if grant.provisioned_at is None:
        return 0
    provisioned_on = timezone.localdate(grant.provisioned_at)
    return max(0, (today - provisioned_on).days // settings.SNS_SAFE_USE_REMINDER_DAYS)


def _safe_use_candidates(today: datetime.date):
    return AccessGrant.objects.filter(
        status=AccessGrant.Status.ACTIVE,
        tier=AccessTier.ACTIVE,
        end_date__gte=today,
        provisioned_at__isnull=False,
    )


class _DaysSince(Func):
    """Whole days from a datetime column's local date (`TruncDate`, in the current time zone)
    to `day`; the period number is this divided by SNS_SAFE_USE_REMINDER_DAYS (an integer
    division on both databases). PostgreSQL subtracts the dates; SQLite (`make run`'s demo
    database, which has no date arithmetic) takes the difference of their Julian days."""

    output_field = IntegerField()

    def __init__(self, day: datetime.date, column: str):
        super().__init__(Value(day, output_field=DateField()), TruncDate(column))

    def as_sql(self, compiler, connection, **extra_context):
        (day, day_params), (date, date_params) = (
            compiler.compile(e) for e in self.get_source_expressions()
        )
        return f"({day}::date - {date})", [*day_params, *date_params]

    def as_sqlite(self, compiler, connection, **extra_context):
        (day, day_params), (date, date_params) = (
            compiler.compile(e) for e in self.get_source_expressions()
        )
        return (
            f"CAST(julianday({day}) - julianday({date}) AS INTEGER)",
            [*day_params, *date_params],
        )


def safe_use_reminders_due_ids(
    *, today: datetime.date, after: tuple | None = None, limit: int
) -> list[tuple[datetime.date, int]]:
    """Active-tier grants whose current period has no reminder yet."""
    period = ExpressionWrapper(
        _DaysSince(today, "provisioned_at") / settings.SNS_SAFE_USE_REMINDER_DAYS,
        output_field=IntegerField(),
    )
    earliest = timezone.make_aware(
        datetime.datetime.combine(
            today - datetime.timedelta(days=settings.SNS_SAFE_USE_REMINDER_DAYS - 1),
            datetime.time.min,
        )
    )
    query = (
        _safe_use_candidates(today)
        .filter(provisioned_at__lt=earliest)
        .annotate(current_period=period)
        .exclude(
            Exists(
                SafeUseReminder.objects.filter(
                    grant=OuterRef("pk"), period=OuterRef("current_period")
                )
            )
        )
    )
    if after is not None:
        query = query.filter(after_keyset(("end_date", "id"), after))
    return list(query.order_by("end_date", "id").values_list("end_date", "id")[:limit])


def safe_use_reminder_send(
    *, grant_id: int, today: datetime.date | None = None
) -> SafeUseReminder | None:
    """Send this period's safe-use reminder once (the row and the outbox row together)."""
    today = today or _today()
    with transaction.atomic():
        locked = (
            _safe_use_candidates(today)
            .select_for_update(skip_locked=True, of=("self",))
            .filter(pk=grant_id)
            .first()
        )
        if locked is None:
            return None
        period = safe_use_period(grant=locked, today=today)
        if period < 1:
            return None
        if SafeUseReminder.objects.filter(grant=locked, period=period).exists():
            return None
        confirm_by = today + datetime.timedelta(days=settings.SNS_SAFE_USE_CONFIRM_DAYS)
        try:
            with transaction.atomic():
                reminder = SafeUseReminder.objects.create(
                    grant=locked, period=period, confirm_by=confirm_by
                )
        except IntegrityError:
            return None
        email_queue(
            to=locked.holder.email,
            template="grant_safe_use_reminder",
            context={
                **_grant_context(locked),
                "confirm_by": email_date(confirm_by),
                "confirm_url": absolute_url(
                    reverse("access_requests:grant-safe-use", kwargs={"pk": locked.pk})
                ),
            },
            related=locked,
            dedupe_key=f"grant-{locked.pk}-safe-use-{period}",
        )
        record(
            actor=SystemActor("grant_safe_use_sweep"),
            action="grant.safe_use_reminded",
            obj=locked,
            changes={"period": period, "confirm_by": confirm_by},
        )
    return reminder


def grant_safe_use_sweep(
    *, today: datetime.date | None = None, batch_size: int = SWEEP_BATCH_SIZE
) -> SweepResult:
    today = today or _today()
    result = SweepResult()
    _sweep_items(
        fetch=lambda after: safe_use_reminders_due_ids(today=today, after=after, limit=batch_size),
        handle=lambda grant_id, _: safe_use_reminder_send(grant_id=grant_id, today=today),
        name="grant_safe_use_sweep",
        result=result,
    )
    return result


def safe_use_confirm(
    *, grant: AccessGrant, actor, client: Client | None = None
) -> SafeUseReminder | None:
    """The holder confirms they have reviewed their friend lists and privacy settings. Confirms
    the latest reminder; returns None when there is nothing to confirm."""
    with transaction.atomic():
        locked = _lock(grant)
        if locked.holder_id != getattr(actor, "pk", None):
            raise PermissionDenied("Only the holder can confirm safe use")
        reminder = (
            SafeUseReminder.objects.select_for_update()
            .filter(grant=locked)
            .order_by("-period")
            .first()
        )
        if reminder is None or reminder.confirmed_at is not None:
            return None
        reminder.confirmed_at = timezone.now()
        reminder.save(update_fields=["confirmed_at"])
        record(
            actor=actor,
            action="grant.safe_use_confirmed",
            obj=locked,
            changes={"period": reminder.period, "confirmed_at": [None, reminder.confirmed_at]},
            client=client,
        )
    return reminder


# --- renewal -------------------------------------------------------------------------------------


def grant_is_renewable(*, grant: AccessGrant, today: datetime.date | None = None) -> bool:
    """Expired, or active and within the notice window (or already sent a notice)."""
    today = today or _today()
    if grant.status == AccessGrant.Status.EXPIRED:
        return True
    if grant.status != AccessGrant.Status.ACTIVE:
        return False
    window = max(_notice_days(), default=30)
    return (grant.end_date - today).days <= window or grant.expiry_notices.exists()


def grant_renewal_start(*, grant: AccessGrant, actor, client: Client | None = None) -> BusinessCase:
    """Start a renewal: a new draft case pre-filled from the old one, linked by `renewal_of`.
    Starting twice returns the renewal already under way."""
    with transaction.atomic():
        locked = _lock(grant)
        if locked.holder_id != getattr(actor, "pk", None):
            raise PermissionDenied("Only the holder can renew a grant")
        under_way = (
            BusinessCase.objects.filter(
                renewal_of=locked,
                status__in=[BusinessCase.Status.DRAFT, BusinessCase.Status.SUBMITTED],
            )
            .order_by("-created_at")
            .first()
        )
        if under_way is not None:
            return under_way
        if AccessGrant.objects.filter(renewed_from=locked).exists():
            raise NotRenewable("This access has already been renewed")
        if not grant_is_renewable(grant=locked):
            raise NotRenewable("You can renew access from 30 days before it ends")
        old = locked.business_case
        today = _today()
        case = BusinessCase.objects.create(
            requester=locked.holder,
            tier=locked.tier,
            paying_business_unit=locked.paying_business_unit or old.paying_business_unit,
            budget_holder_name=old.budget_holder_name,
            pc_choice=BusinessCase.PcChoice.EXISTING
            if locked.tier == AccessTier.ACTIVE and locked.pc_asset_tag
            else old.pc_choice,
            pc_asset_tag=locked.pc_asset_tag if locked.tier == AccessTier.ACTIVE else "",
            purpose=old.purpose,
            audience=old.audience,
            integration=old.integration,
            start_date=max(locked.end_date + datetime.timedelta(days=1), today),
            renewal_of=locked,
        )
        granted_sites = set(locked.sites.values_list("pk", flat=True))
        for identity in old.site_identities.select_related("site").order_by("site__name"):
            if identity.site_id not in granted_sites or not identity.site.is_active:
                continue
            SiteIdentity.objects.create(
                business_case=case,
                site=identity.site,
                display_name=identity.display_name,
                uses_pseudonym=identity.uses_pseudonym,
                pseudonym_reason=identity.pseudonym_reason,
                identifies_as_official=identity.identifies_as_official,
                not_official_reason=identity.not_official_reason,
            )
        record(
            actor=actor,
            action="case.renewal_started",
            obj=case,
            changes={"status": [None, "draft"], "renewal_of": old.reference, "grant": locked.pk},
            client=client,
        )
    return case
