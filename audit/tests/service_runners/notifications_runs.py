"""Runners for the outbox and delivery-receipt services."""

import datetime

from django.utils import timezone

from approvals import services as approval_services
from approvals.tests.factories import (
    submitted_case,
)
from audit.services import SystemActor
from notifications import (
    delivery as email_delivery,
    services as notification_services,
)
from notifications.delivery import DeliveryReceipt
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory

from .common import CLIENT, Expected, NoEvent, _status

# --- notifications.services -------------------------------------------------------------------

NOTIFICATIONS = "notifications.services"


def _email(to="someone@example.gov.uk") -> OutboundEmail:
    return OutboundEmail.objects.create(
        to=to,
        subject="Subject",
        body_text="Body",
        template="test",
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1),
    )


def run_outbound_email_send(run):
    email = _email()
    run.service_starts()
    notification_services.outbound_email_send(email_id=email.pk)
    return Expected("email.sent", email, "system:outbox", changes=_status("pending", "sent"))


def _mail_server_down(settings):
    """Mail goes over SMTP to a port nothing listens on, so the connection is refused."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


def run_outbound_email_send_failing(run):
    email = _email()
    _mail_server_down(run.settings)
    run.service_starts()
    notification_services.outbound_email_send(email_id=email.pk)
    return Expected("email.send_failed", email, "system:outbox", changes={"attempts": [0, 1]})


def run_outbound_email_send_giving_up(run):
    run.settings.SNS_OUTBOX_MAX_ATTEMPTS = 1
    email = _email()
    _mail_server_down(run.settings)
    run.service_starts()
    notification_services.outbound_email_send(email_id=email.pk)
    return Expected("email.failed", email, "system:outbox", changes=_status("pending", "failed"))


def run_outbox_sweep(run):
    due = [_email("one@example.gov.uk"), _email("two@example.gov.uk")]
    not_due = _email("later@example.gov.uk")
    OutboundEmail.objects.filter(pk=not_due.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(hours=1)
    )
    run.service_starts()
    assert notification_services.outbox_sweep() == 2
    return [
        *(
            Expected("email.sent", email, "system:outbox", changes=_status("pending", "sent"))
            for email in due
        ),
        NoEvent(not_due),
    ]


# --- notifications.delivery and approvals' delivery receipts ---------------------------------

EMAIL_DELIVERY = "notifications.delivery"
RECEIPTS = SystemActor("notify_delivery_receipt").label


def run_email_delivery_record(run):
    email = _email()
    OutboundEmail.objects.filter(pk=email.pk).update(
        status="sent", sent_at=timezone.now(), sent_via="notify", provider_id="notify-id-1"
    )
    run.service_starts()
    email_delivery.email_delivery_record(
        receipt=DeliveryReceipt("notify-id-1", "", "delivered"), client=CLIENT
    )
    return Expected(
        "email.delivery_reported",
        email,
        RECEIPTS,
        CLIENT.address,
        {"delivery_status": ["", "delivered"]},
    )


def _approver_email_sent_through_notify():
    UserFactory(role=Role.ADMIN)  # asked when the director cannot be
    case = submitted_case()
    approval = case.approval_requests.get()
    email = OutboundEmail.objects.get(template="approval_request", object_id=str(approval.pk))
    OutboundEmail.objects.filter(pk=email.pk).update(sent_via="notify", provider_id="notify-id-2")
    return case, approval, email


def run_delivery_receipt_apply(run):
    case, approval, email = _approver_email_sent_through_notify()
    run.service_starts()
    approval_services.delivery_receipt_apply(
        receipt=DeliveryReceipt("notify-id-2", "", "permanent-failure"), client=CLIENT
    )
    return [
        Expected(
            "email.delivery_reported",
            email,
            RECEIPTS,
            CLIENT.address,
            {"delivery_status": ["", "permanent-failure"]},
        ),
        Expected("approval.email_undeliverable", case, RECEIPTS, changes={"escalated": True}),
        Expected("approval.escalated", case, RECEIPTS),
    ]


def run_approval_escalate_undeliverable(run):
    case, approval, email = _approver_email_sent_through_notify()
    run.service_starts()
    approval_services.approval_escalate_undeliverable(approval_id=approval.pk, email=email)
    return [
        Expected(
            "approval.email_undeliverable",
            case,
            RECEIPTS,
            changes={"approval_request": approval.pk, "escalated": True},
        ),
        Expected("approval.escalated", case, RECEIPTS),
    ]
