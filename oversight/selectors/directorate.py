""" "Access in your directorate": the current grants of one directorate's people, for its
director and for admins and auditors, with each holder's latest safe-use answer."""

import datetime
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import QuerySet
from django.utils import timezone

from access_requests.models import TIER_LABELS, AccessGrant, AccessTier
from access_requests.selectors.grants import safe_use_reminder_rows, site_names_by_grant
from people.models import Directorate

from ..pagination import KeysByGroup
from .people import NOBODY, people_on_page
from .register import (
    CURRENT,
    GRANT_STATUS_LABELS,
    RegisterFilters,
    people_in,
    register_filtered,
    register_page_values,
)

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
    return register_filtered(_filters(directorate, tier, ending_soon))


def directorate_page_keys(
    *, directorate: Directorate, tier: str = "", ending_soon: bool = False
) -> KeysByGroup:
    """How a page of `directorate_grants` finds its grants: person by person among the
    directorate's people, each one's current grants past the cursor read from
    `grant_current_holder_idx`, so that a page reads the directorate's grants (a few
    hundred) rather than the department's from the cursor on."""
    return KeysByGroup(
        rows=register_filtered(_filters(None, tier, ending_soon)),
        column="holder_id",
        groups=people_in(business_unit__directorate=directorate),
    )


def directorate_page_values() -> QuerySet:
    """The columns of a page's grants (`register_page_values`), read by the ids
    `directorate_page_keys` chose: the filters are already in those."""
    return register_page_values(AccessGrant.objects.all(), by_holder=False)


def _filters(directorate: Directorate | None, tier: str, ending_soon: bool) -> RegisterFilters:
    return RegisterFilters(
        status=CURRENT,
        tier=tier,
        directorate=directorate,
        expiring_within_days=ENDING_SOON_DAYS if ending_soon else None,
    )


@dataclass(frozen=True)
class SafeUse:
    """The holder's latest safe-use reminder, as a line of the page says it."""

    text: str
    overdue: bool = False


NOT_ASKED = SafeUse("Not asked yet")
NOT_APPLICABLE = SafeUse("Not needed (passive monitoring)")


@dataclass(frozen=True)
class DirectorateGrant:
    """A grant as a line of the page shows it: its holder, sites, tier, end and status."""

    id: int
    reference: str
    holder_name: str
    business_unit: str
    sites: str
    tier: str
    end_date: datetime.date
    status: str
    status_label: str


@dataclass(frozen=True)
class DirectorateRow:
    grant: DirectorateGrant
    safe_use: SafeUse


def directorate_rows(values: list[dict], *, today: datetime.date) -> list[DirectorateRow]:
    """A page of `register_page_values` as the page's rows, in three queries: the holders'
    names and units, the sites, and the active-tier grants' safe-use reminders. (The
    register's rows also name approvers and read the latest access reviews, which this
    page does not show.)"""
    if not values:
        return []
    people = people_on_page({v["holder_id"] for v in values})
    sites = site_names_by_grant([v["id"] for v in values])
    active_tier = [v["id"] for v in values if v["tier"] == AccessTier.ACTIVE]
    latest: dict[int, _Reminder] = {}
    for row in safe_use_reminder_rows(active_tier):
        reminder = _Reminder._make(row)
        seen = latest.get(reminder.grant_id)
        if seen is None or reminder.period > seen.period:
            latest[reminder.grant_id] = reminder
    rows = []
    for v in values:
        holder = people.get(v["holder_id"], NOBODY)
        grant = DirectorateGrant(
            id=v["id"],
            reference=v["reference"],
            holder_name=holder.name,
            business_unit=holder.business_unit,
            sites=", ".join(sites.get(v["id"], [])),
            tier=TIER_LABELS.get(v["tier"], v["tier"]),
            end_date=v["end_date"],
            status=v["status"],
            status_label=GRANT_STATUS_LABELS.get(v["status"], v["status"]),
        )
        rows.append(DirectorateRow(grant, _safe_use(v["tier"], latest.get(v["id"]), today)))
    return rows


class _Reminder(NamedTuple):
    """The columns of a safe-use reminder the page reads."""

    grant_id: int
    period: int
    confirm_by: datetime.date
    confirmed_at: datetime.datetime | None


def _safe_use(tier: str, reminder: _Reminder | None, today: datetime.date) -> SafeUse:
    if tier != AccessTier.ACTIVE:
        return NOT_APPLICABLE
    if reminder is None:
        return NOT_ASKED
    if reminder.confirmed_at is not None:
        return SafeUse(f"Confirmed {timezone.localtime(reminder.confirmed_at):%-d %B %Y}")
    if reminder.confirm_by < today:
        return SafeUse(f"Not confirmed (was due {reminder.confirm_by:%-d %B %Y})", overdue=True)
    return SafeUse(f"Asked, due {reminder.confirm_by:%-d %B %Y}")
