"""A case closed before its approver decided: withdrawn by the requester, lapsed, or the
renewal of a grant that was revoked or given up. Its open approval requests close and each
approver is told their link no longer works.

Revoking or giving up a grant is `access_requests`' service, but the renewal under way is a
case with approvers to tell, which only this app can close; `access_requests` never imports
`approvals`, so the grant pages call the functions here, which run both steps in one
transaction (as `case_submit` and `case_withdraw` do for the case pages)."""

from django.db import transaction
from django.utils import timezone

from access_requests.errors import TransitionNotAllowed, transition_check
from access_requests.models import AccessGrant, BusinessCase
from access_requests.services import grants as grant_lifecycle
from access_requests.services.business_cases import (
    business_case_delete_draft,
    business_case_withdraw,
)
from audit.services import NewEvent, record_many
from core.client import Client
from notifications.rendering import email_date
from notifications.services import Outgoing, email_queue_many

from .. import emails
from ..models import ApprovalRequest

CLOSED_WITHDRAWN = "withdrawn"
CLOSED_LAPSED = "lapsed"


def approvals_closed_emails(
    *,
    case: BusinessCase,
    approvals: list[ApprovalRequest],
    because: str,
    closed_at,
    closed_because: str = "",
) -> None:
    """Each approver whose request was open still holds an emailed link: tell them the case
    (withdrawn by the requester, or lapsed undecided) no longer needs their decision and
    that the link no longer works. One email per request and reason (its dedupe key), all
    written in one INSERT; nothing when no request was open."""
    summary = emails.case_closed_summary(case)
    email_queue_many(
        [
            Outgoing(
                template="approval_closed",
                context={
                    "approval": {
                        "approver": emails.person(approval.approver),
                        "on_behalf_of": emails.person(approval.on_behalf_of),
                    },
                    "case": summary,
                    "because": because,
                    **({"closed_because": closed_because} if closed_because else {}),
                    "closed_on": email_date(closed_at),
                },
                to=[(approval.approver.email, f"approval-closed:{approval.pk}:{because}")],
                related=approval,
            )
            for approval in approvals
        ]
    )


def approvals_supersede_for_withdrawal(
    *, case: BusinessCase, approvals: list[ApprovalRequest], actor, client: Client | None
) -> None:
    """Close these open requests of a withdrawn case (both locked by the caller), record
    each and tell each approver."""
    if not approvals:
        return
    for approval in approvals:
        transition_check(approval, ApprovalRequest.Status.SUPERSEDED)
    ApprovalRequest.objects.filter(pk__in=[approval.pk for approval in approvals]).update(
        status=ApprovalRequest.Status.SUPERSEDED, next_reminder_at=None, updated_at=timezone.now()
    )
    for approval in approvals:
        approval.status = ApprovalRequest.Status.SUPERSEDED
        approval.next_reminder_at = None
    approvals_closed_emails(
        case=case, approvals=approvals, because=CLOSED_WITHDRAWN, closed_at=case.withdrawn_at
    )
    # Recorded last: the audit chain's head stays locked from here until commit.
    record_many(
        actor=actor,
        events=[
            NewEvent(
                action="approval.superseded",
                obj=case,
                changes={
                    "approval_request": approval.pk,
                    "approver": approval.approver.email,
                    "approval_status": [
                        ApprovalRequest.Status.OPEN,
                        ApprovalRequest.Status.SUPERSEDED,
                    ],
                    "because": f"the case is {case.status}",
                },
                client=client,
            )
            for approval in approvals
        ],
    )


def approval_requests_withdraw(
    *, case: BusinessCase, actor, client: Client | None = None
) -> list[ApprovalRequest]:
    """A withdrawn case's open approval requests close at once and their approvers are told
    it no longer needs a decision. Runs inside `case_withdraw`'s transaction; a second call
    finds nothing open and does nothing. Returns the requests it closed.

    Raises TransitionNotAllowed if the case is not withdrawn.
    """
    with transaction.atomic():
        locked = (
            BusinessCase.objects.select_for_update(of=("self",))
            .select_related("requester__profile")
            .get(pk=case.pk)
        )
        if locked.status != BusinessCase.Status.WITHDRAWN:
            raise TransitionNotAllowed(locked, BusinessCase.Status.WITHDRAWN)
        approvals = list(
            ApprovalRequest.objects.select_for_update(of=("self",))
            .select_related("approver__profile", "on_behalf_of__profile")
            .filter(business_case=locked, status=ApprovalRequest.Status.OPEN)
            .order_by("pk")
        )
        approvals_supersede_for_withdrawal(
            case=locked, approvals=approvals, actor=actor, client=client
        )
    return approvals


