"""The retention sweep (docs/privacy.md): one beat task that removes what is kept no longer.

Each part is its app's service, safe to run again; beat runs the sweep hourly."""

from importlib import import_module

from celery import shared_task
from django.conf import settings

from access_requests.services.retention import case_texts_purge_due
from notifications.retention import outbound_email_bodies_purge


@shared_task(name="portal.retention_sweep")
def retention_sweep() -> dict:
    # Expired sessions hold who was signed in, and from where; Django leaves them in the table.
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return {
        "email_bodies_removed": outbound_email_bodies_purge(),
        "case_texts_removed": case_texts_purge_due(),
    }
