"""ICT confirms that an ended grant's access is withdrawn: the sites closed for the holder,
or the standalone PC recovered."""

from django.db import transaction
from django.utils import timezone

from audit.services import record
from core.client import Client

from ..errors import NothingToWithdraw
from ..models import AccessGrant


def grant_withdrawal_confirm(
    *, grant: AccessGrant, actor, client: Client | None = None
) -> AccessGrant:
    """Record that ICT withdrew this ended grant's access. Raises NothingToWithdraw if the
    grant has not ended, was never set up, or was already confirmed (a second tab)."""
    with transaction.atomic():
        locked = AccessGrant.objects.select_for_update().get(pk=grant.pk)
        if (
            locked.status not in AccessGrant.Status.ended()
            or locked.provisioned_at is None
            or locked.withdrawn_at is not None
        ):
            raise NothingToWithdraw(locked)
        locked.withdrawn_at = timezone.now()
        locked.withdrawn_by = actor
        locked.save(update_fields=["withdrawn_at", "withdrawn_by", "updated_at"])
        changes = {"withdrawn_at": [None, locked.withdrawn_at], "status": locked.status}
        if locked.pc_asset_tag:
            changes["pc_asset_tag"] = locked.pc_asset_tag
        record(
            actor=actor, action="grant.access_withdrawn", obj=locked, changes=changes, client=client
        )
    return locked
