""" "Access in your directorate": the current grants of one directorate's people, for its
director and for admins and auditors, with each holder's latest safe-use answer."""

import datetime
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connections, router
from django.db.models import QuerySet
from django.utils import timezone

from access_requests.models import (
    TIER_LABELS,
    AccessGrant,
    AccessTier,
    BusinessCase,
    SafeUseReminder,
    Site,
)
from access_requests.selectors.grants import safe_use_reminder_rows, site_names_by_grant
from core.prepared import PreparedQuery, RawStatement, model_from_values
from people.models import (
    BusinessUnit,
    Directorate,
    Organisation,
    StaffProfile,
    User,
    display_name_of,
)

from ..pagination import BIGINT_MIN, PAGE_SIZE, KeysByGroup, KeysetPage, keyset_page
from .people import NOBODY, people_on_page
from .register import (
    COUNT_CAP,
    CURRENT,
    GRANT_STATUS_LABELS,
    RegisterFilters,
    count_capped,
    people_in,
    register_filtered,
    register_keys,
    register_page_values,
)

ENDING_SOON_DAYS = 30
VIEW_ANY_DIRECTORATE = "access_requests.view_accessgrant"


def directorates_for(*, user) -> list[Directorate]:
    """The directorates whose access this person may review: any (admins and auditors), the
    ones they direct now (directors), none for anyone else; by name."""
    if user.has_perm(VIEW_ANY_DIRECTORATE):
        return list(
            Directorate.objects.select_related("organisation").order_by(
                "name", "organisation__name"
            )
        )
    if not user.is_active:
        return []
    return [
        model_from_values(
            Directorate,
            {"id": pk, "name": name, "organisation_id": organisation_id},
            related={
                "organisation": model_from_values(
                    Organisation, {"id": organisation_id, "name": organisation_name}
                )
            },
        )
        for pk, name, organisation_id, organisation_name in _DIRECTED_BY.run(director_id=user.pk)
    ]


# Read on every request of a director's directorate page: built once per process and
# planned once per connection (`core.prepared`), the few values the page and its form use.
_DIRECTED_BY = PreparedQuery(
    "directorates_directed_by",
    lambda director_id: (
        Directorate.objects.filter(director_id=director_id)
        .order_by("name", "organisation__name")
        .values_list("id", "name", "organisation_id", "organisation__name")
    ),
    director_id=-(2**62) + 89,
)


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


@dataclass(frozen=True)
class DirectoratePage:
    """A page of the directorate's current grants (`.values()` rows, as
    `directorate_page_values`) and how many there are in all, counted no further than
    `COUNT_CAP` + 1."""

    page: KeysetPage
    count: int


def directorate_page(
    *,
    directorate: Directorate,
    tier: str = "",
    ending_soon: bool = False,
    after: str | None = None,
    before: str | None = None,
    page_size: int = PAGE_SIZE,
) -> DirectoratePage:
    """The page of `directorate_grants` after or before a cursor (`BadCursor` for one the
    page did not write), by end date, and the count above it.

    On PostgreSQL one prepared statement (`_PAGES`) reads the directorate's current grants'
    keys once, person by person from `grant_current_holder_idx`, then counts them, cuts the
    page from them at the cursor and joins what its rows show (the holder's name and unit,
    the sites, the newest safe-use reminder): the page's keys and the count each read those
    keys again before, in two statements that Django built and PostgreSQL planned on every
    request, and the rows' people, sites and reminders were three more. Elsewhere, the keys
    (`directorate_page_keys`), the rows and the count as three ORM queries, and
    `directorate_rows` reads the rest."""
    keys, descending = register_keys("end_date")
    alias = router.db_for_read(AccessGrant)
    if connections[alias].vendor != "postgresql":
        page = keyset_page(
            directorate_page_values(),
            keys=keys,
            descending=descending,
            after=after,
            before=before,
            page_size=page_size,
            keys_from=directorate_page_keys(
                directorate=directorate, tier=tier, ending_soon=ending_soon
            ),
        )
        counted = directorate_grants(directorate=directorate, tier=tier, ending_soon=ending_soon)
        return DirectoratePage(page, count_capped(counted))

    ending = {}
    if ending_soon:
        today = timezone.localdate()
        ending = {"end_from": today, "end_to": today + datetime.timedelta(days=ENDING_SOON_DAYS)}
    counts: list[int] = []

    def rows_past(values: list | None, backwards: bool) -> list[dict]:
        cursor_end, cursor_id = values if values is not None else (datetime.date.min, BIGINT_MIN)
        found = _PAGES[ending_soon, backwards].run(
            directorate_id=directorate.pk,
            tier=tier,
            cursor_end=cursor_end,
            cursor_id=cursor_id,
            limit=page_size + 1,
            **ending,
        )
        # Every row carries the count; a page past the end is one row without a grant.
        counts.append(found[0][-1])
        return [dict(zip(_PAGE_COLUMNS, row, strict=False)) for row in found if row[0] is not None]

    page = keyset_page(
        None,
        keys=keys,
        descending=descending,
        after=after,
        before=before,
        page_size=page_size,
        rows_from=rows_past,
    )
    return DirectoratePage(page, counts[-1])


