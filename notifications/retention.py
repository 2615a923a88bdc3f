"""Retention of sent emails (docs/privacy.md): their bodies are emptied after
`SNS_RETENTION_EMAIL_BODY_DAYS`."""

from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from audit.services import SystemActor, record

from .models import OutboundEmail

RETENTION = SystemActor("retention sweep")


def outbound_email_bodies_purge(*, now=None, batch: int = 1000) -> int:
    """Empty the bodies of emails sent or given up more than `SNS_RETENTION_EMAIL_BODY_DAYS`
    ago (docs/privacy.md): they repeat a case's details and people's names, and the row's
    recipient, template, subject and times are the record that an email went. `batch` rows
    per transaction, each batch one audit event. Safe to run again. Returns rows emptied."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.SNS_RETENTION_EMAIL_BODY_DAYS)
    due = (
        OutboundEmail.objects.exclude(status=OutboundEmail.Status.PENDING)
        .filter(
            models.Q(sent_at__lt=before) | models.Q(sent_at__isnull=True, updated_at__lt=before)
        )
        .filter(~models.Q(body_text="") | ~models.Q(body_html=""))
    )
    emptied = 0
    while True:
        with transaction.atomic():
            ids = list(due.order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                return emptied
            OutboundEmail.objects.filter(pk__in=ids).update(
                body_text="", body_html="", context=None, secret=None, updated_at=now
            )
            record(
                actor=RETENTION,
                action="email.bodies_removed",
                object_repr=f"{len(ids)} email{'s' if len(ids) != 1 else ''}",
                changes={
                    "emails": [ids[0], ids[-1]] if len(ids) > 1 else ids,
                    "count": len(ids),
                    "retention_days": settings.SNS_RETENTION_EMAIL_BODY_DAYS,
                },
            )
        emptied += len(ids)
