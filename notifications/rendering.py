"""Rendering an outbox email from its template and plain context (when it is sent)."""

import datetime
import functools

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from .models import EmailContent


def email_render(template: str, context: dict) -> EmailContent:
    """`notifications/email/<template>.{subject.txt,txt,html}` with `context` (plain values,
    as stored on the outbox row) and the portal's base and guidance addresses."""
    context = {
        **context,
        "base_url": settings.PORTAL_BASE_URL,
        "guidance_url": settings.PORTAL_BASE_URL + "/guidance/",
    }
    subject = render_to_string(f"notifications/email/{template}.subject.txt", context)
    body_text = render_to_string(f"notifications/email/{template}.txt", context)
    body_html = render_to_string(f"notifications/email/{template}.html", context)
    return EmailContent(" ".join(subject.split())[:300], body_text, body_html)


def email_date(value: datetime.date | datetime.datetime | None) -> str:
    """A date as the emails write it ("3 December 2026"), a time by its date in the portal's
    time zone; formatted when the email is written (its context holds text, not dates)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value)
    return _date_text(value)


@functools.lru_cache(maxsize=4096)
def _date_text(value: datetime.date) -> str:
    # A sweep writes the same few dates thousands of times.
    return f"{value.day} {value:%B %Y}"


def email_day_and_date(value: datetime.date) -> str:
    """ "Thursday 3 December 2026"."""
    return f"{value:%A} {email_date(value)}"