# The columns of a page's rows as `_PAGES` read them, then the count.
_PAGE_COLUMNS = (
    "id",
    "holder_id",
    "tier",
    "status",
    "end_date",
    "reference",
    "holder_common_name",
    "holder_first_name",
    "holder_last_name",
    "holder_email",
    "business_unit",
    "site_names",
    "reminder_period",
    "reminder_confirm_by",
    "reminder_confirmed_at",
)


def _page_statement(*, backwards: bool, ending_soon: bool, **stand_ins) -> RawStatement:
    """The directorate's current grants' keys (`grant_current_holder_idx`, one look-up a
    person: the `LIMIT` keeps the `LATERAL` join a loop over the people, rather than a
    join PostgreSQL may choose to make by reading every current grant, and the index's
    own order chooses that index over the holder's other), read once as a `WITH` that both
    the count and the page read; the page's rows joined to their case's reference, their
    holder's name and unit, their sites' names and their newest safe-use reminder (the
    active tier's only). One row with a count and no grant when the page is empty. The end dates'
    bounds only where they filter: a generic plan guesses a range of unknown bounds to be
    narrow, and might read it from `grant_end_idx` instead of the person's grants."""
    quote = connections[router.db_for_read(AccessGrant)].ops.quote_name
    grant, case = quote(AccessGrant._meta.db_table), quote(BusinessCase._meta.db_table)
    profile, unit = quote(StaffProfile._meta.db_table), quote(BusinessUnit._meta.db_table)
    user, site = quote(User._meta.db_table), quote(Site._meta.db_table)
    grant_sites = quote(AccessGrant.sites.through._meta.db_table)
    reminder = quote(SafeUseReminder._meta.db_table)
    active_tier = AccessTier.ACTIVE.value
    # Written as literals, as `grant_current_holder_idx`'s predicate names them, so that
    # the generic plan may use it.
    current = ", ".join(f"'{status}'" for status in AccessGrant.Status.current())
    sign, direction = ("<", "DESC") if backwards else (">", "")
    ending = " AND g.end_date >= %s AND g.end_date <= %s" if ending_soon else ""
    sql = f"""
        WITH page_keys AS (
            SELECT held.end_date, held.id
            FROM {profile} AS person
            JOIN {unit} AS unit ON unit.id = person.business_unit_id
            CROSS JOIN LATERAL (
                SELECT g.end_date, g.id FROM {grant} AS g
                WHERE g.holder_id = person.user_id AND g.status IN ({current})
                    AND (%s = '' OR g.tier = %s){ending}
                ORDER BY g.end_date, g.id LIMIT {COUNT_CAP + 1}
            ) AS held
            WHERE unit.directorate_id = %s
        )
        SELECT g.id, g.holder_id, g.tier, g.status, g.end_date, c.reference,
            holder_profile.commonly_used_name, holder.first_name, holder.last_name, holder.email,
            holder_unit.name,
            ARRAY(
                SELECT site.name FROM {grant_sites} AS held_site
                JOIN {site} AS site ON site.id = held_site.site_id
                WHERE held_site.accessgrant_id = g.id ORDER BY site.name
            ),
            newest.period, newest.confirm_by, newest.confirmed_at,
            counted.n
        FROM (
            SELECT COUNT(*) AS n FROM (SELECT 1 FROM page_keys LIMIT {COUNT_CAP + 1}) AS capped
        ) AS counted
        LEFT JOIN (
            (
                SELECT id FROM page_keys WHERE (end_date, id) {sign} (%s, %s)
                ORDER BY end_date {direction}, id {direction} LIMIT %s
            ) AS chosen
            JOIN {grant} AS g ON g.id = chosen.id
            JOIN {case} AS c ON c.id = g.business_case_id
            JOIN {user} AS holder ON holder.id = g.holder_id
            LEFT JOIN {profile} AS holder_profile ON holder_profile.user_id = holder.id
            LEFT JOIN {unit} AS holder_unit ON holder_unit.id = holder_profile.business_unit_id
            LEFT JOIN LATERAL (
                SELECT reminder.period, reminder.confirm_by, reminder.confirmed_at
                FROM {reminder} AS reminder
                WHERE reminder.grant_id = g.id AND g.tier = '{active_tier}'
                ORDER BY reminder.period DESC LIMIT 1
            ) AS newest ON TRUE
        ) ON TRUE
        ORDER BY g.end_date {direction}, g.id {direction}
    """  # noqa: S608  # nosec B608 - names from the models and literals from the code; values are parameters
    order = ["tier", "tier", *(["end_from", "end_to"] if ending_soon else [])]
    order += ["directorate_id", "cursor_end", "cursor_id", "limit"]
    return RawStatement(AccessGrant, sql, [stand_ins[name] for name in order])


