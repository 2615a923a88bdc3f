"""Read queries for business cases. Which cases a person may see is decided here."""

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from access_requests.models import AccessGrant, BusinessCase, Site, SiteIdentity
from audit.models import AuditEvent
from people.models import BusinessUnit, User


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
            "requester__profile__business_unit",
            "paying_business_unit__directorate",
            "budget_holder__profile",
            "grant",
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


def business_units_chargeable_by(*, user) -> QuerySet[BusinessUnit]:
    """The business units this person may charge for a standalone PC: those of their own
    directorate, or of their organisation (`SNS_CHARGEABLE_UNITS`). None for someone
    outside the directory's units."""
    profile = getattr(user, "profile", None)
    unit = profile.business_unit if profile is not None else None
    units = BusinessUnit.objects.select_related("directorate").order_by("name", "cost_centre")
    if unit is None:
        return units.none()
    if settings.SNS_CHARGEABLE_UNITS == "organisation":
        return units.filter(directorate__organisation_id=unit.directorate.organisation_id)
    return units.filter(directorate_id=unit.directorate_id)


def business_unit_is_chargeable_by(*, user, unit: BusinessUnit) -> bool:
    return business_units_chargeable_by(user=user).filter(pk=unit.pk).exists()


def budget_holder_for_unit(*, email: str, unit: BusinessUnit | None, requester) -> tuple:
    """(the person, "") for the budget holder with this email address, or (None, why not):
    they must be an active person in the directory, in the paying unit, not the requester."""
    person = (
        User.objects.select_related("profile__business_unit")
        .filter(email__iexact=email.strip(), is_active=True, profile__isnull=False)
        .first()
    )
    if person is None:
        return None, "Enter the email address of someone in the staff directory"
    if person.pk == requester.pk:
        return None, "The budget holder must be someone other than you"
    if unit is not None and person.profile.business_unit_id != unit.pk:
        return None, f"The budget holder must work in {unit.name}, the unit that will pay"
    return person, ""


# What each audit action means to the person reading their case's timeline.
TIMELINE_LABELS = {
    "case.started": "Draft started",
    "case.asked_again": "Draft started with the answers of an earlier request",
    "case.renewal_started": "Renewal started",
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
