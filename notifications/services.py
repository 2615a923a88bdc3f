"""Writing emails to the outbox and sending them.

The calling service decides who is told and calls `email_queue` inside its transaction;
the row is sent by a Celery task after commit, and the outbox sweep sends anything a
broker or mail-server outage left behind.
"""

import logging
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from audit.services import SystemActor, record

from .models import OutboundEmail

logger = logging.getLogger(__name__)

SENDER = SystemActor("outbox")


def _absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL + path


def email_queue(
    *,
    to: str,
    template: str,
    context: dict,
    related: models.Model | None = None,
    dedupe_key: str | None = None,
) -> OutboundEmail | None:
    """Render `notifications/email/<template>.{subject.txt,txt,html}` into the outbox.

    Returns None when `dedupe_key` was already used (the email exists already).
    Sending is queued for after the surrounding transaction commits.
    """
    context = {
        **context,
        "base_url": settings.PORTAL_BASE_URL,
        "guidance_url": _absolute("/guidance/"),
    }
    subject = render_to_string(f"notifications/email/{template}.subject.txt", context)
    body_text = render_to_string(f"notifications/email/{template}.txt", context)
    body_html = render_to_string(f"notifications/email/{template}.html", context)
    email = OutboundEmail(
        to=to,
        subject=" ".join(subject.split())[:300],
        body_text=body_text,
        body_html=body_html,
        template=template,
        dedupe_key=dedupe_key,
        object_type=related._meta.label_lower if related is not None else "",
        object_id=str(related.pk) if related is not None else "",
        next_attempt_at=timezone.now(),
    )
    if dedupe_key is not None:
        try:
            with transaction.atomic():
                email.save()
        except IntegrityError:
            return None
    else:
        email.save()
    transaction.on_commit(lambda: _enqueue_send(email.pk))
    return email


def _enqueue_send(email_id: int) -> None:
    from .tasks import send_outbound_email

    try:
        send_outbound_email.delay(email_id)
    except Exception:  # noqa: BLE001 - broker down: the outbox sweep sends it later
        logger.warning("Broker unavailable; email %s waits for the outbox sweep", email_id)


def _claim(email_id: int) -> OutboundEmail | None:
    """Take the row for sending unless it is sent, failed or claimed by another sender."""
    now = timezone.now()
    claimed = (
        OutboundEmail.objects.filter(pk=email_id, status=OutboundEmail.Status.PENDING)
        .filter(models.Q(claimed_until__isnull=True) | models.Q(claimed_until__lt=now))
        .update(
            claimed_until=now + timedelta(seconds=settings.SNS_OUTBOX_CLAIM_SECONDS), updated_at=now
        )
    )
    if not claimed:
        return None
    return OutboundEmail.objects.get(pk=email_id)


def outbox_message_id(email: OutboundEmail) -> str:
    """The same Message-ID on every attempt: a sender that died after the mail server took
    the email but before marking it sent resends it, and the copy is recognisably the same."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<sns-outbox-{email.pk}-{int(email.created_at.timestamp())}@{domain}>"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 1, 2, 4, 8 … minutes, capped at an hour."""
    return timedelta(minutes=min(60, 2 ** max(attempts - 1, 0)))


def outbound_email_send(*, email_id: int) -> OutboundEmail | None:
    """Send one email if it is still waiting. Safe to call twice: a sent row is skipped."""
    email = _claim(email_id)
    if email is None:
        return None
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={"Message-ID": outbox_message_id(email)},
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any mail failure is recorded and retried
        _record_failure(email, exc)
        return email
    with transaction.atomic():
        now = timezone.now()
        OutboundEmail.objects.filter(pk=email.pk).update(
            status=OutboundEmail.Status.SENT,
            sent_at=now,
            attempts=models.F("attempts") + 1,
            claimed_until=None,
            last_error="",
            updated_at=now,
        )
        email.refresh_from_db()
        record(
            actor=SENDER,
            action="email.sent",
            obj=email,
            object_repr=f"{email.template} to {email.to}",
            changes={"status": ["pending", "sent"], "to": email.to, "subject": email.subject},
        )
    return email


def _record_failure(email: OutboundEmail, exc: Exception) -> None:
    attempts = email.attempts + 1
    gave_up = attempts >= settings.SNS_OUTBOX_MAX_ATTEMPTS
    now = timezone.now()
    with transaction.atomic():
        OutboundEmail.objects.filter(pk=email.pk).update(
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            claimed_until=None,
            status=OutboundEmail.Status.FAILED if gave_up else OutboundEmail.Status.PENDING,
            next_attempt_at=None if gave_up else now + retry_delay(attempts),
            updated_at=now,
        )
        email.refresh_from_db()
        record(
            actor=SENDER,
            action="email.failed" if gave_up else "email.send_failed",
            obj=email,
            object_repr=f"{email.template} to {email.to}",
            changes={"attempts": attempts, "error": email.last_error},
        )
    logger.warning("Sending email %s failed (attempt %s): %s", email.pk, attempts, exc)


def outbox_due_ids(*, limit: int = 500) -> list[int]:
    """Emails waiting whose next attempt is due (uses the partial pending index)."""
    now = timezone.now()
    return list(
        OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING, next_attempt_at__lte=now)
        .filter(models.Q(claimed_until__isnull=True) | models.Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def outbox_sweep(*, limit: int = 500) -> int:
    """Send what is due; each email is claimed and sent on its own. Returns emails sent."""
    sent = 0
    for email_id in outbox_due_ids(limit=limit):
        email = outbound_email_send(email_id=email_id)
        if email is not None and email.status == OutboundEmail.Status.SENT:
            sent += 1
    return sent
