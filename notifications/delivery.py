"""GOV.UK Notify's delivery receipts: what became of an email after Notify took it.

Notify posts a receipt to the portal's callback (`/notify/callback/`) with the bearer token
set in Notify's callback settings (`NOTIFY_CALLBACK_TOKEN`). The receipt names the email by
the reference the portal gave it (`notifications.transports.notify_reference`) and by
Notify's own id; `email_delivery_record` writes its status on the outbox row.
"""

import datetime
import hmac
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.services import SystemActor, record
from core.client import Client

from .models import OutboundEmail
from .services import outbox_message_id
from .transports import notify_reference

DELIVERY_RECEIPTS = SystemActor("notify_delivery_receipt")

REFERENCE = re.compile(r"sns-outbox-(\d{1,18})-\d+@\S+")


class ReceiptInvalid(ValueError):
    """The callback's body is not a delivery receipt."""


@dataclass(frozen=True)
class DeliveryReceipt:
    provider_id: str
    reference: str
    status: str  # one of OutboundEmail.Delivery
    completed_at: datetime.datetime | None = None


def delivery_receipt_parse(body: object) -> DeliveryReceipt:
    """A receipt from the callback's JSON, or ReceiptInvalid."""
    if not isinstance(body, dict):
        raise ReceiptInvalid("not a JSON object")
    status, provider_id = body.get("status"), body.get("id")
    reference = body.get("reference") or ""
    if status not in OutboundEmail.Delivery.values:
        raise ReceiptInvalid("unknown status")
    if not isinstance(provider_id, str) or not 0 < len(provider_id) <= 64:
        raise ReceiptInvalid("no notification id")
    if not isinstance(reference, str) or len(reference) > 300:
        raise ReceiptInvalid("bad reference")
    completed = body.get("completed_at")
    try:
        completed_at = parse_datetime(completed) if isinstance(completed, str) else None
    except ValueError:
        completed_at = None
    return DeliveryReceipt(provider_id, reference, status, completed_at)


def callback_token_valid(authorization: str | None) -> bool:
    """Whether the callback's `Authorization: Bearer …` carries the configured token,
    compared in constant time (a byte-by-byte answer would time out the token)."""
    expected = settings.NOTIFY_CALLBACK_TOKEN
    scheme, _, token = (authorization or "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def _email_for(receipt: DeliveryReceipt) -> OutboundEmail | None:
    """The receipt's email, locked: by the reference the portal gave it, which must match
    the row's own, or else by Notify's id."""
    match = REFERENCE.fullmatch(receipt.reference)
    if match:
        email = OutboundEmail.objects.select_for_update().filter(pk=int(match[1])).first()
        if email is not None and notify_reference(outbox_message_id(email)) == receipt.reference:
            return email
    return (
        OutboundEmail.objects.select_for_update()
        .filter(provider_id=receipt.provider_id, sent_via=OutboundEmail.Via.NOTIFY)
        .first()
    )


def email_delivery_record(
    *, receipt: DeliveryReceipt, client: Client | None = None
) -> OutboundEmail | None:
    """Write a delivery receipt's status on its email and record it in the audit trail.
    Returns the email, or None when no email matches. The same receipt twice (Notify
    retries a callback it thinks failed) changes nothing the second time."""
    with transaction.atomic():
        email = _email_for(receipt)
        if email is None:
            return None
        if email.delivery_status == receipt.status and email.provider_id == receipt.provider_id:
            return email
        before = email.delivery_status
        now = timezone.now()
        email.delivery_status = receipt.status
        email.delivery_updated_at = receipt.completed_at or now
        email.provider_id = email.provider_id or receipt.provider_id
        email.save(
            update_fields=["delivery_status", "delivery_updated_at", "provider_id", "updated_at"]
        )
        record(
            actor=DELIVERY_RECEIPTS,
            action="email.delivery_reported",
            obj=email,
            object_repr=f"{email.template} to {email.to}",
            changes={
                "delivery_status": [before, receipt.status],
                "provider_id": receipt.provider_id,
                "to": email.to,
            },
            client=client,
        )
    return email
