"""ICT's lists beside the provisioning queue: access to withdraw, and the standalone PCs
people hold."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from ..models import AccessGrant, AccessTier


def _for_ict_lists(query: QuerySet[AccessGrant]) -> QuerySet[AccessGrant]:
    return query.select_related(
        "business_case",
        "holder__profile__business_unit__directorate",
        "paying_business_unit",
    ).prefetch_related("sites")


def _continued_by_a_renewal() -> Exists:
    """A renewal that carries the same provisioning on (the same PC, the same sites):
    nothing to withdraw until that renewal ends."""
    return Exists(
        AccessGrant.objects.filter(
            renewed_from=OuterRef("pk"), provisioned_at=OuterRef("provisioned_at")
        )
    )


def grants_to_withdraw() -> QuerySet[AccessGrant]:
    """Ended grants whose access ICT set up and has not confirmed withdrawn, oldest first
    (through `grant_to_withdraw_idx`)."""
    return _for_ict_lists(
        AccessGrant.objects.filter(
            status__in=AccessGrant.Status.ended(),
            provisioned_at__isnull=False,
            withdrawn_at__isnull=True,
        ).exclude(_continued_by_a_renewal())
    ).order_by("id")


def grant_to_withdraw(pk: int) -> AccessGrant | None:
    return grants_to_withdraw().filter(pk=pk).first()


def standalone_pcs_issued() -> QuerySet[AccessGrant]:
    """Active-tier grants whose PC is with the holder: in use, or ended and not yet
    recovered; the longest-held first."""
    return _for_ict_lists(
        AccessGrant.objects.filter(tier=AccessTier.ACTIVE, provisioned_at__isnull=False)
        .filter(
            Q(status=AccessGrant.Status.ACTIVE)
            | Q(status__in=AccessGrant.Status.ended(), withdrawn_at__isnull=True)
        )
        .exclude(~Q(status=AccessGrant.Status.ACTIVE) & _continued_by_a_renewal())
    ).order_by("provisioned_at", "id")
