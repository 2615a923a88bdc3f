"""Business rules for the business case: drafting, submitting, withdrawing."""

from django.db import transaction
from django.utils import timezone

from access_requests.errors import BusinessCaseIncomplete, transition_check
from access_requests.models import AccessTier, BusinessCase, ReferenceCounter
from audit.client import Client
from audit.services import record

REFERENCE_PREFIX = "SNS"


def business_case_missing_answers(*, case: BusinessCase) -> list[str]:
    """What still has to be answered before the case can be sent, in the page's words."""
    missing = []
    identities = list(case.site_identities.all())
    if not identities:
        missing.append("which sites")
    if not case.tier:
        missing.append("the access tier")
    if case.tier == AccessTier.ACTIVE and not (
        case.paying_business_unit_id and case.budget_holder_name and case.pc_choice
    ):
        missing.append("who pays for the standalone PC")
    if not (case.purpose and case.audience and case.integration):
        missing.append("the business need")
    if not (case.start_date and case.end_date):
        missing.append("the dates")
    for identity in identities:
        if not identity.display_name or (identity.uses_pseudonym and not identity.pseudonym_reason):
            missing.append(f"your identity on {identity.site.name}")
        elif not identity.identifies_as_official and not identity.not_official_reason:
            missing.append(f"your identity on {identity.site.name}")
    if not all(
        [
            case.declared_read_guidance,
            case.declared_civil_service_code,
            case.declared_no_protected_information,
            case.declared_media_to_press_office,
            case.declared_separate_identities,
        ]
    ):
        missing.append("the declarations")
    return missing


def _next_reference(year: int) -> str:
    """SNS-<year>-<5 digits>, counting within the year, under the year's counter lock."""
    ReferenceCounter.objects.get_or_create(year=year)
    counter = ReferenceCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{REFERENCE_PREFIX}-{year}-{counter.last_number:05d}"


def business_case_submit(
    *, case: BusinessCase, actor, client: Client | None = None
) -> BusinessCase:
    """Draft → submitted: give the case its reference. Call inside the caller's transaction
    (`approvals.services.case_submit` routes it in the same one).

    Raises TransitionNotAllowed if it was already sent (a double click, a second tab),
    BusinessCaseIncomplete if a question is unanswered.
    """
    with transaction.atomic():
        locked = BusinessCase.objects.select_for_update().get(pk=case.pk)
        transition_check(locked, BusinessCase.Status.SUBMITTED)
        missing = business_case_missing_answers(case=locked)
        if missing:
            raise BusinessCaseIncomplete(missing)
        now = timezone.now()
        locked.reference = _next_reference(timezone.localdate(now).year)
        locked.status = BusinessCase.Status.SUBMITTED
        locked.submitted_at = now
        locked.declarations_made_at = locked.declarations_made_at or now
        locked.save(
            update_fields=[
                "reference",
                "status",
                "submitted_at",
                "declarations_made_at",
                "updated_at",
            ]
        )
        record(
            actor=actor,
            action="case.submitted",
            obj=locked,
            changes={"status": ["draft", "submitted"], "reference": locked.reference},
            client_address=client.address if client else None,
            user_agent=client.user_agent if client else "",
        )
    return locked