def case_withdraw(
    *, case: BusinessCase, actor, reason: str = "", client: Client | None = None
) -> BusinessCase:
    """The requester withdraws their case before a decision: in one transaction the case
    becomes withdrawn (`business_case_withdraw`) and its open approval requests close
    (`approval_requests_withdraw`).

    Raises TransitionNotAllowed once the case is decided, lapsed or already withdrawn.
    """
    with transaction.atomic():
        locked = BusinessCase.objects.select_for_update().get(pk=case.pk)
        withdrawn = business_case_withdraw(case=locked, actor=actor, reason=reason, client=client)
        approval_requests_withdraw(case=withdrawn, actor=actor, client=client)
    return withdrawn


RENEWAL_CLOSED_REASON = {
    AccessGrant.Status.REVOKED: "The access this request would renew was revoked.",
    AccessGrant.Status.SURRENDERED: "The access this request would renew was given up.",
}


def _renewals_under_way(grant: AccessGrant) -> list[BusinessCase]:
    """The grant's renewal cases in draft or sent, locked. Taken before the grant itself:
    a decision locks its case and then the grant it renews, so this keeps the same order."""
    return list(
        BusinessCase.objects.select_for_update()
        .filter(
            renewal_of=grant,
            status__in=BusinessCase.Status.under_way(),
        )
        .order_by("pk")
    )


def grant_renewals_lock(*, grant) -> None:
    """Lock the renewals under way of a grant (an instance or its id) before a caller locks
    the grant itself and then revokes it, keeping the order every revoke takes."""
    _renewals_under_way(grant)


# Why a renewal closes when its holder lets the access it would renew lapse.
RENEWAL_CLOSED_BY_LAPSE = "You chose to let the access this request would renew lapse."


def _renewals_close(
    *, grant: AccessGrant, actor, client: Client | None = None, why: str | None = None
) -> None:
    """The renewal cases under way of a grant that was revoked, given up or set to lapse: a
    draft is deleted, a sent one is withdrawn (`case_withdraw`, so its approvers are told).
    Runs in the caller's transaction, after the grant changed."""
    why = why or RENEWAL_CLOSED_REASON[grant.status]
    with transaction.atomic():
        for case in _renewals_under_way(grant):
            if case.status == BusinessCase.Status.DRAFT:
                business_case_delete_draft(case=case, actor=actor, client=client)
            else:
                case_withdraw(case=case, actor=actor, reason=why, client=client)


def grant_revoke_closing_renewals(
    *,
    grant: AccessGrant,
    actor,
    reason: str,
    client: Client | None = None,
    by_reviewer: bool = False,
) -> AccessGrant:
    """Revoke a grant (`grant_revoke`, with its `by_reviewer`) and close its renewal under
    way, in one transaction."""
    with transaction.atomic():
        _renewals_under_way(grant)
        revoked = grant_lifecycle.grant_revoke(
            grant=grant, actor=actor, reason=reason, client=client, by_reviewer=by_reviewer
        )
        _renewals_close(grant=revoked, actor=actor, client=client)
    return revoked


def grant_surrender_closing_renewals(
    *, grant: AccessGrant, actor, client: Client | None = None
) -> AccessGrant:
    """Give up a grant (`grant_surrender`) and close its renewal under way, in one
    transaction."""
    with transaction.atomic():
        _renewals_under_way(grant)
        surrendered = grant_lifecycle.grant_surrender(grant=grant, actor=actor, client=client)
        _renewals_close(grant=surrendered, actor=actor, client=client)
    return surrendered


def grant_choose_lapse_closing_renewals(
    *, grant: AccessGrant, actor, client: Client | None = None
) -> AccessGrant:
    """Let a grant lapse (`grant_choose_lapse`) and close its renewal under way, in one
    transaction: renewing and letting lapse contradict each other."""
    with transaction.atomic():
        _renewals_under_way(grant)
        chosen = grant_lifecycle.grant_choose_lapse(grant=grant, actor=actor, client=client)
        _renewals_close(grant=chosen, actor=actor, client=client, why=RENEWAL_CLOSED_BY_LAPSE)
    return chosen
