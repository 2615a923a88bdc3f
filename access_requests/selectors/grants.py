"""Read queries for access grants. Which grants a person may see is decided here."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from access_requests.models import (
    AccessGrant,
    AccessTier,
    BusinessCase,
    SafeUseReminder,
    Site,
)
from people.models import Role, StaffProfile, display_name_of


def _with_sites(query: QuerySet[AccessGrant]) -> QuerySet[AccessGrant]:
    return query.prefetch_related(Prefetch("sites", queryset=Site.objects.order_by("name")))


def grants_for_holder(*, user) -> QuerySet[AccessGrant]:
    return _with_sites(
        AccessGrant.objects.filter(holder=user).select_related("business_case")
    ).order_by("-end_date", "-id")


def _renewal_under_way():
    """True for a grant (the query's row) with a renewal grant, or a renewal case still in
    draft or waiting for a decision."""
    open_case = BusinessCase.objects.filter(
        renewal_of=OuterRef("pk"),
        status__in=[BusinessCase.Status.DRAFT, BusinessCase.Status.SUBMITTED],
    )
    return Exists(AccessGrant.objects.filter(renewed_from=OuterRef("pk"))) | Exists(open_case)


def grants_for_home(
    *, user, today: datetime.date | None = None, limit: int = 10
) -> list[AccessGrant]:
    """The person's first `limit` current grants, and those that ended in the last 30 days
    (to renew), newest end first, with what the home page shows of each.

    Each has `case_reference`, `has_renewal` (`_renewal_under_way`), its sites (A to Z) and
    `reminders_newest_first` (safe-use reminders, only ever sent on the active tier, so
    only read for active-tier grants). The reference and the renewal are annotations
    rather than a `select_related` and a prefetch: compiling a query per prefetch and
    building the whole case row cost the home page more than the database did.
    """
    today = today or timezone.localdate()
    recent = today - datetime.timedelta(days=30)
    grants = list(
        _with_sites(AccessGrant.objects.filter(holder=user))
        .filter(
            Q(status__in=AccessGrant.Status.current())
            | Q(status=AccessGrant.Status.EXPIRED, end_date__gte=recent)
            | Q(status=AccessGrant.Status.RETURNED, updated_at__date__gte=recent)
        )
        .annotate(
            case_reference=F("business_case__reference"),
            has_renewal=_renewal_under_way(),
        )
        .order_by("-end_date", "-id")[:limit]
    )
    # The prefetch skips a grant that already has the attribute: set it on the others only.
    active_tier = [grant for grant in grants if grant.tier == AccessTier.ACTIVE]
    for grant in grants:
        if grant.tier != AccessTier.ACTIVE:
            grant.reminders_newest_first = []
    if active_tier:
        prefetch_related_objects(
            active_tier,
            Prefetch(
                "safe_use_reminders",
                queryset=SafeUseReminder.objects.order_by("-period"),
                to_attr="reminders_newest_first",
            ),
        )
    return grants


def grant_visible_to(*, user) -> QuerySet[AccessGrant]:
    """Grants a person may open: their own, their directorate's (directors), any (admins,
    auditors and ICT)."""
    query = AccessGrant.objects.select_related(
        "business_case",
        "holder__profile__business_unit__directorate__director",
        "paying_business_unit",
        "provisioned_by",
        "revoked_by",
        "approved_by",
    )
    query = _with_sites(query)
    if (
        user.has_perm("access_requests.revoke_accessgrant")
        or user.has_perm("access_requests.view_accessgrant")
        or user.has_perm("access_requests.provision_accessgrant")
    ):
        return query
    return query.filter(
        Q(holder=user) | Q(holder__profile__business_unit__directorate__director=user)
    )


def grants_awaiting_provisioning() -> QuerySet[AccessGrant]:
    """ICT's queue, soonest start first, with everything the queue page shows."""
    return _with_sites(
        AccessGrant.objects.filter(status=AccessGrant.Status.AWAITING_PROVISIONING).select_related(
            "business_case",
            "holder__profile__business_unit__directorate",
            "paying_business_unit",
        )
    ).order_by("start_date", "id")


def safe_use_unconfirmed_ids(*, user, today: datetime.date | None = None) -> QuerySet:
    """The ids of safe-use reminders not confirmed by their date, on grants still active,
    soonest due first: all of them for admins, their directorate's holders for a director,
    none for anyone else.

    Ids only: joined to the case, holder and profile for the names, PostgreSQL took far
    longer to plan the eight-table join than to run it; `safe_use_unconfirmed_list` reads
    the names of a page's ids in a second query.
    """
    today = today or timezone.localdate()
    query = SafeUseReminder.objects.filter(
        confirmed_at__isnull=True,
        confirm_by__lt=today,
        grant__status=AccessGrant.Status.ACTIVE,
        grant__tier=AccessTier.ACTIVE,
    )
    if user.has_role(Role.ADMIN) or user.has_perm("access_requests.revoke_accessgrant"):
        pass
    elif user.has_role(Role.DIRECTOR):
        holders = StaffProfile.objects.filter(business_unit__directorate__director=user).values(
            "user_id"
        )
        query = query.filter(grant__holder_id__in=holders)
    else:
        return query.none().values_list("id", flat=True)
    # Only the newest reminder of each grant matters: a later period supersedes it.
    newer = SafeUseReminder.objects.filter(grant=OuterRef("grant"), period__gt=OuterRef("period"))
    return query.exclude(Exists(newer)).order_by("confirm_by", "id").values_list("id", flat=True)


