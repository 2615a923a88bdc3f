"""Reads for access reviews: who reviews a grant, who may see what, a reviewer's items with
everything the review page shows, and a review's progress by directorate."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier
from approvals.services.routing import fallback_approvers
from people.models import User

from .models import AccessReview, ReviewItem

# Admins start reviews and may decide any item; auditors (and admins) read progress.
START_PERMISSION = "reviews.add_accessreview"
VIEW_PERMISSION = "reviews.view_accessreview"
DECIDE_ANY_PERMISSION = "access_requests.revoke_accessgrant"

CURRENT = AccessGrant.Status.current()


def grant_reviewer(grant: AccessGrant, *, exclude_ids: frozenset[int] = frozenset()) -> User | None:
    """The holder's current director; the organisation's fallback approver (or else the first
    active admin) when the holder is that director or the directorate has none who is
    active. Never the holder. `grant` comes with its holder's directorate joined."""
    holder = grant.holder
    profile = getattr(holder, "profile", None)
    directorate = profile.business_unit.directorate if profile is not None else None
    director = directorate.director if directorate is not None else None
    excluded = {holder.pk, *exclude_ids}
    if director is not None and director.is_active and director.pk not in excluded:
        return director
    return fallback_reviewer(grant, exclude_ids=exclude_ids)


def fallback_reviewer(
    grant: AccessGrant, *, exclude_ids: frozenset[int] = frozenset()
) -> User | None:
    """Who reviews a grant its director cannot (or did not, by the due date)."""
    profile = getattr(grant.holder, "profile", None)
    directorate = profile.business_unit.directorate if profile is not None else None
    organisation = directorate.organisation if directorate is not None else None
    people, _ = fallback_approvers(
        organisation=organisation, exclude_ids={grant.holder_id, *exclude_ids}
    )
    return people[0] if people else None


def grants_in_scope(*, directorate_ids: list[int], tiers: list[str]) -> QuerySet[AccessGrant]:
    """The current grants a review with this scope covers, with what choosing their
    reviewer reads."""
    grants = AccessGrant.objects.filter(status__in=CURRENT).select_related(
        "holder__profile__business_unit__directorate__director",
        "holder__profile__business_unit__directorate__organisation__fallback_approver",
    )
    if directorate_ids:
        grants = grants.filter(holder__profile__business_unit__directorate_id__in=directorate_ids)
    if tiers:
        grants = grants.filter(tier__in=tiers)
    return grants.order_by("pk")


def may_decide_any(user) -> bool:
    return bool(user.is_active and user.has_perm(DECIDE_ANY_PERMISSION))


def may_decide(*, user, item: ReviewItem) -> bool:
    """The item's reviewer or an admin, active."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return item.reviewer_id == user.pk or may_decide_any(user)


def items_for(*, review: AccessReview, user) -> QuerySet[ReviewItem]:
    """The items this person reviews: their own, or all of them for an admin."""
    items = ReviewItem.objects.filter(review=review)
    if not may_decide_any(user):
        items = items.filter(reviewer=user)
    return items


def items_passed_on(*, review: AccessReview, user) -> QuerySet[ReviewItem]:
    """Items escalation took from this director: their directorate's people's grants that
    went to the fallback reviewer after the due date."""
    return review.items.filter(
        escalated=True, grant__holder__profile__business_unit__directorate__director=user
    )


def reviews_to_do(*, user) -> QuerySet[AccessReview]:
    """Open reviews in which this person has something outstanding, each with how many
    people's access (`to_review`), soonest due first: one query."""
    return (
        AccessReview.objects.filter(closed_at=None)
        .annotate(
            to_review=Count(
                "items__grant__holder",
                distinct=True,
                filter=Q(
                    items__reviewer=user, items__decision="", items__grant__status__in=CURRENT
                ),
            )
        )
        .filter(to_review__gt=0)
        .order_by("due_on", "pk")
    )


@dataclass(frozen=True)
class ReviewLine:
    """One grant as the review page shows it."""

    item: ReviewItem
    grant: AccessGrant
    sites: list[str]
    safe_use: list[str]
    cost: str
    ended_meanwhile: bool


