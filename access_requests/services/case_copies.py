"""New drafts that start from the answers of an earlier case: a renewal of a grant
(`grant_renewal.grant_renewal_start`) and "Ask again with these answers" on a case that was
rejected, withdrawn or lapsed (`business_case_ask_again`).

Both copy the business need and, for each site still offered, how the person will identify
themselves there, through `business_case_draft_copy`, and check that the paying unit and
budget holder still hold (`who_pays_still`). Neither copies the declarations, which are made
afresh for each request that is sent.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from access_requests.errors import NotAskableAgain
from access_requests.models import AccessTier, BusinessCase, SiteIdentity
from access_requests.selectors.business_cases import business_unit_is_chargeable_by
from access_requests.services.business_cases import business_case_dates_problems
from audit.services import record
from core.client import Client


def who_pays_still(*, requester, unit, budget_holder) -> tuple:
    """(paying unit, budget holder) as far as they still hold: a unit the requester may no
    longer charge, or a budget holder who left it (or the portal), is asked again."""
    if unit is not None and not business_unit_is_chargeable_by(user=requester, unit=unit):
        return None, None
    if (
        budget_holder is None
        or unit is None
        or not budget_holder.is_active
        or getattr(getattr(budget_holder, "profile", None), "business_unit_id", None) != unit.pk
    ):
        budget_holder = None
    return unit, budget_holder


def business_case_draft_copy(
    *, old: BusinessCase, requester, site_ids: set[int] | None = None, **answers
) -> BusinessCase:
    """A new draft for `requester` with `old`'s business need and the identities of its
    sites that are still offered (and in `site_ids`, when given); `answers` gives the rest
    (tier, who pays, PC, dates, the link to what it continues). Runs inside the caller's
    transaction, whose event says why the draft exists."""
    case = BusinessCase.objects.create(
        requester=requester,
        purpose=old.purpose,
        audience=old.audience,
        integration=old.integration,
        **answers,
    )
    identities = old.site_identities.select_related("site").order_by("site__name")
    SiteIdentity.objects.bulk_create(
        [
            SiteIdentity(
                business_case=case,
                site=identity.site,
                display_name=identity.display_name,
                uses_pseudonym=identity.uses_pseudonym,
                pseudonym_reason=identity.pseudonym_reason,
                identifies_as_official=identity.identifies_as_official,
                not_official_reason=identity.not_official_reason,
            )
            for identity in identities
            if identity.site.is_active and (site_ids is None or identity.site_id in site_ids)
        ]
    )
    return case


def business_case_ask_again(
    *, case: BusinessCase, actor, client: Client | None = None
) -> BusinessCase:
    """Ask again with these answers: a new draft from a rejected, withdrawn or lapsed case,
    linked by `asked_again_from`. It keeps the sites with their identities, the kind of
    access, who pays and the PC (where they still hold) and the business need; the dates
    only while they still meet the rules; the declarations are asked again. Asking twice
    returns the draft already under way.

    Raises PermissionDenied for anyone but the requester, NotAskableAgain for a case that
    is a draft, waiting for a decision or approved.
    """
    with transaction.atomic():
        old = (
            BusinessCase.objects.select_for_update(of=("self",))
            .select_related("paying_business_unit", "budget_holder__profile")
            .get(pk=case.pk)
        )
        if old.requester_id != getattr(actor, "pk", None):
            raise PermissionDenied("Only the requester can ask again")
        if not old.may_ask_again:
            raise NotAskableAgain(old)
        under_way = (
            BusinessCase.objects.filter(asked_again_from=old, status=BusinessCase.Status.DRAFT)
            .order_by("-created_at")
            .first()
        )
        if under_way is not None:
            return under_way
        answers = {"tier": old.tier}
        if old.tier == AccessTier.ACTIVE:
            unit, holder = who_pays_still(
                requester=old.requester,
                unit=old.paying_business_unit,
                budget_holder=old.budget_holder,
            )
            answers.update(
                paying_business_unit=unit,
                budget_holder=holder,
                budget_holder_name=holder.display_name if holder else "",
                pc_choice=old.pc_choice,
                pc_asset_tag=old.pc_asset_tag,
            )
        if (
            old.tier
            and old.start_date
            and old.end_date
            and not business_case_dates_problems(
                tier=old.tier, start_date=old.start_date, end_date=old.end_date
            )
        ):
            answers.update(start_date=old.start_date, end_date=old.end_date)
        new = business_case_draft_copy(
            old=old, requester=old.requester, asked_again_from=old, **answers
        )
        record(
            actor=actor,
            action="case.asked_again",
            obj=new,
            changes={"status": [None, new.status], "asked_again_from": old.reference},
            client=client,
        )
    return new
