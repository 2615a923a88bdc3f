"""Counting requests per key in a window, and which of many go into the audit trail."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import RequestTally


def worth_recording(count: int, limit: int) -> bool:
    """Whether the `count`th of one kind of request or failure in its window goes into the
    audit trail.

    Each one up to the limit is recorded as it happens; after that, only the 2^n-th (16, 32,
    64, …), each carrying the count so far. A flood of n writes about log2(n) events rather
    than n, and the trail still says roughly how many there were. The trail is append-only,
    so one event cannot keep a running count.
    """
    return count <= limit or count & (count - 1) == 0


def request_count(*, kind: str, key: str, window: timedelta) -> int:
    """Count one request of `kind` by `key` and return how many it has made in the window
    (which starts at its first request and runs for `window`). Committed on its own, so a
    refused request still counts."""
    now = timezone.now()
    digest = salted_hmac("people.throttle", f"{kind}:{key}").hexdigest()
    with transaction.atomic():
        # Windows that ended are forgotten here, so the table holds only live counts.
        RequestTally.objects.filter(kind=kind, window_start__lt=now - window).delete()
        tally, created = RequestTally.objects.select_for_update().get_or_create(
            kind=kind, key=digest, defaults={"window_start": now, "count": 1}
        )
        if not created:
            tally.count += 1
            tally.save(update_fields=["count"])
    return tally.count
