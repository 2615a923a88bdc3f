"""Reads for access reviews: who reviews a grant, who may see what, a reviewer's items with
everything the review page shows, and a review's progress by directorate."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from access_requests.models import TIER_LABELS, AccessGrant, AccessTier
from access_requests.selectors.grants import safe_use_reminder_rows, site_names_by_grant
from approvals.services.routing import fallback_approvers
from core.prepared import PreparedQuery
from people.models import User, display_name_of

from .models import AccessReview, ReviewItem

# Admins start reviews and may decide any item; auditors (and admins) read progress.
START_PERMISSION = "reviews.add_accessreview"
VIEW_PERMISSION = "reviews.view_accessreview"
DECIDE_ANY_PERMISSION = "access_requests.revoke_accessgrant"

CURRENT = AccessGrant.Status.current()
STATUS_LABELS = dict(AccessGrant.Status.choices)
DECISION_LABELS = dict(ReviewItem.Decision.choices)


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


@dataclass(frozen=True)
class ReviewToDo:
    """An open review in which a person has access to decide, as the home page lists it:
    how many people's access (`to_review`) and by when."""

    pk: int
    due_on: datetime.date
    to_review: int


REVIEWS_TO_DO_SHOWN = 5


def _reviews_to_do(reviewer_id: int):
    # Each outstanding item's holder while its grant is current, looked up by the grant's
    # key: joined instead, PostgreSQL hashes every current grant of the department to keep
    # a few hundred.
    holder_while_current = Subquery(
        AccessGrant.objects.filter(pk=OuterRef("grant_id"), status__in=CURRENT)
        .order_by()
        .values("holder_id")
    )
    # Every open review with an outstanding item of this person's (a handful): one whose
    # items' grants have all ended counts nobody, and is left out by the caller rather than
    # by a HAVING, which would look every holder up a second time.
    return (
        ReviewItem.objects.filter(reviewer_id=reviewer_id, decision="", review__closed_at=None)
        .values("review_id", "review__due_on")
        .annotate(to_review=Count(holder_while_current, distinct=True))
        .order_by("review__due_on", "review_id")
        .values_list("review_id", "review__due_on", "to_review")
    )


# Asked on every home page but an auditor's: built once per process and planned once per
# connection (`core.prepared`), from the person's own items (`review_item_by_reviewer`),
# so that someone with none reads no review's items.
_REVIEWS_TO_DO = PreparedQuery("reviews_to_do", _reviews_to_do, reviewer_id=-(2**62) + 79)


def reviews_to_do(*, user) -> list[ReviewToDo]:
    """The first `REVIEWS_TO_DO_SHOWN` open reviews in which this person has something
    outstanding, each with how many people's access (`to_review`), soonest due first: one
    query."""
    to_do = [ReviewToDo(*row) for row in _REVIEWS_TO_DO.run(reviewer_id=user.pk) if row[2]]
    return to_do[:REVIEWS_TO_DO_SHOWN]


@dataclass(frozen=True)
class ReviewLine:
    """One grant to decide as the review page's card shows it: plain values, no models."""

    item_id: int
    holder: str
    reference: str
    purpose: str
    sites: list[str]
    tier: str
    cost: str
    safe_use: list[str]
    dates: str  # "1 May 2026 to 30 April 2027 (active)"


@dataclass(frozen=True)
class ListedItem:
    """One item of the page's lists (already reviewed, ended meanwhile)."""

    holder: str
    reference: str
    outcome: str = ""  # "Kept", "Ended"
    reason: str = ""
    decided_by: str = ""  # empty: decided by the review's end
    decided_on: str = ""  # "5 December 2026"
    status: str = ""  # the grant's status, in words


def _on(day: datetime.date) -> str:
    return f"{day:%-d %B %Y}"


def safe_use_history(tier: str, reminders: list[tuple], *, today: datetime.date) -> list[str]:
    """Each safe-use reminder (period, confirm_by, confirmed_at) and its answer."""
    if tier != AccessTier.ACTIVE:
        return ["Not needed (passive monitoring)"]
    if not reminders:
        return ["Not asked yet"]
    lines = []
    for _, confirm_by, confirmed_at in sorted(reminders, key=lambda reminder: reminder[0]):
        if confirmed_at is not None:
            lines.append(f"Confirmed on {_on(timezone.localtime(confirmed_at))}")
        elif confirm_by < today:
            lines.append(f"Not confirmed (was due {_on(confirm_by)})")
        else:
            lines.append(f"Asked, due {_on(confirm_by)}")
    return lines


