"""Helpers for building a register: grants held by people in given units, and bulk rows."""

import datetime

from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier, BusinessCase
from access_requests.tests.factories import AccessGrantFactory, SiteFactory
from people.tests.factories import BusinessUnitFactory, UserFactory


def grant_held(
    *,
    unit=None,
    name=None,
    email=None,
    sites=None,
    tier=AccessTier.PASSIVE,
    status=AccessGrant.Status.ACTIVE,
    start=None,
    end=None,
    approver=None,
    **kwargs,
) -> AccessGrant:
    """A grant held by a new person in `unit`, in any status (with the fields it needs)."""
    today = timezone.localdate()
    start = start or today - datetime.timedelta(days=10)
    end = end or today + datetime.timedelta(days=60)
    holder_kwargs = {"profile__business_unit": unit or BusinessUnitFactory()}
    if name:
        holder_kwargs["profile__name"] = name
    if email:
        holder_kwargs["email"] = email
    holder = UserFactory(**holder_kwargs)
    now = timezone.now()
    extra = {}
    if status != AccessGrant.Status.AWAITING_PROVISIONING:
        extra.update(provisioned_at=now)
    if status == AccessGrant.Status.REVOKED:
        extra.update(revoked_at=now, revoked_by=holder, revocation_reason="Misuse")
    if status == AccessGrant.Status.EXPIRED:
        extra.update(expired_at=now)
    if status == AccessGrant.Status.RETURNED:
        extra = {"returned_reason": "No PC available"}
    grant = AccessGrantFactory(
        business_case__requester=holder,
        business_case__tier=tier,
        business_case__start_date=start,
        business_case__end_date=end,
        business_case__sites=sites if sites is not None else [SiteFactory(name="LinkedIn")],
        status=status,
        approved_by=approver or UserFactory(),
        **extra,
        **kwargs,
    )
    return grant


def bulk_grants(count: int, *, holder, approver, site, prefix="BULK") -> None:
    """`count` active grants in a few queries (for exports and deep pages)."""
    today = timezone.localdate()
    now = timezone.now()
    cases = BusinessCase.objects.bulk_create(
        [
            BusinessCase(
                requester=holder,
                reference=f"{prefix}-{n:06d}",
                status=BusinessCase.Status.APPROVED,
                tier=AccessTier.PASSIVE,
                submitted_at=now,
                decided_at=now,
                start_date=today,
                end_date=today + datetime.timedelta(days=1 + n % 300),
                purpose="Monitoring",
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    grants = AccessGrant.objects.bulk_create(
        [
            AccessGrant(
                business_case=case,
                holder=holder,
                tier=case.tier,
                start_date=case.start_date,
                end_date=case.end_date,
                status=AccessGrant.Status.ACTIVE,
                approved_by=approver,
                approved_at=now,
                provisioned_at=now,
            )
            for case in cases
        ],
        batch_size=2000,
    )
    AccessGrant.sites.through.objects.bulk_create(
        [AccessGrant.sites.through(accessgrant_id=g.pk, site_id=site.pk) for g in grants],
        batch_size=2000,
    )
