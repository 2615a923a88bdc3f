"""Read queries for access grants: which grants a person may see and what they may do with
them, the pages' lists, and which grants the sweeps find due (expiry notices, expiry,
safe-use reminders)."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import (
    DateField,
    Exists,
    ExpressionWrapper,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from access_requests.models import (
    AccessGrant,
    AccessTier,
    BusinessCase,
    ExpiryNotice,
    SafeUseReminder,
    Site,
)
from core.lookups import ids_any
from core.prepared import PreparedQuery
from core.sweeping import after_keyset
from core.working_days import working_day_on_or_before
from people.models import Role, StaffProfile, User, display_name_of


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
        status__in=BusinessCase.Status.under_way(),
    )
    return Exists(AccessGrant.objects.filter(renewed_from=OuterRef("pk"))) | Exists(open_case)


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
            "business_case__budget_holder__profile",
            "holder__profile__business_unit__directorate",
            "paying_business_unit",
        )
    ).order_by("start_date", "id")


def _safe_use_unconfirmed(*, today: datetime.date, director_id: int | None = None) -> QuerySet:
    """Safe-use reminders not confirmed by their date, on grants still active, soonest due
    first: all of them, or the holders' of one director's directorate."""
    query = SafeUseReminder.objects.filter(
        confirmed_at__isnull=True,
        confirm_by__lt=today,
        grant__status=AccessGrant.Status.ACTIVE,
        grant__tier=AccessTier.ACTIVE,
    )
    if director_id is not None:
        holders = StaffProfile.objects.filter(
            business_unit__directorate__director_id=director_id
        ).values("user_id")
        query = query.filter(grant__holder_id__in=holders)
    # Only the newest reminder of each grant matters: a later period supersedes it.
    newer = SafeUseReminder.objects.filter(grant=OuterRef("grant"), period__gt=OuterRef("period"))
    return query.exclude(Exists(newer)).order_by("confirm_by", "id")


@dataclass(frozen=True)
class SafeUseUnconfirmed:
    """A line of the home page's "Safe use not confirmed"."""

    grant_id: int
    reference: str
    holder_name: str
    confirm_by: datetime.date


# The home page lists this many.
SAFE_USE_UNCONFIRMED_SHOWN = 25


def _safe_use_unconfirmed_lines(*, today: datetime.date, director_id: int | None = None):
    return _safe_use_unconfirmed(today=today, director_id=director_id).values_list(
        "grant_id",
        "grant__business_case__reference",
        "grant__holder__profile__commonly_used_name",
        "grant__holder__first_name",
        "grant__holder__last_name",
        "grant__holder__email",
        "confirm_by",
    )[:SAFE_USE_UNCONFIRMED_SHOWN]


# Asked on every admin's and director's home page: built once per process and planned once
# per connection (`core.prepared`). Planned afresh, the join of the reminders to their
# grant, case, holder and profile took PostgreSQL longer to plan than to run.
_SAFE_USE_ALL = PreparedQuery(
    "safe_use_unconfirmed_all",
    lambda today: _safe_use_unconfirmed_lines(today=today),
    today=datetime.date(1, 1, 6),
)
_SAFE_USE_OF_DIRECTOR = PreparedQuery(
    "safe_use_unconfirmed_of_director",
    lambda today, director_id: _safe_use_unconfirmed_lines(today=today, director_id=director_id),
    today=datetime.date(1, 1, 7),
    director_id=-(2**62) + 29,
)


def safe_use_unconfirmed_list(*, user, today: datetime.date) -> list[SafeUseUnconfirmed]:
    """The first `SAFE_USE_UNCONFIRMED_SHOWN` safe-use reminders not confirmed by their
    date, on grants still active, soonest due first, as the home page lists them: all of
    them for admins, their directorate's holders' for a director, none for anyone else."""
    if user.has_role(Role.ADMIN) or user.has_perm("access_requests.revoke_accessgrant"):
        rows = _SAFE_USE_ALL.run(today=today)
    elif user.has_role(Role.DIRECTOR):
        rows = _SAFE_USE_OF_DIRECTOR.run(today=today, director_id=user.pk)
    else:
        return []
    return [
        SafeUseUnconfirmed(grant_id, reference, display_name_of(common, first, last, email), due)
        for grant_id, reference, common, first, last, email, due in rows
    ]


