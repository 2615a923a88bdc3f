"""Expiry: the notices before a grant ends and the sweep that expires it after.

The sweeps read due ids in batches through indexed queries (`core.sweeping.keyset_sweep`),
then handle each grant in its own short transaction (the expiry sweep: each batch in one,
through `grants_expire`), taking its row with `skip_locked` so that two sweeps never work on
the same grant at once. A failure on one grant is logged and the sweep goes on; a rerun picks
up whatever is still due. Each notice is recorded by a unique `ExpiryNotice` row written in
the same transaction as its outbox row, which also carries a unique `dedupe_key`: a notice
goes out once whatever runs twice, overlaps or crashes.
"""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, ExpiryNotice
from access_requests.selectors.grants import (
    expiry_notice_days,
    expiry_notice_due,
    expiry_notices_due_ids,
    grants_due_to_expire_ids,
    grants_noticeable,
)
from access_requests.services.grant_emails import (
    grant_email_context,
    grant_page_url,
    ict_recipients,
)
from access_requests.services.grants import grant_expire, grants_expire
from audit.services import SystemActor, record
from core.links import absolute_url
from core.sweeping import SWEEP_BATCH_SIZE, SweepResult, keyset_sweep
from notifications.rendering import email_day_and_date
from notifications.services import email_queue, email_sends_batched

logger = logging.getLogger(__name__)


def expiry_notice_send(
    *, grant_id: int, days_before: int, today: datetime.date | None = None
) -> ExpiryNotice | None:
    """Send one expiry notice if it is still due and unsent. The ExpiryNotice row and the
    outbox row are written in one transaction (the email leaves after commit), so a crash
    before commit leaves neither and a rerun sends it once; after commit both exist."""
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = (
            AccessGrant.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(grants_noticeable(), pk=grant_id)
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
                **grant_email_context(locked),
                "days_left": days_left,
                "ends_on": email_day_and_date(locked.end_date),
                "renew_url": absolute_url(
                    reverse("access_requests:grant-renew", kwargs={"pk": locked.pk})
                ),
                "lapse_url": grant_page_url(locked) + "#let-it-lapse",
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


def grant_expiry_notice_sweep(
    *, today: datetime.date | None = None, batch_size: int = SWEEP_BATCH_SIZE
) -> SweepResult:
    """Send the expiry notices due today, each notice (days before the end) in turn."""
    today = today or timezone.localdate()
    result = SweepResult()
    for days in expiry_notice_days():
        swept = keyset_sweep(
            name="grant_expiry_notice_sweep",
            noun="grant",
            fetch=lambda after, days=days: expiry_notices_due_ids(
                today=today, days_before=days, after=after, limit=batch_size
            ),
            handle=lambda grant_id, _, days=days: expiry_notice_send(
                grant_id=grant_id, days_before=days, today=today
            ),
            each_thread_within=email_sends_batched,
            log=logger,
        )
        result.done += swept.done
        result.failed += swept.failed
    return result


def grant_expiry_sweep(
    *, today: datetime.date | None = None, batch_size: int = SWEEP_BATCH_SIZE
) -> SweepResult:
    """Expire the grants whose end date has passed, a batch at a time (`grants_expire`); a
    batch that fails is retried grant by grant (`grant_expire`)."""
    today = today or timezone.localdate()
    return keyset_sweep(
        name="grant_expiry_sweep",
        noun="grant",
        fetch=lambda after: grants_due_to_expire_ids(today=today, after=after, limit=batch_size),
        handle=lambda grant_id, ict: grant_expire(grant_id=grant_id, today=today, ict=ict),
        handle_batch=lambda ids, ict: grants_expire(grant_ids=ids, today=today, ict=ict),
        per_batch=ict_recipients,
        each_thread_within=email_sends_batched,
        log=logger,
    )
