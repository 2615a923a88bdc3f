"""Read queries for business cases. Which cases a person may see is decided here."""

from django.db.models import Prefetch, Q, QuerySet

from access_requests.models import AccessGrant, BusinessCase, Site, SiteIdentity
from audit.models import AuditEvent
from people.models import BusinessUnit


def business_cases_for_requester(*, user) -> QuerySet[BusinessCase]:
    """The person's own cases, newest first, with their sites and grant for list pages."""
    return (
        BusinessCase.objects.filter(requester=user)
        .select_related("grant")
        .prefetch_related(Prefetch("sites", queryset=Site.objects.order_by("name")))
        .order_by("-created_at", "-id")
    )


def business_case_for_requester(*, user, pk: int) -> BusinessCase | None:
    """One of the person's own cases (drafts included) with everything its pages show,
    or None: another person's case does not exist as far as this person knows."""
    return (
        BusinessCase.objects.filter(requester=user, pk=pk)
        .select_related(
            "requester__profile__business_unit", "paying_business_unit__directorate", "grant"
        )
        .prefetch_related(
            Prefetch(
                "site_identities",
                queryset=SiteIdentity.objects.select_related("site").order_by("site__name"),
            )
        )
        .first()
    )


def sites_offered() -> QuerySet[Site]:
    """The catalogue as staff see it: the sites admins have left switched on."""
    return Site.objects.filter(is_active=True).order_by("name")


def business_units_for_choice() -> QuerySet[BusinessUnit]:
    return BusinessUnit.objects.select_related("directorate").order_by("name", "cost_centre")


# What each audit action means to the person reading their case's timeline.
TIMELINE_LABELS = {
    "case.started": "Draft started",
    "case.answers_saved": "Answers saved",
    "case.sites_changed": "Sites chosen",
    "case.identity_saved": "Identity answered",
    "case.submitted": "Sent for a decision",
    "case.routed": "Sent to the approver",
    "case.withdrawn": "Withdrawn",
    "case.approved": "Approved",
    "case.rejected": "Rejected",
    "case.lapsed": "Expired without a decision",
    "approval.sent": "Sent to the approver",
    "approval.requested": "Approval requested",
    "approval.opened": "Opened by the approver",
    "approval.reminded": "Reminder sent to the approver",
    "approval.escalated": "Escalated",
    "approval.decided": "Decision recorded",
    "approval.superseded": "Approval request closed",
    "approval.expired": "Approval request expired",
    "grant.created": "Access granted",
    "grant.provisioned": "Access set up by ICT",
    "grant.returned": "Returned by ICT",
    "grant.expired": "Access expired",
    "grant.revoked": "Access revoked",
    "grant.surrendered": "Access given up",
}


def timeline_label(action: str) -> str:
    if action in TIMELINE_LABELS:
        return TIMELINE_LABELS[action]
    return action.split(".", 1)[-1].replace("_", " ").capitalize()


def business_case_timeline(case: BusinessCase) -> list[AuditEvent]:
    """Everything the audit trail records about the case, its approval requests and its
    grant, oldest first. Three indexed queries whatever the length."""
    objects = Q(object_type="access_requests.businesscase", object_id=str(case.pk))
    # The reverse accessor reads the approvals table without importing the upper app.
    approval_ids = [str(pk) for pk in case.approval_requests.values_list("pk", flat=True)]
    if approval_ids:
        objects |= Q(object_type="approvals.approvalrequest", object_id__in=approval_ids)
    grant_ids = [
        str(pk)
        for pk in AccessGrant.objects.filter(business_case=case).values_list("pk", flat=True)
    ]
    if grant_ids:
        objects |= Q(object_type="access_requests.accessgrant", object_id__in=grant_ids)
    events = list(AuditEvent.objects.filter(objects).order_by("occurred_at", "id"))
    for event in events:
        event.label = timeline_label(event.action)
    return events
