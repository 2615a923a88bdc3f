"""GOV.UK Notify's delivery receipts, and what approvals does when an approver's email can
never arrive: the case is escalated at once to the fallback approver (or the admins), as
after the last reminder, rather than waiting days for reminders that cannot arrive either.

The receipt is written by `notifications.delivery`; `notifications` sits below `approvals`
and cannot call it, so the callback's view calls `delivery_receipt_apply` here, which
records the receipt and escalates in one transaction.
"""

from django.db import transaction

from access_requests.models import BusinessCase
from audit.services import record
from core.client import Client
from notifications.delivery import DELIVERY_RECEIPTS, DeliveryReceipt, email_delivery_record
from notifications.models import OutboundEmail

from ..models import ApprovalRequest
from .reminders import case_escalate

# The emails that carry a decision link: one of these undeliverable leaves the case with an
# approver who cannot act on it. (A "case closed" email bouncing changes nothing.)
DECISION_EMAILS = {"approval_request", "approval_reminder"}


def delivery_receipt_apply(
    *, receipt: DeliveryReceipt, client: Client | None = None
) -> OutboundEmail | None:
    """Record Notify's receipt on its email; an approver's decision email that can never
    be delivered escalates its case. Returns the email, or None when no email matches."""
    with transaction.atomic():
        email = email_delivery_record(receipt=receipt, client=client)
        if (
            email is not None
            and email.delivery_status == OutboundEmail.Delivery.PERMANENT_FAILURE
            and email.object_type == ApprovalRequest._meta.label_lower
            and email.template in DECISION_EMAILS
        ):
            approval_escalate_undeliverable(approval_id=int(email.object_id), email=email)
    return email


def approval_escalate_undeliverable(*, approval_id: int, email: OutboundEmail) -> bool:
    """The approver of this open request cannot be emailed: the case is escalated (once
    per case), the request's reminders stop (they would not arrive), and the trail says
    why. Returns whether anyone new was asked. Safe to call again."""
    with transaction.atomic():
        case_id = (
            ApprovalRequest.objects.filter(pk=approval_id)
            .values_list("business_case_id", flat=True)
            .first()
        )
        if case_id is None:
            return False
        # Lock order: the case, then its requests.
        case = (
            BusinessCase.objects.select_for_update(of=("self",))
            .select_related("requester__profile__business_unit__directorate__organisation")
            .get(pk=case_id)
        )
        approval = (
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("approver")
            .get(pk=approval_id)
        )
        if (
            case.status != BusinessCase.Status.SUBMITTED
            or approval.status != ApprovalRequest.Status.OPEN
        ):
            return False  # decided, withdrawn or lapsed meanwhile: nothing waits on it
        if approval.next_reminder_at is not None:
            approval.next_reminder_at = None
            approval.save(update_fields=["next_reminder_at", "updated_at"])
        escalated = case_escalate(
            case=case, stalled=approval, actor=DELIVERY_RECEIPTS, undeliverable=True
        )
        record(
            actor=DELIVERY_RECEIPTS,
            action="approval.email_undeliverable",
            obj=case,
            changes={
                "approval_request": approval.pk,
                "approver": approval.approver.email,
                "email": email.pk,
                "escalated": escalated,
            },
        )
    return escalated