_HOLDER = ["profile__commonly_used_name", "first_name", "last_name", "email"]


def _name(row: dict, user: str) -> str:
    """`display_name_of` for the person at the path `user` of a values() row."""
    return display_name_of(*(row[f"{user}__{column}"] for column in _HOLDER))


def _first(
    items: QuerySet[ReviewItem], order: list[str], limit: int, columns: tuple[str, ...]
) -> QuerySet:
    """The first `limit` items in `order`, as values_list() rows of `pk` and `columns`. The
    items are chosen by id alone in a subquery, then only those few are joined to what is
    shown: PostgreSQL would otherwise join every candidate's case and people before
    sorting."""
    chosen = items.order_by(*order).values("pk")[:limit]
    return ReviewItem.objects.filter(pk__in=chosen).order_by(*order).values_list("pk", *columns)


# Stand-ins for a prepared query's arguments (`core.prepared`): values no review or person has.
_REVIEW, _REVIEWER = -(2**62) + 41, -(2**62) + 43


def _items(review_id: int, reviewer_id: int | None = None) -> QuerySet[ReviewItem]:
    items = ReviewItem.objects.filter(review_id=review_id)
    return items if reviewer_id is None else items.filter(reviewer_id=reviewer_id)


class _ItemsQuery:
    """A query over the items a person reviews, prepared (`core.prepared`: built once per
    process, planned once per connection) twice: over one reviewer's items, and over every
    item of the review (an admin's page). The reviewer's page runs three of these a request,
    and building and planning each cost more than running it."""

    def __init__(self, name: str, build):
        self._mine = PreparedQuery(
            name,
            lambda review, reviewer: build(_items(review, reviewer)),
            review=_REVIEW,
            reviewer=_REVIEWER,
        )
        self._every = PreparedQuery(
            f"{name}_every", lambda review: build(_items(review)), review=_REVIEW
        )

    def run(self, *, review_id: int, reviewer_id: int | None) -> list[tuple]:
        if reviewer_id is None:
            return self._every.run(review=review_id)
        return self._mine.run(review=review_id, reviewer=reviewer_id)


_BY_HOLDER = ["grant__holder__profile__commonly_used_name", "pk"]
_HOLDER_COLUMNS = [f"grant__holder__{column}" for column in _HOLDER]


_LINE_COLUMNS = (
    "grant_id",
    "grant__tier",
    "grant__status",
    "grant__start_date",
    "grant__end_date",
    "grant__business_case__reference",
    "grant__business_case__purpose",
    "grant__paying_business_unit__name",
    "grant__paying_business_unit__cost_centre",
    *_HOLDER_COLUMNS,
)


def _outstanding(items: QuerySet[ReviewItem]) -> QuerySet[ReviewItem]:
    return items.filter(decision="", grant__status__in=CURRENT)


_LINES = _ItemsQuery(
    "review_lines",
    lambda items: _first(_outstanding(items), _BY_HOLDER, REVIEW_BATCH, _LINE_COLUMNS),
)