@dataclass(frozen=True)
class NextStep:
    """What the holder sees about a grant on the home page and the grant page."""

    text: str
    action_label: str = ""
    action_url_name: str = ""


def grant_next_step(grant: AccessGrant, today: datetime.date | None = None) -> NextStep:
    """What the holder is told to do next about this grant: an `AccessGrant`, or the home
    page's `HomeGrant` (which carries its newest reminder and its renewal)."""
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
    """Whether a renewal is under way (`_renewal_under_way`). Reads the home page's value
    (`selectors.home.grants_for_home`) when it is there."""
    has_renewal = getattr(grant, "has_renewal", None)
    if has_renewal is not None:
        return has_renewal
    return AccessGrant.objects.filter(_renewal_under_way(), pk=grant.pk).exists()


def grant_renewal_under_way(*, grant: AccessGrant) -> BusinessCase | None:
    """The grant's renewal case in draft, waiting for a decision or sent back, if any."""
    return (
        BusinessCase.objects.filter(
            renewal_of=grant,
            status__in=BusinessCase.Status.under_way(),
        )
        .order_by("-pk")
        .first()
    )


def _grant_sites(ids: list[int]):
    return (
        AccessGrant.sites.through.objects.filter(
            ids_any(AccessGrant.sites.through, "accessgrant_id", ids)
        )
        .order_by("site__name")
        .values_list("accessgrant_id", "site__name")
    )


# Read for every row of the home page's grants, the register and its API, the directorate
# page and the reviewer's cards: built once per process and planned once per connection
# (`core.prepared`), the ids as one array.
_GRANT_SITES = PreparedQuery("grant_site_names", _grant_sites, ids=[-(2**62) + 37])


def site_names_by_grant(grant_ids: list[int]) -> dict[int, list[str]]:
    """Each grant's site names, A to Z, read as values in one query (no Site instance per
    row, as a prefetch would build); none for no ids."""
    names: dict[int, list[str]] = {}
    if grant_ids:
        for grant_id, name in _GRANT_SITES.run(ids=list(grant_ids)):
            names.setdefault(grant_id, []).append(name)
    return names


def _reminders(ids: list[int]):
    return SafeUseReminder.objects.filter(ids_any(SafeUseReminder, "grant_id", ids)).values_list(
        "grant_id", "period", "confirm_by", "confirmed_at"
    )


_REMINDERS = PreparedQuery("grant_reminder_rows", _reminders, ids=[-(2**62) + 61])


def safe_use_reminder_rows(grant_ids: list[int]) -> list[tuple]:
    """Every safe-use reminder of these grants as (grant_id, period, confirm_by,
    confirmed_at), in no order, by one prepared query (the directorate page's and the
    reviewer's page's active-tier grants); none for no ids."""
    return _REMINDERS.run(ids=list(grant_ids)) if grant_ids else []


def grant_for_update(grant: AccessGrant | int) -> AccessGrant:
    """The grant's row, locked until the caller's transaction ends: a service takes it
    before checking the grant's status, so that two changes never both pass the check."""
    pk = grant if isinstance(grant, int) else grant.pk
    return AccessGrant.objects.select_for_update(of=("self",)).get(pk=pk)


# --- what a person may do with a grant ------------------------------------------------------


def grant_is_usable(grant: AccessGrant, today: datetime.date | None = None) -> bool:
    """Usable means provisioned (active) and within its dates."""
    today = today or timezone.localdate()
    return grant.status == AccessGrant.Status.ACTIVE and grant.start_date <= today <= grant.end_date


def _director_of(user: User) -> User | None:
    profile = getattr(user, "profile", None)
    if profile is None:
        return None
    return profile.business_unit.directorate.director


