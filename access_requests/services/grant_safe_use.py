"""Safe-use reminders: every SNS_SAFE_USE_REMINDER_DAYS days after provisioning, the holder
of an active-tier grant is asked to review their friend lists and privacy settings and to
confirm on the portal that they have.

Each reminder is recorded by a unique `SafeUseReminder` row (grant, period) written in the
same transaction as its outbox row, which also carries a unique `dedupe_key`: a reminder goes
out once whatever runs twice, overlaps or crashes.
"""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, SafeUseReminder
from access_requests.selectors.grants import (
    grant_for_update,
    safe_use_candidates,
    safe_use_period,
    safe_use_reminders_due_ids,
)
from access_requests.services.grant_emails import grant_email_context
from audit.services import SystemActor, record
from core.client import Client
from core.links import absolute_url
from core.sweeping import SWEEP_BATCH_SIZE, SweepResult, keyset_sweep
from notifications.rendering import email_date
from notifications.services import email_queue, email_sends_batched

logger = logging.getLogger(__name__)


def safe_use_reminder_send(
    *, grant_id: int, today: datetime.date | None = None
) -> SafeUseReminder | None:
    """Send this period's safe-use reminder once (the row and the outbox row together)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = (
            safe_use_candidates(today)
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
                **grant_email_context(locked),
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
    """Send the safe-use reminders due today, each in its own transaction."""
    today = today or timezone.localdate()
    return keyset_sweep(
        name="grant_safe_use_sweep",
        noun="grant",
        fetch=lambda after: safe_use_reminders_due_ids(today=today, after=after, limit=batch_size),
        handle=lambda grant_id, _: safe_use_reminder_send(grant_id=grant_id, today=today),
        each_thread_within=email_sends_batched,
        log=logger,
    )


def safe_use_confirm(
    *, grant: AccessGrant, actor, client: Client | None = None
) -> SafeUseReminder | None:
    """The holder confirms they have reviewed their friend lists and privacy settings. Confirms
    the latest reminder; returns None when there is nothing to confirm."""
    with transaction.atomic():
        locked = grant_for_update(grant)
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
