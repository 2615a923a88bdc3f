"""Reads for the staff directory's pages and plan: what access a person holds."""

from collections import defaultdict
from dataclasses import dataclass, field

from access_requests.models import AccessGrant, BusinessCase
from approvals.models import ApprovalRequest


@dataclass
class PersonAccess:
    """A person's current grants, the cases they sent that wait for a decision, and the
    cases waiting for their decision."""

    grants: list[AccessGrant] = field(default_factory=list)
    open_cases: list[BusinessCase] = field(default_factory=list)
    approvals_held: list[ApprovalRequest] = field(default_factory=list)


def people_access(*, user_ids: list[int]) -> dict[int, PersonAccess]:
    """`PersonAccess` for each of these people (three queries whatever their number)."""
    access: dict[int, PersonAccess] = defaultdict(PersonAccess)
    for grant in (
        AccessGrant.objects.filter(holder_id__in=user_ids, status__in=AccessGrant.Status.current())
        .select_related("business_case")
        .prefetch_related("sites")
        .order_by("pk")
    ):
        access[grant.holder_id].grants.append(grant)
    for case in BusinessCase.objects.filter(
        requester_id__in=user_ids, status__in=BusinessCase.Status.sent_undecided()
    ).order_by("pk"):
        access[case.requester_id].open_cases.append(case)
    for approval in (
        ApprovalRequest.objects.filter(
            approver_id__in=user_ids,
            status=ApprovalRequest.Status.OPEN,
            business_case__status=BusinessCase.Status.SUBMITTED,
        )
        .select_related("business_case")
        .order_by("pk")
    ):
        access[approval.approver_id].approvals_held.append(approval)
    return access


def grant_line(grant: AccessGrant) -> str:
    """A grant in a few words: "SNS-2026-00001 (Active: Facebook, X, until 1 May 2027)"."""
    sites = ", ".join(sorted(site.name for site in grant.sites.all()))
    return (
        f"{grant.business_case.reference} ({grant.get_status_display()}: {sites}, "
        f"until {grant.end_date:%-d %B %Y})"
    )
