"""Retention of where audit events came from (docs/privacy.md): each event's client address
and browser are cleared `SNS_RETENTION_CLIENT_DAYS` after it.

The event's hash covers a keyed digest of the two (`audit.services.client_digest`), so the
chain verifies after they are cleared; the database allows this one change and no other
(migration 0008, docs/threat-model.md). Events written before the digest existed are hashed
over the fields themselves and are left as they are.
"""

import datetime

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from .models import AuditEvent
from .services import CLIENT_FIELDS_CLEARED, SystemActor, record

RETENTION = SystemActor("retention sweep")
BATCH = 5000


def _client_fields_due(before: datetime.datetime):
    return AuditEvent.objects.filter(occurred_at__lt=before, client_digest__gt="").filter(
        models.Q(client_address__isnull=False) | ~models.Q(user_agent="")
    )


def audit_client_fields_purge(*, now: datetime.datetime | None = None, batch: int = BATCH) -> int:
    """Clear the client address and browser of events older than `SNS_RETENTION_CLIENT_DAYS`,
    oldest first, `batch` events per transaction, each batch one audit event saying how many
    it cleared and the newest it cleared (`up_to_id`, which verification holds every
    cleared event to). Safe to run again, and alongside another run: each UPDATE takes only
    events still holding the fields. Returns the events cleared."""
    now = now or timezone.now()
    days = settings.SNS_RETENTION_CLIENT_DAYS
    before = now - datetime.timedelta(days=days)
    cleared = 0
    after_id = 0
    while True:
        with transaction.atomic():
            ids = list(
                _client_fields_due(before)
                .filter(id__gt=after_id)
                .order_by("id")
                .values_list("id", flat=True)[:batch]
            )
            if not ids:
                return cleared
            after_id = ids[-1]
            count = _client_fields_due(before).filter(id__in=ids).client_fields_clear()
            if count:
                record(
                    actor=RETENTION,
                    action=CLIENT_FIELDS_CLEARED,
                    object_repr=f"{count} audit event{'s' if count != 1 else ''}",
                    changes={
                        "count": count,
                        "up_to_id": ids[-1],
                        "retention_days": days,
                    },
                )
        cleared += count