def grant_may_revoke(*, user, grant: AccessGrant) -> bool:
    """An active admin, or the active director of the holder's directorate now (read
    afresh: `grant_revoke` asks again with the grant locked, so a director replaced, or a
    holder who moved, since the page was shown cannot revoke)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.has_perm("access_requests.revoke_accessgrant"):
        return True
    director = _director_of(grant.holder)
    return director is not None and director.pk == user.pk


def grant_may_surrender(*, user, grant: AccessGrant) -> bool:
    """The holder may give up a grant the transitions table lets go to surrendered."""
    return grant.holder_id == getattr(user, "pk", None) and (
        AccessGrant.Status.SURRENDERED in AccessGrant.TRANSITIONS.get(grant.status, set())
    )


NOT_RENEWABLE_BECAUSE = {
    "revoked": "This access was revoked, so it cannot be renewed. You can ask for access again.",
    "surrendered": (
        "You gave up this access, so it cannot be renewed. You can ask for access again."
    ),
    "returned": "ICT returned this request, so it cannot be renewed. You can ask again.",
}


def grant_not_renewable_reason(*, grant: AccessGrant) -> str:
    """Why this grant can never be renewed (revoked, given up or returned by ICT), or ""."""
    return NOT_RENEWABLE_BECAUSE.get(grant.status, "")


def grant_is_renewable(*, grant: AccessGrant, today: datetime.date | None = None) -> bool:
    """Expired, or active and within the notice window (or already sent a notice)."""
    today = today or timezone.localdate()
    if grant.status == AccessGrant.Status.EXPIRED:
        return True
    if grant.status != AccessGrant.Status.ACTIVE:
        return False
    window = max(expiry_notice_days(), default=30)
    return (grant.end_date - today).days <= window or grant.expiry_notices.exists()


def renewal_continues_access(*, case: BusinessCase, previous: AccessGrant) -> bool:
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


# --- expiry notices ---------------------------------------------------------------------------


def expiry_notice_days() -> list[int]:
    """How many days before the end date the notices go out, nearest first."""
    return sorted({int(d) for d in settings.SNS_EXPIRY_NOTICE_DAYS if int(d) > 0})


def expiry_notice_date(*, end_date: datetime.date, days_before: int) -> datetime.date:
    """The day a notice goes out: `days_before` the end date, or the working day before that
    if it falls on a weekend (or a bank holiday)."""
    return working_day_on_or_before(end_date - datetime.timedelta(days=days_before))


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
    for days in expiry_notice_days():
        if expiry_notice_date(end_date=grant.end_date, days_before=days) <= today:
            return days
    return None


def grants_noticeable() -> Q:
    """Grants that still get expiry notices: active, the holder has not chosen to let them
    lapse, and not renewed."""
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
    nearer = [d for d in expiry_notice_days() if d < days_before]
    lower = max(
        [_latest_end_date_due(today=today, days_before=d) for d in nearer],
        default=today - datetime.timedelta(days=1),
    )
    query = (
        AccessGrant.objects.filter(grants_noticeable(), end_date__gt=lower, end_date__lte=upper)
        .filter(end_date__gte=today)
        .exclude(Exists(ExpiryNotice.objects.filter(grant=OuterRef("pk"), days_before=days_before)))
    )
    if after is not None:
        query = query.filter(after_keyset(("end_date", "id"), after))
    return list(query.order_by("end_date", "id").values_list("end_date", "id")[:limit])


# --- expiry -------------------------------------------------------------------------------------


def grants_due_to_expire(today: datetime.date) -> Q:
    """Current grants (active, or still awaiting provisioning) whose end date has passed. As
    `status IN ('awaiting', 'active')`, the predicate of the partial index
    `grant_current_end_idx` (end_date, id), which the due-id query reads in order."""
    return Q(status__in=AccessGrant.Status.current(), end_date__lt=today)


def grants_due_to_expire_ids(
    *, today: datetime.date, after: tuple | None = None, limit: int
) -> list[tuple[datetime.date, int]]:
    query = AccessGrant.objects.filter(grants_due_to_expire(today))
    if after is not None:
        query = query.filter(after_keyset(("end_date", "id"), after))
    return list(query.order_by("end_date", "id").values_list("end_date", "id")[:limit])


# --- safe-use reminders ----------------------------------------------------------------------


def safe_use_period(*, grant: AccessGrant, today: datetime.date) -> int:
    """0 before the first reminder is due, then 1, 2, … every SNS_SAFE_USE_REMINDER_DAYS days
    counted from provisioning."""
    if grant.provisioned_at is None:
        return 0
    provisioned_on = timezone.localdate(grant.provisioned_at)
    return max(0, (today - provisioned_on).days // settings.SNS_SAFE_USE_REMINDER_DAYS)


def safe_use_candidates(today: datetime.date) -> QuerySet[AccessGrant]:
    """Grants that get safe-use reminders: provisioned active-tier grants not yet ended."""
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
        safe_use_candidates(today)
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
