"""Renewal: the holder starts a new case for a grant that is ending or has ended, pre-filled
from the old one. When it is approved, `grant_create_from_case` continues the old grant."""

import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from access_requests.errors import NotRenewable
from access_requests.models import AccessGrant, AccessTier, BusinessCase
from access_requests.selectors.grants import (
    grant_for_update,
    grant_is_renewable,
    grant_not_renewable_reason,
)
from access_requests.services.case_copies import business_case_draft_copy, who_pays_still
from access_requests.services.grants import grant_lapse_undo
from audit.services import record
from core.client import Client


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
        unit, holder = who_pays_still(
            requester=locked.holder,
            unit=locked.paying_business_unit or old.paying_business_unit,
            budget_holder=old.budget_holder,
        )
        case = business_case_draft_copy(
            old=old,
            requester=locked.holder,
            # Only the sites the grant gave: a renewal continues access, it adds none.
            site_ids=set(locked.sites.values_list("pk", flat=True)),
            tier=locked.tier,
            paying_business_unit=unit,
            budget_holder=holder,
            budget_holder_name=old.budget_holder_name,
            pc_choice=BusinessCase.PcChoice.EXISTING
            if locked.tier == AccessTier.ACTIVE and locked.pc_asset_tag
            else old.pc_choice,
            pc_asset_tag=locked.pc_asset_tag if locked.tier == AccessTier.ACTIVE else "",
            start_date=max(locked.end_date + datetime.timedelta(days=1), today),
            renewal_of=locked,
        )
        record(
            actor=actor,
            action="case.renewal_started",
            obj=case,
            changes={"status": [None, "draft"], "renewal_of": old.reference, "grant": locked.pk},
            client=client,
        )
    return case
