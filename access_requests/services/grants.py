"""Business rules for the access grant: creation on approval, and (issue 5) its lifecycle."""

import datetime

from django.db import transaction

from access_requests.models import AccessGrant, BusinessCase
from audit.services import record


def grant_create_from_case(
    *,
    case: BusinessCase,
    approved_by,
    approved_at: datetime.datetime,
    end_date: datetime.date | None = None,
    on_behalf_of=None,
    actor=None,
) -> AccessGrant:
    """Create the grant for an approved case (called by `approvals.services.approval_decide`
    inside its transaction). `end_date` is the approver's earlier end date, if any."""
    with transaction.atomic():
        grant = AccessGrant.objects.create(
            business_case=case,
            holder=case.requester,
            tier=case.tier,
            start_date=case.start_date,
            end_date=end_date or case.end_date,
            approved_by=approved_by,
            approved_on_behalf_of=on_behalf_of,
            approved_at=approved_at,
            paying_business_unit=case.paying_business_unit,
            pc_asset_tag=case.pc_asset_tag,
            renewed_from=case.renewal_of,
        )
        grant.sites.set(case.sites.all())
        record(
            actor=actor or approved_by,
            action="grant.created",
            obj=grant,
            changes={
                "status": [None, grant.status],
                "case": case.reference,
                "tier": grant.tier,
                "start_date": grant.start_date,
                "end_date": grant.end_date,
            },
        )
    return grant
