"""Cases nobody decided within `SNS_LAPSE_AFTER_DAYS` lapse (Celery beat runs
`case_lapse_due`): the requester is told, and so is each approver whose request was open."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from access_requests.models import BusinessCase
from access_requests.services.business_cases import business_case_lapse
from audit.services import SystemActor
from notifications.services import email_queue, email_sends_batched

from .. import emails, selectors
from ..models import ApprovalRequest
from .closing import CLOSED_LAPSED, approvals_closed_emails
from .links import page_url

# Case ids the lapse sweep reads at a time (each case then lapses in its own transaction).
LAPSE_BATCH_SIZE = 500

LAPSE_SWEEP = SystemActor("case_lapse_due")


def case_lapse_due() -> int:
    """Cases undecided `SNS_LAPSE_AFTER_DAYS` after they were sent lapse, each in its own
    transaction (`case_lapse_one`). Returns how many. One run handles every case due when
    it started, `LAPSE_BATCH_SIZE` ids at a time by keyset, a backlog too."""
    cutoff = timezone.now() - datetime.timedelta(days=settings.SNS_LAPSE_AFTER_DAYS)
    lapsed = 0
    after = None
    with email_sends_batched():
        while due := selectors.cases_lapse_due(cutoff=cutoff, after=after, limit=LAPSE_BATCH_SIZE):
            after = due[-1]
            lapsed += sum(1 for _, case_id in due if case_lapse_one(case_id=case_id))
    return lapsed


def case_lapse_one(*, case_id: int) -> bool:
    """Lapse one case if it is still due (skipped while a decision or a sweep holds it)."""
    now = timezone.now()
    cutoff = now - datetime.timedelta(days=settings.SNS_LAPSE_AFTER_DAYS)
    with transaction.atomic():
        case = (
            BusinessCase.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("requester__profile")
            .filter(pk=case_id, status=BusinessCase.Status.SUBMITTED, submitted_at__lte=cutoff)
            .first()
        )
        if case is None:
            return False
        open_approvals = list(
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("approver__profile", "on_behalf_of__profile")
            .filter(business_case=case, status=ApprovalRequest.Status.OPEN)
            .order_by("pk")
        )
        expired = [approval.pk for approval in open_approvals]
        ApprovalRequest.objects.filter(pk__in=expired).update(
            status=ApprovalRequest.Status.EXPIRED, next_reminder_at=None, updated_at=now
        )
        business_case_lapse(
            case=case, actor=LAPSE_SWEEP, lapsed_at=now, approval_requests_expired=expired
        )
        email_queue(
            to=case.requester.email,
            template="case_lapsed",
            context={
                "case": emails.case_closed_summary(case),
                "start_again_url": page_url("access_requests:case-list"),
            },
            related=case,
            dedupe_key=f"case-lapsed:{case.pk}",
        )
        approvals_closed_emails(
            case=case, approvals=open_approvals, because=CLOSED_LAPSED, closed_at=now
        )
    return True
