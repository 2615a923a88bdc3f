"""How an outbox email leaves the portal: SMTP (Django's mail backend, the default) or GOV.UK
Notify (its official client), chosen by settings. The outbox, its retries and its dedupe keys
are the same whichever is used: a transport only hands over one rendered email, and says
whether a failure is worth retrying.
"""

import datetime
import functools
import logging
from dataclasses import dataclass
from typing import Protocol

import redis
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from .models import EmailContent, OutboundEmail

logger = logging.getLogger(__name__)


class SendFailed(Exception):
    """The email did not go; it is tried again after a backoff (`retry`) or given up now."""

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.retry = retry


class SendDeferred(Exception):
    """Not sent and not a failure: the transport is at its rate limit until `until`."""

    def __init__(self, until):
        super().__init__(f"rate limit reached; waits until {until:%H:%M:%S}")
        self.until = until


@dataclass(frozen=True)
class Sent:
    via: str
    provider_id: str = ""


class Transport(Protocol):
    def send(self, *, email: OutboundEmail, content: EmailContent, message_id: str) -> Sent: ...


class SmtpTransport:
    """Django's configured mail backend (SMTP, or the demo's folder; tests' in-memory box)."""

    def send(self, *, email: OutboundEmail, content: EmailContent, message_id: str) -> Sent:
        message = EmailMultiAlternatives(
            subject=content.subject,
            body=content.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
            headers={"Message-ID": message_id},
        )
        if content.body_html:
            message.attach_alternative(content.body_html, "text/html")
        try:
            message.send()
        except Exception as exc:  # noqa: BLE001 - any mail failure is retried (4xx, 5xx, down)
            raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
        return Sent(OutboundEmail.Via.SMTP)


def notify_reference(message_id: str) -> str:
    """The reference Notify keeps with the email and sends back in its delivery receipt: the
    email's Message-ID without its brackets (`sns-outbox-<id>-<created>@domain`)."""
    return message_id.strip("<>")


class NotifyTransport:
    """GOV.UK Notify through its official client: one template for every email, whose
    personalisation carries the subject and the plain-text body (Notify sends its own HTML
    from the text, so the portal's HTML body is not sent)."""

    def __init__(self):
        self.api_key = settings.NOTIFY_API_KEY
        # The key ends with the service id and the secret, two UUIDs of 36 characters.
        self.service_id = self.api_key[-73:-37]

    def send(self, *, email: OutboundEmail, content: EmailContent, message_id: str) -> Sent:
        notify_rate_take(service_id=self.service_id)
        # One client per email: the client's session is not thread-safe, and a sender that
        # sends a batch does so one email at a time.
        client = NotificationsAPIClient(
            self.api_key, base_url=settings.NOTIFY_BASE_URL, timeout=settings.EMAIL_TIMEOUT
        )
        try:
            response = client.send_email_notification(
                email_address=email.to,
                template_id=settings.NOTIFY_EMAIL_TEMPLATE_ID,
                personalisation={"subject": content.subject, "body": content.body_text},
                reference=notify_reference(message_id),
                email_reply_to_id=settings.NOTIFY_REPLY_TO_ID or None,
            )
        except APIError as exc:  # an HTTP error, or an answer that is not Notify's JSON
            # 400: Notify refuses this email as it stands (a bad address, say): sending it
            # again changes nothing. 403 (the key or the clock), 429 (over the limit), 5xx
            # and a network failure (the client reports 503) are retried with the backoff.
            text = notify_error_text(exc)
            if exc.status_code == 403:
                logger.error("GOV.UK Notify refused the API key: %s", text)
            raise SendFailed(text, retry=exc.status_code != 400) from exc
        except Exception as exc:  # noqa: BLE001 - anything else is retried with the backoff
            raise SendFailed(f"GOV.UK Notify: {type(exc).__name__}: {exc}") from exc
        return Sent(OutboundEmail.Via.NOTIFY, str(response.get("id", ""))[:64])


def notify_error_text(exc: APIError) -> str:
    """`GOV.UK Notify: 429 RateLimitError: Exceeded rate limit…` from Notify's error JSON
    (a list of errors, each with its kind and message)."""
    message = exc.message
    if isinstance(message, list):
        message = "; ".join(
            f"{item.get('error', '')}: {item.get('message', '')}"
            if isinstance(item, dict)
            else str(item)
            for item in message
        )
    return f"GOV.UK Notify: {exc.status_code} {message}"


def email_transport() -> Transport:
    return NotifyTransport() if settings.NOTIFY_API_KEY else SmtpTransport()


@functools.lru_cache(maxsize=4)
def _redis_at(url: str) -> redis.Redis:
    # One connection pool per process (redis-py's pool is thread-safe).
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def _rate_counter() -> redis.Redis | None:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None  # the demo's filesystem broker: Notify's 429 is the only limit
    return _redis_at(url)


def notify_rate_take(*, service_id: str) -> None:
    """Count one message against the key's limit for this minute, shared by every sender
    through Redis (a counter per key and minute); over the limit, `SendDeferred` until the
    next minute. Without Redis, or with Redis unreachable, Notify's own 429 still holds."""
    counter = _rate_counter()
    if counter is None:
        return
    now = timezone.now()
    minute = int(now.timestamp() // 60)
    key = f"sns:notify-rate:{service_id}:{minute}"
    try:
        with counter.pipeline() as pipe:
            count, _ = pipe.incr(key).expire(key, 120).execute()
    except redis.RedisError:
        logger.warning("Redis unreachable: Notify's rate is not counted for this email")
        return
    if count > settings.NOTIFY_MESSAGES_PER_MINUTE:
        raise SendDeferred(datetime.datetime.fromtimestamp((minute + 1) * 60, tz=datetime.UTC))
