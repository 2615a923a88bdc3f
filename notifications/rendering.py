"""Rendering an outbox email from its template and plain context (when it is sent); a
template may have its stored context completed from the database then
(`email_context_completer`)."""

import datetime
import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from .models import EmailContent
from .secrets import secret_mask, secrets_open


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


# The emails whose stored context is completed from the database when they are rendered,
# by template: `completer(stored context)` returns the whole context. An app registers its
# own (`email_context_completer`) where storing what its tables hold already would cost a
# sweep most of its time (an approver's reminder would otherwise repeat the whole case).
_COMPLETERS: dict[str, Callable[[dict], dict]] = {}


def email_context_completer(template: str):
    """Register the decorated function as the completer of `template`'s stored contexts.
    It is given the stored context and returns the one the template is rendered with, as
    the database says now; it raises if what it reads is gone (the sender then records the
    failure and retries, as for a template that cannot render)."""

    def register(completer: Callable[[dict], dict]) -> Callable[[dict], dict]:
        _COMPLETERS[template] = completer
        return completer

    return register


# by template: `check(email)` says why such an email, still waiting, is no longer worth
# sending (what it is about moved on since it was written), or None.
_STILL_NEEDED_CHECKS: dict[str, Callable[[Any], str | None]] = {}


def email_still_needed(*templates: str):
    """Register the decorated function as the check the sender makes of an email of these
    templates before sending it: given the outbox row, it returns why the email is no longer
    needed (one sentence, kept on the row), or None to send it."""

    def register(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
        for template in templates:
            _STILL_NEEDED_CHECKS[template] = check
        return check

    return register


def email_not_needed_because(email) -> str | None:
    """Why this waiting email is no longer worth sending, or None (always None for a
    template without a check)."""
    check = _STILL_NEEDED_CHECKS.get(email.template)
    return check(email) if check is not None else None


def email_context_complete(template: str, context: dict) -> dict:
    """The context `template` is rendered with: the stored one, completed by its template's
    completer if it has one."""
    completer = _COMPLETERS.get(template)
    return completer(context) if completer is not None else context


def email_render_sending(email) -> tuple[EmailContent, EmailContent]:
    """An outbox email as it is sent (with its live values unsealed) and as it is stored
    (each live value masked, in the text and in the HTML as the template escaped it)."""
    if email.context is None:  # written rendered, or sent: as stored
        stored = EmailContent(email.subject, email.body_text, email.body_html)
        return stored, stored
    live_values = secrets_open(email.secret) if email.secret else {}
    context = email_context_complete(email.template, email.context)
    sent = email_render(email.template, {**context, **live_values})
    if not live_values:
        return sent, sent
    masks = []
    for value in live_values.values():
        value, masked = str(value), secret_mask(str(value))
        masks += [(value, masked), (escape(value), escape(masked))]
    stored = EmailContent(*(_masked(part, masks) for part in sent))
    if any(value in part for value, _ in masks for part in stored):
        # A template that changed a value past recognition: store it rendered masked.
        masked_values = {name: secret_mask(str(value)) for name, value in live_values.items()}
        stored = email_render(email.template, {**context, **masked_values})
    return sent, stored


def _masked(text: str, masks: list[tuple[str, str]]) -> str:
    for value, masked in masks:
        text = text.replace(value, masked)
    return text


def email_date(value: datetime.date | datetime.datetime | None, tz=None) -> str:
    """A date as the emails write it ("3 December 2026"), a time by its date in the portal's
    time zone (`tz` when given: looking up the current one costs more than the rest, and a
    sweep writes thousands of emails); formatted when the email is written (its context
    holds text, not dates)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value, tz)
    return _date_text(value)


@functools.lru_cache(maxsize=4096)
def _date_text(value: datetime.date) -> str:
    # A sweep writes the same few dates thousands of times.
    return f"{value.day} {value:%B %Y}"


def email_day_and_date(value: datetime.date) -> str:
    """ "Thursday 3 December 2026"."""
    return f"{value:%A} {email_date(value)}"
