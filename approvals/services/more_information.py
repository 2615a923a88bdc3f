"""Asking the requester for more information, and the case sent again.

The approver's third choice on the decision page: instead of approving or rejecting, they
ask a question. The case goes back to the requester ("More information needed"), the
asking request closes as sent back (its link's page says so) and any other open request of
the case is superseded. The requester changes any answer and sends the case again: it goes
to the approver who asked, with a new request and link (so reminders and the link's life
start again, and the lapse clock restarts from `submitted_at`), unless that approver no
longer holds the authority they asked with, when the case is routed afresh.
"""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from access_requests.errors import TransitionNotAllowed, transition_check
from access_requests.models import BusinessCase
from access_requests.services.business_cases import (
    business_case_ask_more_information,
    business_case_send_again,
)
from audit.services import record
from core.client import Client
from core.links import absolute_url
from core.working_days import add_working_days
from notifications.rendering import email_date
from notifications.services import email_queue

from .. import emails, selectors
from ..errors import DecisionInvalid
from ..models import ApprovalRequest
from .closing import approvals_closed_emails
from .decisions import VIA_LINK, approval_lock_to_act
from .routing import Route, approval_request_create, approval_request_send

QUESTION_MAX = 2000
CLOSED_SENT_BACK = "sent_back"


def approval_ask_more_information(
    *,
    approval_request: ApprovalRequest,
    question: str,
    actor,
    client: Client | None = None,
    via: str = VIA_LINK,
) -> ApprovalRequest:
    """The approver sends the case back to the requester with a question. Like a decision,
    exactly one of an ask and a decision arriving together wins (both lock the case).

    Raises ApprovalClosed (decided, withdrawn, lapsed, superseded, sent back already),
    ApprovalLinkExpired (through the emailed link only), ApprovalLostAuthority,
    DecisionInvalid (no question, or one too long).
    """
    question = (question or "").strip()
    if not question:
        raise DecisionInvalid("question", "Enter your question for the requester")
    if len(question) > QUESTION_MAX:
        raise DecisionInvalid(
            "question", f"Your question must be {QUESTION_MAX} characters or fewer"
        )
    with transaction.atomic():
        case, approval, now = approval_lock_to_act(approval_request=approval_request, via=via)
        transition_check(approval, ApprovalRequest.Status.SENT_BACK)

        approval.status = ApprovalRequest.Status.SENT_BACK
        approval.next_reminder_at = None
        approval.closed_because = (
            f"{approval.approver.display_name} asked {case.requester.display_name} for more "
            f"information on {timezone.localdate(now):%-d %B %Y}."
        )[:300]
        approval.save(update_fields=["status", "next_reminder_at", "closed_because", "updated_at"])
        others = list(
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("approver__profile", "on_behalf_of__profile")
            .filter(business_case=case, status=ApprovalRequest.Status.OPEN)
            .exclude(pk=approval.pk)
            .order_by("pk")
        )
        superseded = [other.pk for other in others]
        ApprovalRequest.objects.filter(pk__in=superseded).update(
            status=ApprovalRequest.Status.SUPERSEDED,
            next_reminder_at=None,
            closed_because=approval.closed_because,
            updated_at=now,
        )
        business_case_ask_more_information(case=case, question=question, asked_at=now)
        # The other approvers (a deputy, a director whose deputy asked) hold links that no
        # longer work: they are told why, as when a case is withdrawn.
        approvals_closed_emails(
            case=case,
            approvals=others,
            because=CLOSED_SENT_BACK,
            closed_at=now,
            closed_because=approval.closed_because,
        )
        record(
            actor=actor,
            action="approval.more_information_asked",
            obj=case,
            changes={
                "status": [BusinessCase.Status.SUBMITTED, BusinessCase.Status.MORE_INFORMATION],
                "question": question,
                "asked_by": approval.approver.email,
                "on_behalf_of": approval.on_behalf_of.email if approval.on_behalf_of else None,
                "via": via,
                "approval_request": approval.pk,
                "superseded": superseded,
            },
            client=client,
        )
        email_queue(
            to=case.requester.email,
            template="case_more_information",
            context={
                "case": emails.case_closed_summary(case),
                "asked_by": emails.person(approval.approver),
                "question": question,
                "asked_on": email_date(now),
                "case_url": absolute_url(
                    reverse("access_requests:case-detail", kwargs={"pk": case.pk})
                ),
            },
            related=case,
            dedupe_key=f"case-more-information:{approval.pk}",
        )
    return approval


def case_send_again(*, case: BusinessCase, actor, client: Client | None = None) -> BusinessCase:
    """ "Send it again": in one transaction the case becomes submitted again
    (`business_case_send_again`) and goes to the approver who asked for more information,
    with a new request and link; if they no longer hold the authority they asked with, the
    case is routed as a new one is.

    Raises TransitionNotAllowed (not waiting for more information: sent already, in a
    second tab), BusinessCaseIncomplete, NotRenewable, NoApproverAvailable.
    """
    with transaction.atomic():
        locked = (
            BusinessCase.objects.select_for_update(of=("self",))
            .select_related("requester__profile")
            .get(pk=case.pk)
        )
        if locked.status != BusinessCase.Status.MORE_INFORMATION:
            raise TransitionNotAllowed(locked, BusinessCase.Status.SUBMITTED)
        asked = (
            ApprovalRequest.objects.select_related(
                "approver__profile", "on_behalf_of__profile", "delegation"
            )
            .filter(business_case=locked, status=ApprovalRequest.Status.SENT_BACK)
            .order_by("-updated_at", "-pk")
            .first()
        )
        business_case_send_again(case=locked, actor=actor, client=client)
        today = timezone.localdate()
        if asked is not None and selectors.approval_authority(approval=asked, on=today).ok:
            decide_by = add_working_days(today, settings.SNS_REMINDER_WORKING_DAYS)
            approval_request_create(
                case=locked,
                route=Route(
                    asked.approver, asked.routed_because, asked.delegation, asked.on_behalf_of
                ),
                decide_by=decide_by,
                remind=True,
                actor=actor,
                client=client,
                action="approval.sent",
                sent_again={"question": locked.more_information_question},
            )
        else:
            approval_request_send(case=locked, actor=actor, client=client)
        locked.refresh_from_db()
    return locked
