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
    return EmailContent(subject_clean(subject), body_text, body_html)


# Marks and controls that change text direction: a name holding U+202E would reverse the
# rest of a subject line, which no mail client isolates.
BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def subject_clean(subject: str) -> str:
    """One line of at most 300 characters, without text-direction controls."""
    return " ".join(subject.translate(BIDI_CONTROLS).split())[:300]


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
