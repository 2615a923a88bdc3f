""" "Access in your directorate": the current grants of one directorate's people, for its
director and for admins and auditors, with each holder's latest safe-use answer."""

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier, SafeUseReminder
from people.models import Directorate

from .register import CURRENT, RegisterFilters, RegisterRow, register_filtered, register_rows

ENDING_SOON_DAYS = 30
VIEW_ANY_DIRECTORATE = "access_requests.view_accessgrant"


def directorates_for(*, user) -> QuerySet[Directorate]:
    """The directorates whose access this person may review: any (admins and auditors), the
    ones they direct now (directors), none for anyone else."""
    query = Directorate.objects.select_related("organisation").order_by(
        "name", "organisation__name"
    )
    if user.has_perm(VIEW_ANY_DIRECTORATE):
        return query
    if not user.is_active:
        return query.none()
    return query.filter(director=user)


def directorate_grants(
    *, directorate: Directorate, tier: str = "", ending_soon: bool = False
) -> QuerySet[AccessGrant]:
    """The directorate's current grants (awaiting provisioning or active), as the
    register's filters choose them, so both pages agree on who holds what."""
    return register_filtered(
        RegisterFilters(
            status=CURRENT,
            tier=tier,
            directorate=directorate,
            expiring_within_days=ENDING_SOON_DAYS if ending_soon else None,
        )
    )


@dataclass(frozen=True)
class SafeUse:
    """The holder's latest safe-use reminder, as a line of the page says it."""

    text: str
    overdue: bool = False


NOT_ASKED = SafeUse("Not asked yet")
NOT_APPLICABLE = SafeUse("Not needed (passive monitoring)")


@dataclass(frozen=True)
class DirectorateRow:
    grant: RegisterRow
    safe_use: SafeUse


def directorate_rows(values: list[dict], *, today: datetime.date) -> list[DirectorateRow]:
    """A page of `register_page_values` as the page's rows: the register's two queries for
    people and sites, and one for the page's safe-use reminders."""
    rows = register_rows(values)
    active_tier = [v["id"] for v in values if v["tier"] == AccessTier.ACTIVE]
    latest: dict[int, SafeUseReminder] = {}
    for reminder in SafeUseReminder.objects.filter(grant_id__in=active_tier).only(
        "grant_id", "period", "confirm_by", "confirmed_at"
    ):
        seen = latest.get(reminder.grant_id)
        if seen is None or reminder.period > seen.period:
            latest[reminder.grant_id] = reminder
    tiers = {v["id"]: v["tier"] for v in values}
    return [
        DirectorateRow(row, _safe_use(tiers[row.id], latest.get(row.id), today)) for row in rows
    ]


def _safe_use(tier: str, reminder: SafeUseReminder | None, today: datetime.date) -> SafeUse:
    if tier != AccessTier.ACTIVE:
        return NOT_APPLICABLE
    if reminder is None:
        return NOT_ASKED
    if reminder.confirmed_at is not None:
        return SafeUse(f"Confirmed {timezone.localtime(reminder.confirmed_at):%-d %B %Y}")
    if reminder.confirm_by < today:
        return SafeUse(f"Not confirmed (was due {reminder.confirm_by:%-d %B %Y})", overdue=True)
    return SafeUse(f"Asked, due {reminder.confirm_by:%-d %B %Y}")