@dataclass(frozen=True)
class SafeUseUnconfirmed:
    """A line of the home page's "Safe use not confirmed"."""

    grant_id: int
    reference: str
    holder_name: str
    confirm_by: datetime.date


def safe_use_unconfirmed_list(
    *, user, today: datetime.date, limit: int
) -> list[SafeUseUnconfirmed]:
    """The first `limit` of `safe_use_unconfirmed_ids`, as the home page lists them.

    In two steps: the reminders' ids, then the four values shown, by id. As one query
    PostgreSQL spent ~8 ms (far more under load) planning the eight-table join for 0.2 ms
    of work; each step alone plans in a fraction of that.
    """
    ids = list(safe_use_unconfirmed_ids(user=user, today=today)[:limit])
    if not ids:
        return []
    values = SafeUseReminder.objects.filter(pk__in=ids).values_list(
        "pk",
        "grant_id",
        "grant__business_case__reference",
        "grant__holder__profile__commonly_used_name",
        "grant__holder__first_name",
        "grant__holder__last_name",
        "grant__holder__email",
        "confirm_by",
    )
    by_id = {
        pk: SafeUseUnconfirmed(
            grant_id, reference, display_name_of(common, first, last, email), confirm_by
        )
        for pk, grant_id, reference, common, first, last, email, confirm_by in values
    }
    return [by_id[pk] for pk in ids if pk in by_id]


@dataclass(frozen=True)
class NextStep:
    """What the holder sees about a grant on the home page and the grant page."""

    text: str
    action_label: str = ""
    action_url_name: str = ""


def grant_next_step(grant: AccessGrant, today: datetime.date | None = None) -> NextStep:
    today = today or timezone.localdate()
    status = grant.status
    if status == AccessGrant.Status.AWAITING_PROVISIONING:
        if grant.tier == AccessTier.ACTIVE:
            return NextStep(
                "ICT is setting up your standalone PC. We will email you when it is ready."
            )
        return NextStep("ICT is opening the sites for you. We will email you when it is ready.")
    if status == AccessGrant.Status.RETURNED:
        return NextStep(f"ICT could not set up this access: {grant.returned_reason}")
    if status == AccessGrant.Status.EXPIRED:
        if grant_has_renewal(grant):
            return NextStep("Your renewal is under way.")
        return NextStep(
            "This access has ended. You can renew it.", "Renew", "access_requests:grant-renew"
        )
    if status != AccessGrant.Status.ACTIVE:
        return NextStep("This access has ended.")
    reminders = getattr(grant, "reminders_newest_first", None)
    if reminders is None:
        reminders = list(grant.safe_use_reminders.order_by("-period")[:1])
    if reminders and reminders[0].confirmed_at is None:
        return NextStep(
            "Review your friend lists and privacy settings, then confirm by "
            f"{reminders[0].confirm_by:%-d %B %Y}.",
            "Confirm you have reviewed them",
            "access_requests:grant-safe-use",
        )
    if grant.start_date > today:
        return NextStep(f"You can use this access from {grant.start_date:%-d %B %Y}.")
    days_left = (grant.end_date - today).days
    window = max(settings.SNS_EXPIRY_NOTICE_DAYS, default=30)
    if days_left <= window:
        if grant_has_renewal(grant):
            return NextStep("Your renewal is under way.")
        if grant.lapse_chosen_at:
            return NextStep(f"You chose to let this access lapse on {grant.end_date:%-d %B %Y}.")
        return NextStep(
            f"This access ends in {days_left} day{'s' if days_left != 1 else ''}. "
            "Renew it, or let it lapse.",
            "Renew",
            "access_requests:grant-renew",
        )
    return NextStep("Nothing to do. Keep your personal and professional identities apart.")


def grant_has_renewal(grant: AccessGrant) -> bool:
    """Whether a renewal is under way (`_renewal_under_way`). Reads `grants_for_home`'s
    annotation when it is there."""
    has_renewal = getattr(grant, "has_renewal", None)
    if has_renewal is not None:
        return has_renewal
    return AccessGrant.objects.filter(_renewal_under_way(), pk=grant.pk).exists()


def site_names_by_grant(grant_ids: list[int]) -> dict[int, list[str]]:
    """Each grant's site names, A to Z, read as values in one query (no Site instance per
    row, as a prefetch would build)."""
    names: dict[int, list[str]] = {}
    links = (
        AccessGrant.sites.through.objects.filter(accessgrant_id__in=grant_ids)
        .order_by("site__name")
        .values_list("accessgrant_id", "site__name")
    )
    for grant_id, name in links:
        names.setdefault(grant_id, []).append(name)
    return names
