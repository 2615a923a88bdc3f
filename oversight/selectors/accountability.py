"""What the register, its export and the case file say about a grant after its approval:
who agreed to an active-tier grant's cost (the budget holder, or the director's approval
counting for it), and the grant's latest access review outcome.

Both are read for a page (or an export's chunk) of grants at once, by id: the cost from
the grant's own columns, the reviews in one query, so the pages' query counts do not grow
with their rows."""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier
from core.lookups import ids_any
from core.prepared import PreparedQuery
from reviews.models import ReviewItem

NO_COST = "No cost (passive monitoring)"
COUNTED_AS_DIRECTOR = "Counted as the director’s approval"
CURRENT = AccessGrant.Status.current()


@dataclass(frozen=True)
class CostAgreed:
    """Who agreed to the cost: `by` a name, or a shortcut in words; `on` the day."""

    by: str
    on: datetime.date | None
    shortcut: bool = False

    @property
    def text(self) -> str:
        if self.on is None:
            return self.by
        if self.shortcut:
            return f"{self.by}, {self.on:%-d %B %Y}"
        return f"Agreed by {self.by} on {self.on:%-d %B %Y}"


def cost_agreed(
    *,
    tier: str,
    cost_agreed_by_id: int | None,
    approved_by_id: int | None,
    holder_id: int | None,
    approved_at: datetime.datetime | None,
    name_of: Callable[[int], str],
    approved_on: datetime.date | None = None,
) -> CostAgreed:
    """The grant's cost agreement from its own columns. A budget holder's agreement creates
    the grant, so the grant's `approved_at` is when they agreed; the shortcuts (the director
    or the requester is the budget holder, or the unit names none) are the director's
    approval counting for the cost. `approved_on`, the local day of `approved_at`, may be
    given instead of it (the CSV export's query reads the day)."""
    if tier != AccessTier.ACTIVE:
        return CostAgreed(by=NO_COST, on=None)
    on = timezone.localdate(approved_at) if approved_at is not None else approved_on
    if cost_agreed_by_id is None:
        return CostAgreed(f"{COUNTED_AS_DIRECTOR} (no budget holder named)", on, shortcut=True)
    if cost_agreed_by_id == approved_by_id:
        return CostAgreed(
            f"{COUNTED_AS_DIRECTOR} (the director is the budget holder)", on, shortcut=True
        )
    if cost_agreed_by_id == holder_id:
        return CostAgreed(
            f"{COUNTED_AS_DIRECTOR} (the requester is the budget holder)", on, shortcut=True
        )
    return CostAgreed(by=name_of(cost_agreed_by_id), on=on)


def cost_agreed_of(values: dict, name_of: Callable[[int], str]) -> CostAgreed:
    """`cost_agreed` from a grant's register values (`register_page_values`)."""
    return cost_agreed(
        tier=values["tier"],
        cost_agreed_by_id=values["cost_agreed_by_id"],
        approved_by_id=values["approved_by_id"],
        holder_id=values["holder_id"],
        approved_at=values["approved_at"],
        name_of=name_of,
    )


@dataclass(frozen=True)
class ReviewOutcome:
    """A grant's latest access review and what it decided."""

    review_id: int
    review_started_on: datetime.date
    due_on: datetime.date
    outcome: str
    decided_by_id: int | None
    decided_on: datetime.date | None

    def text(self, name_of: Callable[[int], str]) -> str:
        when = f" on {self.decided_on:%-d %B %Y}" if self.decided_on else ""
        by = f" by {name_of(self.decided_by_id)}" if self.decided_by_id else ""
        if self.outcome in (KEPT, ENDED):
            said = f"{self.outcome}{by}{when}"
        elif self.outcome == WAITING:
            said = f"{WAITING}, due {self.due_on:%-d %B %Y}"
        else:
            said = f"{self.outcome}{when}"
        return f"{said} (access review of {self.review_started_on:%-d %B %Y})"


KEPT = "Kept"
ENDED = "Ended"
ENDED_BY_DEFAULT = "Not reviewed, ended by default"
KEPT_BY_DEFAULT = "Not reviewed, kept by default"
WAITING = "Waiting for review"
ENDED_MEANWHILE = "Ended before it was reviewed"
NOT_REVIEWED = "Not in an access review"


def _review_items(ids: list[int]):
    return (
        ReviewItem.objects.filter(ids_any(ReviewItem, "grant", ids))
        .order_by("grant_id", "-review__started_at", "-review_id")
        .values_list(
            "grant_id",
            "review_id",
            "review__started_at",
            "review__due_on",
            "review__closed_at",
            "decision",
            "automatic",
            "decided_by_id",
            "decided_at",
            "grant__status",
        )
    )


# Read for every page of the register and its API: built once per process and planned once
# per connection (`core.prepared`), the ids as one array. The export names its database.
_REVIEW_ITEMS = PreparedQuery("latest_review_items", _review_items, ids=[-(2**62) + 59])


def latest_review_outcomes(
    grant_ids: Iterable[int], *, using: str | None = None
) -> dict[int, ReviewOutcome]:
    """Each grant's latest review (by the review's start) and its outcome, in one query;
    `using` None lets the database router choose, as for the rest of the page."""
    ids = list(grant_ids)
    if not ids:
        return {}
    if using is None:
        items = _REVIEW_ITEMS.run(ids=ids)
    else:
        items = _review_items(ids).using(using)
    outcomes: dict[int, ReviewOutcome] = {}
    for row in items:
        grant_id, review_id, started_at, due_on, closed_at, decision, automatic = row[:7]
        decided_by_id, decided_at, status = row[7:]
        if grant_id in outcomes:
            continue
        if decision:
            labels = {
                (ReviewItem.Decision.KEEP, False): KEPT,
                (ReviewItem.Decision.END, False): ENDED,
                (ReviewItem.Decision.KEEP, True): KEPT_BY_DEFAULT,
                (ReviewItem.Decision.END, True): ENDED_BY_DEFAULT,
            }
            outcome = labels[(decision, automatic)]
        elif closed_at is None and status in CURRENT:
            outcome = WAITING
        else:
            outcome = ENDED_MEANWHILE
        outcomes[grant_id] = ReviewOutcome(
            review_id=review_id,
            review_started_on=timezone.localdate(started_at),
            due_on=due_on,
            outcome=outcome,
            decided_by_id=decided_by_id,
            decided_on=timezone.localdate(decided_at) if decided_at else None,
        )
    return outcomes
