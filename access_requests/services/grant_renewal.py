"""Renewal: the holder starts a new case for a grant that is ending or has ended, pre-filled
from the old one. When it is approved, `grant_create_from_case` continues the old grant."""

import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from access_requests.errors import NotRenewable
from access_requests.models import AccessGrant, AccessTier, BusinessCase, SiteIdentity
from access_requests.selectors.business_cases import business_unit_is_chargeable_by
from access_requests.selectors.grants import (
    grant_for_update,
    grant_is_renewable,
    grant_not_renewable_reason,
)
from access_requests.services.grants import grant_lapse_undo
from audit.services import record
from core.client import Client


def _who_pays_still(*, old: BusinessCase, grant: AccessGrant) -> tuple:
    """The old case's paying unit and budget holder, as far as they still hold: a unit the
    holder may no longer charge, or a budget holder who left it, is asked again."""
    unit = grant.paying_business_unit or old.paying_business_unit
    if unit is not None and not business_unit_is_chargeable_by(user=grant.holder, unit=unit):
        return None, None
    holder = old.budget_holder
    if (
        holder is None
        or unit is None
        or not holder.is_active
        or getattr(getattr(holder, "profile", None), "business_unit_id", None) != unit.pk
    ):
        holder = None
    return unit, holder


def grant_renewal_start(*, grant: AccessGrant, actor, client: Client | None = None) -> BusinessCase:
    """Start a renewal: a new draft case pre-filled from the old one, linked by `renewal_of`.
    Starting twice returns the renewal already under way."""
    with transaction.atomic():
        locked = grant_for_update(grant)
        if locked.holder_id != getattr(actor, "pk", None):
            raise PermissionDenied("Only the holder can renew a grant")
        # Checked before returning a renewal under way: access that was taken away or
        # given up is not continued, whatever was started before.
        not_renewable = grant_not_renewable_reason(grant=locked)
        if not_renewable:
            raise NotRenewable(not_renewable)
        under_way = (
            BusinessCase.objects.filter(
                renewal_of=locked,
                status__in=BusinessCase.Status.under_way(),
            )
            .order_by("-created_at")
            .first()
        )
        if under_way is not None:
            return under_way
        if AccessGrant.objects.filter(renewed_from=locked).exists():
            raise NotRenewable("This access has already been renewed")
        if not grant_is_renewable(grant=locked):
            raise NotRenewable("You can renew access from 30 days before it ends")
        # Renewing and letting lapse contradict each other: the renew page says that
        # starting a renewal takes back "let it lapse".
        grant_lapse_undo(grant=locked, actor=actor, client=client)
        old = locked.business_case
        today = timezone.localdate()
        unit, holder = _who_pays_still(old=old, grant=locked)
        case = BusinessCase.objects.create(
            requester=locked.holder,
            tier=locked.tier,
            paying_business_unit=unit,
            budget_holder=holder,
            budget_holder_name=old.budget_holder_name,
            pc_choice=BusinessCase.PcChoice.EXISTING
            if locked.tier == AccessTier.ACTIVE and locked.pc_asset_tag
            else old.pc_choice,
            pc_asset_tag=locked.pc_asset_tag if locked.tier == AccessTier.ACTIVE else "",
            purpose=old.purpose,
            audience=old.audience,
            integration=old.integration,
            start_date=max(locked.end_date + datetime.timedelta(days=1), today),
            renewal_of=locked,
        )
        granted_sites = set(locked.sites.values_list("pk", flat=True))
        for identity in old.site_identities.select_related("site").order_by("site__name"):
            if identity.site_id not in granted_sites or not identity.site.is_active:
                continue
            SiteIdentity.objects.create(
                business_case=case,
                site=identity.site,
                display_name=identity.display_name,
                uses_pseudonym=identity.uses_pseudonym,
                pseudonym_reason=identity.pseudonym_reason,
                identifies_as_official=identity.identifies_as_official,
                not_official_reason=identity.not_official_reason,
            )
        record(
            actor=actor,
            action="case.renewal_started",
            obj=case,
            changes={"status": [None, "draft"], "renewal_of": old.reference, "grant": locked.pk},
            client=client,
        )
    return case
