"""The retention sweep (docs/privacy.md): one beat task that removes what is kept no longer.

Emails, cases and the audit trail's client addresses are their apps' services; the sign-in
records (Django's sessions and django-axes' log of sign-ins) belong to no app of ours and are
cleared here. Each part is safe to run again; beat runs the sweep hourly."""

import datetime
from importlib import import_module

from axes.models import AccessLog
from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from access_requests.services.retention import case_texts_purge_due
from audit.retention import audit_client_fields_purge
from audit.services import SystemActor, record
from notifications.retention import outbound_email_bodies_purge

RETENTION = SystemActor("retention sweep")


def sign_in_records_purge(*, now: datetime.datetime | None = None) -> int:
    """Expired sessions (Django leaves them in the table), and django-axes' record of each
    sign-in (address and browser) older than `SNS_RETENTION_SIGN_IN_DAYS`. One audit event
    when anything went. Returns the sign-in records removed."""
    now = now or timezone.now()
    with transaction.atomic():
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
        before = now - datetime.timedelta(days=settings.SNS_RETENTION_SIGN_IN_DAYS)
        removed, _ = AccessLog.objects.filter(attempt_time__lt=before).delete()
        if removed:
            record(
                actor=RETENTION,
                action="sign_in_records.removed",
                object_repr=f"{removed} sign-in record{'s' if removed != 1 else ''}",
                changes={"count": removed, "retention_days": settings.SNS_RETENTION_SIGN_IN_DAYS},
            )
    return removed


@shared_task(name="portal.retention_sweep")
def retention_sweep() -> dict:
    return {
        "sign_in_records_removed": sign_in_records_purge(),
        "email_bodies_removed": outbound_email_bodies_purge(),
        "case_texts_removed": case_texts_purge_due(),
        "audit_client_fields_cleared": audit_client_fields_purge(),
    }