_PAGE_STAND_INS = {
    "directorate_id": -(2**62) + 71,
    "tier": "stand-in tier",
    "cursor_end": datetime.date(1, 1, 11),
    "cursor_id": -(2**62) + 73,
    "limit": 2**61 + 47,
}
_ENDING_STAND_INS = {"end_from": datetime.date(1, 1, 9), "end_to": datetime.date(1, 1, 10)}


def _prepared_page(*, ending_soon: bool, backwards: bool) -> PreparedQuery:
    return PreparedQuery(
        "directorate_page"
        + ("_ending_soon" if ending_soon else "")
        + ("_back" if backwards else ""),
        lambda **stand_ins: _page_statement(
            backwards=backwards, ending_soon=ending_soon, **stand_ins
        ),
        **_PAGE_STAND_INS,
        **(_ENDING_STAND_INS if ending_soon else {}),
    )


# A page (forwards or back) of the directorate's grants, or of those ending soon.
_PAGES = {
    (ending_soon, backwards): _prepared_page(ending_soon=ending_soon, backwards=backwards)
    for ending_soon in (False, True)
    for backwards in (False, True)
}


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
    """A page of `directorate_page`'s rows as the page's rows. On PostgreSQL its statement
    has joined the holder's name and unit, the sites and the newest safe-use reminder;
    elsewhere they are read here, in three queries (`_joined`). (The register's rows also
    name approvers and read the latest access reviews, which this page does not show.)"""
    if values and "site_names" not in values[0]:
        values = _joined(values)
    rows = []
    for v in values:
        grant = DirectorateGrant(
            id=v["id"],
            reference=v["reference"],
            holder_name=display_name_of(
                v["holder_common_name"],
                v["holder_first_name"],
                v["holder_last_name"],
                v["holder_email"],
            ),
            business_unit=v["business_unit"] or "",
            sites=", ".join(v["site_names"]),
            tier=TIER_LABELS.get(v["tier"], v["tier"]),
            end_date=v["end_date"],
            status=v["status"],
            status_label=GRANT_STATUS_LABELS.get(v["status"], v["status"]),
        )
        reminder = None
        if v["reminder_period"] is not None:
            reminder = _Reminder(
                v["id"], v["reminder_period"], v["reminder_confirm_by"], v["reminder_confirmed_at"]
            )
        rows.append(DirectorateRow(grant, _safe_use(v["tier"], reminder, today)))
    return rows


def _joined(values: list[dict]) -> list[dict]:
    """`directorate_page_values` rows with what `_PAGES` joins: the holders' names and units,
    the sites and the active-tier grants' newest safe-use reminders, in three queries."""
    people = people_on_page({v["holder_id"] for v in values})
    sites = site_names_by_grant([v["id"] for v in values])
    active_tier = [v["id"] for v in values if v["tier"] == AccessTier.ACTIVE]
    latest: dict[int, _Reminder] = {}
    for row in safe_use_reminder_rows(active_tier):
        reminder = _Reminder._make(row)
        seen = latest.get(reminder.grant_id)
        if seen is None or reminder.period > seen.period:
            latest[reminder.grant_id] = reminder
    joined = []
    for v in values:
        holder = people.get(v["holder_id"], NOBODY)
        reminder = latest.get(v["id"])
        joined.append(
            {
                **v,
                # The name as people_on_page made it (a display name is never blank for
                # someone who exists): it is what display_name_of returns first.
                "holder_common_name": holder.name,
                "holder_first_name": "",
                "holder_last_name": "",
                "holder_email": "",
                "business_unit": holder.business_unit,
                "site_names": sites.get(v["id"], []),
                "reminder_period": reminder.period if reminder else None,
                "reminder_confirm_by": reminder.confirm_by if reminder else None,
                "reminder_confirmed_at": reminder.confirmed_at if reminder else None,
            }
        )
    return joined


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
