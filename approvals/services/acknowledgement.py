"""The requester's acknowledgement that their case was sent: its reference, who will decide
and by when, and what happens next."""

import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from access_requests.models import BusinessCase
from approvals import emails
from approvals.models import ApprovalRequest
from core.links import absolute_url
from core.working_days import add_working_days
from notifications.rendering import email_date
from notifications.services import email_queue

# How the acknowledgement names each approver's part, in the requester's terms.
ROLE_IN_WORDS = {
    ApprovalRequest.Reason.DIRECTOR: "your director",
    ApprovalRequest.Reason.DEPUTY: "deputy for your director",
    ApprovalRequest.Reason.FALLBACK: "who decides when your director cannot",
    ApprovalRequest.Reason.ESCALATION: "who decides when your director cannot",
}


def case_sent_acknowledgement_queue(
    *, case: BusinessCase, approvals: list[ApprovalRequest]
) -> None:
    """Writes the acknowledgement to the outbox, in the caller's transaction (`case_submit`),
    once per case."""
    sent_on = timezone.localdate(case.submitted_at)
    decide_by = add_working_days(sent_on, settings.SNS_REMINDER_WORKING_DAYS)
    email_queue(
        to=case.requester.email,
        template="case_sent",
        context={
            "case": emails.case_closed_summary(case),
            "deciders": [
                {
                    "display_name": approval.approver.display_name,
                    "role": ROLE_IN_WORDS.get(approval.routed_because, ""),
                }
                for approval in approvals
            ],
            "decide_by": email_date(decide_by),
            "lapses_on": email_date(
                sent_on + datetime.timedelta(days=settings.SNS_LAPSE_AFTER_DAYS)
            ),
            "active_tier": case.is_active_tier,
            "case_url": absolute_url(
                reverse("access_requests:case-detail", kwargs={"pk": case.pk})
            ),
            "contact_email": settings.SNS_CONTACT_EMAIL,
        },
        related=case,
        dedupe_key=f"case-sent:{case.pk}",
    )