def review_lines(
    *, review_id: int, reviewer_id: int | None, yearly_pc_cost: int
) -> list[ReviewLine]:
    """The first `REVIEW_BATCH` grants to decide by holder's name (of one reviewer, or of
    everyone for `reviewer_id=None`), with everything a card shows, in three queries however
    many there are: the items, their sites, their reminders."""
    today = timezone.localdate()
    rows = [
        dict(zip(("pk", *_LINE_COLUMNS), row, strict=True))
        for row in _LINES.run(review_id=review_id, reviewer_id=reviewer_id)
    ]
    grant_ids = [row["grant_id"] for row in rows]
    sites = site_names_by_grant(grant_ids)
    reminders: dict[int, list[tuple]] = {pk: [] for pk in grant_ids}
    active = [row["grant_id"] for row in rows if row["grant__tier"] == AccessTier.ACTIVE]
    if active:
        for grant_id, *reminder in safe_use_reminder_rows(active):
            reminders[grant_id].append(reminder)
    lines = []
    for row in rows:
        tier = row["grant__tier"]
        if tier == AccessTier.ACTIVE:
            unit = row["grant__paying_business_unit__name"]
            charged = (
                f", charged to {row['grant__paying_business_unit__cost_centre']} ({unit})"
                if unit is not None
                else ""
            )
            cost = f"£{yearly_pc_cost:,} a year for the standalone PC{charged}"
        else:
            cost = "No cost (passive monitoring from the office network)"
        grant_id = row["grant_id"]
        status = STATUS_LABELS.get(row["grant__status"], row["grant__status"])
        lines.append(
            ReviewLine(
                item_id=row["pk"],
                holder=_name(row, "grant__holder"),
                reference=row["grant__business_case__reference"],
                purpose=row["grant__business_case__purpose"],
                sites=sites.get(grant_id, []),
                tier=TIER_LABELS.get(tier, tier),
                cost=cost,
                safe_use=safe_use_history(tier, reminders[grant_id], today=today),
                dates=f"{_on(row['grant__start_date'])} to {_on(row['grant__end_date'])}"
                f" ({status.lower()})",
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
    decided: list[ListedItem]
    decided_count: int
    ended_meanwhile: list[ListedItem]
    ended_meanwhile_count: int


_DECIDED_COLUMNS = (
    "decision",
    "reason",
    "decided_at",
    "decided_by_id",
    "grant__business_case__reference",
    *_HOLDER_COLUMNS,
    *(f"decided_by__{column}" for column in _HOLDER),
)
_DECIDED = _ItemsQuery(
    "review_decided",
    lambda items: _first(
        items.exclude(decision=""), ["-decided_at", "-pk"], REVIEW_LISTED, _DECIDED_COLUMNS
    ),
)


def _decided(*, review_id: int, reviewer_id: int | None) -> list[ListedItem]:
    rows = [
        dict(zip(("pk", *_DECIDED_COLUMNS), row, strict=True))
        for row in _DECIDED.run(review_id=review_id, reviewer_id=reviewer_id)
    ]
    return [
        ListedItem(
            holder=_name(row, "grant__holder"),
            reference=row["grant__business_case__reference"],
            outcome=DECISION_LABELS.get(row["decision"], row["decision"]),
            reason=row["reason"],
            decided_by=_name(row, "decided_by") if row["decided_by_id"] else "",
            decided_on=_on(timezone.localtime(row["decided_at"])),
        )
        for row in rows
    ]


_ENDED_COLUMNS = ("grant__status", "grant__business_case__reference", *_HOLDER_COLUMNS)


def _ended_meanwhile(items: QuerySet[ReviewItem]) -> list[ListedItem]:
    rows = [
        dict(zip(("pk", *_ENDED_COLUMNS), row, strict=True))
        for row in _first(
            items.filter(decision="").exclude(grant__status__in=CURRENT),
            _BY_HOLDER,
            REVIEW_LISTED,
            _ENDED_COLUMNS,
        )
    ]
    return [
        ListedItem(
            holder=_name(row, "grant__holder"),
            reference=row["grant__business_case__reference"],
            status=STATUS_LABELS.get(row["grant__status"], row["grant__status"]),
        )
        for row in rows
    ]


_COUNT_NAMES = ("total", "kept", "ended", "outstanding", "ended_meanwhile", "automatic")
_COUNTS = _ItemsQuery(
    "review_counts",
    lambda items: (
        items.values("review_id")
        .annotate(**review_counts(ReviewItem.objects.all(), prefix=""))
        .values_list(*_COUNT_NAMES)
        .order_by()
    ),
)


def review_page(*, review: AccessReview, user, yearly_pc_cost: int) -> ReviewPage:
    """The reviewer's page in a fixed number of queries, the frequent ones prepared."""
    reviewer_id = None if may_decide_any(user) else user.pk
    mine = {"review_id": review.pk, "reviewer_id": reviewer_id}
    found = _COUNTS.run(**mine)
    counts = dict(zip(_COUNT_NAMES, found[0] if found else [0] * len(_COUNT_NAMES), strict=True))
    decided_count = counts["kept"] + counts["ended"]
    return ReviewPage(
        total=counts["total"],
        outstanding=review_lines(**mine, yearly_pc_cost=yearly_pc_cost)
        if counts["outstanding"]
        else [],
        outstanding_count=counts["outstanding"],
        decided=_decided(**mine) if decided_count else [],
        decided_count=decided_count,
        ended_meanwhile=_ended_meanwhile(items_for(review=review, user=user))
        if counts["ended_meanwhile"]
        else [],
        ended_meanwhile_count=counts["ended_meanwhile"],
    )


def passed_on_count(*, review: AccessReview, user) -> int:
    """How many of this director's people's grants escalation passed on undecided to someone
    else. Escalation marks the review when it runs: before, no query."""
    if review.escalated_at is None:
        return 0
    return (
        items_passed_on(review=review, user=user).filter(decision="").exclude(reviewer=user).count()
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