def safe_use_history(grant: AccessGrant, *, today: datetime.date) -> list[str]:
    """Each safe-use reminder and its answer, from the prefetched reminders."""
    if grant.tier != AccessTier.ACTIVE:
        return ["Not needed (passive monitoring)"]
    reminders = sorted(grant.safe_use_reminders.all(), key=lambda reminder: reminder.period)
    if not reminders:
        return ["Not asked yet"]
    lines = []
    for reminder in reminders:
        if reminder.confirmed_at is not None:
            confirmed = timezone.localtime(reminder.confirmed_at)
            lines.append(f"Confirmed on {confirmed:%-d %B %Y}")
        elif reminder.confirm_by < today:
            lines.append(f"Not confirmed (was due {reminder.confirm_by:%-d %B %Y})")
        else:
            lines.append(f"Asked, due {reminder.confirm_by:%-d %B %Y}")
    return lines


def review_lines(
    items: QuerySet[ReviewItem], *, yearly_pc_cost: int, limit: int | None = None
) -> list[ReviewLine]:
    """The review page's grants (the first `limit` by holder's name) in a fixed number of
    queries, however many there are."""
    today = timezone.localdate()
    items = (
        # Only what a card shows: each relation joined costs the query's building more
        # than the database's reading.
        items.select_related(
            "grant__business_case", "grant__holder__profile", "grant__paying_business_unit"
        )
        .prefetch_related("grant__sites", "grant__safe_use_reminders")
        .order_by("grant__holder__profile__commonly_used_name", "pk")
    )
    if limit is not None:
        items = items[:limit]
    lines = []
    for item in items:
        grant = item.grant
        if grant.tier == AccessTier.ACTIVE:
            unit = grant.paying_business_unit
            charged = f", charged to {unit.cost_centre} ({unit.name})" if unit else ""
            cost = f"£{yearly_pc_cost:,} a year for the standalone PC{charged}"
        else:
            cost = "No cost (passive monitoring from the office network)"
        lines.append(
            ReviewLine(
                item=item,
                grant=grant,
                sites=[site.name for site in grant.sites.all()],
                safe_use=safe_use_history(grant, today=today),
                cost=cost,
                ended_meanwhile=grant.status not in CURRENT,
            )
        )
    return lines


# A reviewer's page shows this many grants to decide at a time (the next ones appear when
# these are saved), and at most this many of those already decided or ended meanwhile, so
# the page costs the same for a reviewer of ten grants and of thousands.
REVIEW_BATCH = 10
REVIEW_LISTED = 25


@dataclass(frozen=True)
class ReviewPage:
    """What a reviewer's page shows: the next grants to decide, the latest decided, those
    that ended meanwhile, and how many of each there are."""

    total: int  # every item the person reviews, decided or not
    outstanding: list[ReviewLine]
    outstanding_count: int
    decided: list[ReviewItem]
    decided_count: int
    ended_meanwhile: list[ReviewItem]
    ended_meanwhile_count: int


def review_page(*, review: AccessReview, user, yearly_pc_cost: int) -> ReviewPage:
    """The reviewer's page in a fixed number of queries."""
    items = items_for(review=review, user=user)
    counts = items.aggregate(**review_counts(ReviewItem.objects.all(), prefix=""))
    listed = ("grant__business_case", "grant__holder__profile")
    return ReviewPage(
        total=counts["total"],
        outstanding=review_lines(
            items.filter(decision="", grant__status__in=CURRENT),
            yearly_pc_cost=yearly_pc_cost,
            limit=REVIEW_BATCH,
        )
        if counts["outstanding"]
        else [],
        outstanding_count=counts["outstanding"],
        decided=list(
            items.exclude(decision="")
            .select_related(*listed, "decided_by__profile")
            .order_by("-decided_at", "-pk")[:REVIEW_LISTED]
        )
        if counts["kept"] + counts["ended"]
        else [],
        decided_count=counts["kept"] + counts["ended"],
        ended_meanwhile=list(
            items.filter(decision="")
            .exclude(grant__status__in=CURRENT)
            .select_related(*listed)
            .order_by("grant__holder__profile__commonly_used_name", "pk")[:REVIEW_LISTED]
        )
        if counts["ended_meanwhile"]
        else [],
        ended_meanwhile_count=counts["ended_meanwhile"],
    )


