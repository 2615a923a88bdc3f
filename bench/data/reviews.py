"""An access review in progress (issue 19): the bench director's directorate under review,
started and partly decided through the reviews services as an admin and the director would,
so its items, emails and audit events are the ones the portal writes."""

import datetime

from django.utils import timezone

from bench.data.accounts import BENCH_USERS
from people.models import Directorate, User
from reviews.models import ReviewItem
from reviews.services import access_review_start, review_item_decide

# The share of the director's items already kept when the benchmark runs.
DECIDED_SHARE = 0.2
DECIDED_MAX = 250


def review_in_progress_load() -> dict[str, int]:
    """Starts a review of the bench director's directorate (both tiers, due in four weeks)
    and keeps the first fifth of the director's items (at most 250), as a reviewer half-way
    through would have. Returns how many items the director has and how many are decided."""
    admin = User.objects.get(email=BENCH_USERS["admin"])
    director = User.objects.get(email=BENCH_USERS["director"])
    directorate = Directorate.objects.get(director=director)
    review = access_review_start(
        actor=admin,
        directorates=[directorate],
        due_on=timezone.localdate() + datetime.timedelta(days=28),
    )
    items = list(
        ReviewItem.objects.filter(review=review, reviewer=director)
        .select_related("grant")
        .order_by("pk")
    )
    decided = items[: min(DECIDED_MAX, int(len(items) * DECIDED_SHARE))]
    for item in decided:
        review_item_decide(item=item, actor=director, decision=ReviewItem.Decision.KEEP)
    return {"review_items": len(items), "review_items_decided": len(decided)}