OUTSTANDING = Q(items__decision="", items__grant__status__in=CURRENT)


def review_counts(queryset: QuerySet, prefix: str = "items__") -> dict:
    """Annotations counting a review's items by outcome."""
    return {
        "total": Count(f"{prefix}id"),
        "kept": Count(f"{prefix}id", filter=Q(**{f"{prefix}decision": "keep"})),
        "ended": Count(f"{prefix}id", filter=Q(**{f"{prefix}decision": "end"})),
        "outstanding": Count(
            f"{prefix}id",
            filter=Q(**{f"{prefix}decision": "", f"{prefix}grant__status__in": CURRENT}),
        ),
        "ended_meanwhile": Count(
            f"{prefix}id",
            filter=Q(**{f"{prefix}decision": ""}) & ~Q(**{f"{prefix}grant__status__in": CURRENT}),
        ),
        "automatic": Count(f"{prefix}id", filter=Q(**{f"{prefix}automatic": True})),
    }


def reviews_listed() -> QuerySet[AccessReview]:
    """Every review, newest first, with its counts."""
    return (
        AccessReview.objects.select_related("started_by__profile")
        .annotate(**review_counts(AccessReview.objects.all()))
        .order_by("-started_at", "-pk")
    )


def review_progress(review: AccessReview) -> list[dict]:
    """The review's counts by the holder's directorate (as it is now), in one query."""
    counts = review_counts(ReviewItem.objects.all(), prefix="")
    rows = (
        ReviewItem.objects.filter(review=review)
        .values("grant__holder__profile__business_unit__directorate__name")
        .annotate(**counts)
        .order_by("grant__holder__profile__business_unit__directorate__name")
    )
    return [
        {
            "directorate": row.pop("grant__holder__profile__business_unit__directorate__name")
            or "No directorate",
            **row,
            "reviewed": row["kept"] + row["ended"],
        }
        for row in rows
    ]


def progress_totals(rows: list[dict]) -> dict:
    keys = ["total", "reviewed", "kept", "ended", "outstanding", "ended_meanwhile", "automatic"]
    return {key: sum(row[key] for row in rows) for key in keys}


CSV_HEADER = [
    "Reference",
    "Holder",
    "Holder email",
    "Directorate",
    "Tier",
    "Reviewer",
    "Escalated",
    "Outcome",
    "Reason",
    "Decided by",
    "Decided at",
    "Decided automatically",
]


def review_csv_rows(review: AccessReview):
    """The review's items as CSV rows, read through a server-side cursor."""
    items = (
        ReviewItem.objects.filter(review=review)
        .values_list(
            "grant__business_case__reference",
            "grant__holder__profile__commonly_used_name",
            "grant__holder__email",
            "grant__holder__profile__business_unit__directorate__name",
            "grant__tier",
            "reviewer__email",
            "escalated",
            "decision",
            "grant__status",
            "reason",
            "decided_by__email",
            "decided_at",
            "automatic",
        )
        .order_by("pk")
    )
    labels = dict(ReviewItem.Decision.choices)
    for row in items.iterator(chunk_size=2000):
        (ref, name, email, directorate, tier, reviewer, escalated, decision, status) = row[:9]
        reason, decided_by, decided_at, automatic = row[9:]
        if decision:
            outcome = labels[decision]
        elif status in CURRENT:
            outcome = "Not reviewed yet"
        else:
            outcome = "Ended meanwhile"
        yield [
            ref,
            name,
            email,
            directorate,
            AccessTier(tier).label,
            reviewer,
            "Yes" if escalated else "No",
            outcome,
            reason,
            decided_by,
            decided_at,
            "Yes" if automatic else "No",
        ]
