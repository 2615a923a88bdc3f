"""The register's page and its export: the filters, the grants they match, the rows the
page shows, the count above them and the approver filter's list."""

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import CharField, Exists, F, OuterRef, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from access_requests.models import TIER_LABELS, AccessGrant, Site
from access_requests.selectors.grants import site_names_by_grant
from people.models import BusinessUnit, Directorate, Organisation, StaffProfile, User

from ..pagination import SortKey, parse_date, parse_id, parse_text
from .accountability import NOT_REVIEWED, cost_agreed_of, latest_review_outcomes
from .distinct import loose_index_scan_sql
from .people import NOBODY, people_on_page
from .search import search_condition

# "Current" in the register: the grants someone holds or is about to hold.
CURRENT = "current"
ALL = "all"
COUNT_CAP = 10_000
# A search counts its grants no further than this (ten pages): each grant it counts costs a
# look-up of its holder, so a common name's count would grow with the register; a search
# past this is narrowed rather than paged through.
SEARCH_COUNT_CAP = 500


@dataclass(frozen=True)
class RegisterFilters:
    status: str = CURRENT
    tier: str = ""
    site: Site | None = None
    organisation: Organisation | None = None
    directorate: Directorate | None = None
    business_unit: BusinessUnit | None = None
    approver: User | None = None
    expiring_within_days: int | None = None
    start_from: datetime.date | None = None
    start_to: datetime.date | None = None
    end_from: datetime.date | None = None
    end_to: datetime.date | None = None
    search: str = ""
    sort: str = "end_date"


# Each sort the register offers: the keys its pages are ordered by (the last one unique, so
# that a keyset cursor names one place) and whether they run backwards.
REGISTER_KEYS = {
    "end_date": ([SortKey("end_date", parse_date), SortKey("id", parse_id)], False),
    "-end_date": ([SortKey("end_date", parse_date), SortKey("id", parse_id)], True),
    "holder": ([SortKey("holder_sort", parse_text), SortKey("id", parse_id)], False),
    "-holder": ([SortKey("holder_sort", parse_text), SortKey("id", parse_id)], True),
}
DEFAULT_SORT = "end_date"
SORT_BY_HOLDER = {"holder", "-holder"}


def register_keys(sort: str) -> tuple[list[SortKey], bool]:
    """The keys for `sort` (the default sort's, if it is not one the register offers) and
    whether they run backwards."""
    return REGISTER_KEYS.get(sort, REGISTER_KEYS[DEFAULT_SORT])


def holder_sort_key() -> Coalesce:
    """What "sort by holder" sorts on: the commonly used name, else the email."""
    return Coalesce(
        F("holder__profile__commonly_used_name"), F("holder__email"), output_field=CharField()
    )


def register_sorted(filters: RegisterFilters) -> QuerySet[AccessGrant]:
    """The grants matching the filters in the order the register shows them (for the CSV
    export, which reads them all)."""
    keys, descending = register_keys(filters.sort)
    sign = "-" if descending else ""
    return (
        register_filtered(filters)
        .annotate(holder_sort=holder_sort_key())
        .order_by(*[f"{sign}{key.name}" for key in keys])
    )


# --- The register's page: rows as plain values ---------------------------------------------
#
# A register row shows a grant, its case, its holder with their unit and directorate, and who
# approved it. The page's grants come from a two-table query, the people on the page from one
# small query by id, the sites from another, and each row is plain values: as model
# instances through one eleven-table join, PostgreSQL would plan the join on every page and
# Python would build eleven objects per row.


@dataclass(frozen=True)
class RegisterRow:
    """One line of the register, as the page shows it."""

    id: int
    case_id: int
    reference: str
    holder_name: str
    directorate: str
    business_unit: str
    sites: str
    tier: str
    start_date: datetime.date
    end_date: datetime.date
    approver: str
    status: str
    status_label: str
    # Accountability after approval: who agreed to the cost, the latest access review.
    cost_agreed: str = ""
    review: str = ""
    review_id: int | None = None


GRANT_STATUS_LABELS = dict(AccessGrant.Status.choices)

# The grant's own columns a register row shows (`register_rows`), its case's reference apart.
REGISTER_GRANT_COLUMNS = (
    "id",
    "business_case_id",
    "holder_id",
    "approved_by_id",
    "approved_on_behalf_of_id",
    "cost_agreed_by_id",
    "approved_at",
    "tier",
    "status",
    "start_date",
    "end_date",
)


def register_page_values(
    queryset: QuerySet[AccessGrant], *, by_holder: bool, extra: tuple[str, ...] = ()
) -> QuerySet:
    """Filtered grants (`register_filtered`) as dictionaries of the grant's own columns and
    its case's reference, ready for keyset pages on `end_date` or `holder_sort` (when
    `by_holder`), then `id`. Turn a page of them into rows with `register_rows`. `extra`
    names more of the grant's columns (the read API's paying unit)."""
    if by_holder:
        queryset = queryset.annotate(holder_sort=holder_sort_key())
    columns = ["holder_sort"] if by_holder else []
    return queryset.values(
        *REGISTER_GRANT_COLUMNS,
        *extra,
        *columns,
        reference=F("business_case__reference"),
    )


def register_page_source(
    filtered: QuerySet[AccessGrant], *, by_holder: bool
) -> QuerySet[AccessGrant]:
    """What a register page's rows are read from: by holder, `filtered` itself; by end
    date, every grant, as the page's keys are chosen from `filtered` (a keyset page's
    `keys_from`) and its rows then read by key. The filters are already in the keys:
    written a second time around them they cost PostgreSQL another parse and plan (a
    searched register's holder ids are an array of a thousand)."""
    return filtered if by_holder else AccessGrant.objects.all()


def register_page_people(values: list[dict]) -> tuple[dict, dict]:
    """For a page of `register_page_values`: the people it names (holders, approvers, who
    agreed to the cost and who reviewed) and each grant's latest access review, in two
    queries."""
    reviews = latest_review_outcomes(v["id"] for v in values)
    people = people_on_page(
        {
            v[column]
            for v in values
            for column in (
                "holder_id",
                "approved_by_id",
                "approved_on_behalf_of_id",
                "cost_agreed_by_id",
            )
            if v[column] is not None
        }
        | {r.decided_by_id for r in reviews.values() if r.decided_by_id is not None}
    )
    return people, reviews


def register_rows(values: list[dict]) -> list[RegisterRow]:
    """A page of `register_page_values` as register rows: three more queries, for the
    grants' latest access reviews, the people on the page (holders, approvers, who agreed
    to the cost and who reviewed) and the sites."""
    if not values:
        return []
    people, reviews = register_page_people(values)

    def name_of(pk: int) -> str:
        return people.get(pk, NOBODY).name

    sites = site_names_by_grant([v["id"] for v in values])
    rows = []
    for v in values:
        holder = people.get(v["holder_id"], NOBODY)
        approver = people.get(v["approved_by_id"], NOBODY).name
        if v["approved_on_behalf_of_id"] is not None:
            approver += " for " + people.get(v["approved_on_behalf_of_id"], NOBODY).name
        review = reviews.get(v["id"])
        rows.append(
            RegisterRow(
                id=v["id"],
                case_id=v["business_case_id"],
                reference=v["reference"],
                holder_name=holder.name,
                directorate=holder.directorate,
                business_unit=holder.business_unit,
                sites=", ".join(sites.get(v["id"], [])),
                tier=TIER_LABELS.get(v["tier"], v["tier"]),
                start_date=v["start_date"],
                end_date=v["end_date"],
                approver=approver,
                status=v["status"],
                status_label=GRANT_STATUS_LABELS.get(v["status"], v["status"]),
                cost_agreed=cost_agreed_of(v, name_of).text,
                review=review.text(name_of) if review is not None else NOT_REVIEWED,
                review_id=review.review_id if review is not None else None,
            )
        )
    return rows


def register_filtered(filters: RegisterFilters) -> QuerySet[AccessGrant]:
    """The grants matching the filters, without the joins a row needs: count these
    (`count_capped`), so that the default count is an index-only scan of
    `grant_current_end_idx`, and pass them to `register_page_values` for the rows."""
    qs = AccessGrant.objects.all()
    if filters.status == CURRENT or not filters.status:
        qs = qs.filter(status__in=AccessGrant.Status.current())
    elif filters.status != ALL:
        qs = qs.filter(status=filters.status)
    if filters.tier:
        qs = qs.filter(tier=filters.tier)
    if filters.site is not None:
        qs = qs.filter(
            Exists(
                AccessGrant.sites.through.objects.filter(
                    accessgrant_id=OuterRef("pk"), site_id=filters.site.pk
                )
            )
        )
    # A unit's or a directorate's grants by their holders' ids (`profile_unit_user_idx`,
    # an index-only read of a few hundred or thousand people), not by joining every grant
    # to its holder's profile and unit.
    if filters.business_unit is not None:
        qs = qs.filter(holder_id__in=people_in(business_unit=filters.business_unit))
    if filters.directorate is not None:
        qs = qs.filter(holder_id__in=people_in(business_unit__directorate=filters.directorate))
    if filters.organisation is not None:
        qs = qs.filter(
            holder__profile__business_unit__directorate__organisation=filters.organisation
        )
    if filters.approver is not None:
        qs = qs.filter(approved_by=filters.approver)
    if filters.expiring_within_days is not None:
        today = timezone.localdate()
        qs = qs.filter(
            end_date__gte=today,
            end_date__lte=today + datetime.timedelta(days=filters.expiring_within_days),
        )
    if filters.start_from:
        qs = qs.filter(start_date__gte=filters.start_from)
    if filters.start_to:
        qs = qs.filter(start_date__lte=filters.start_to)
    if filters.end_from:
        qs = qs.filter(end_date__gte=filters.end_from)
    if filters.end_to:
        qs = qs.filter(end_date__lte=filters.end_to)
    if filters.search:
        qs = qs.filter(search_condition(filters.search))
    return qs


def people_in(**where) -> QuerySet:
    return StaffProfile.objects.filter(**where).values("user_id")


def count_cap(filters: RegisterFilters) -> int:
    """How far the register counts the grants matching `filters`: `SEARCH_COUNT_CAP` when
    they search, `COUNT_CAP` otherwise."""
    return SEARCH_COUNT_CAP if filters.search.strip() else COUNT_CAP


def count_capped(queryset: QuerySet, cap: int = COUNT_CAP) -> int:
    """How many rows, counting no further than `cap` + 1 (so "more than 10,000")."""
    return queryset.order_by().values("pk")[: cap + 1].count()


def approvers() -> QuerySet[User]:
    """People who approved at least one grant (for the register's approver filter)."""
    return (
        User.objects.filter(pk__in=_distinct_approver_ids())
        .select_related("profile")
        .order_by("profile__commonly_used_name", "email")
    )


def _distinct_approver_ids():
    """A few dozen approvers among 200,000 grants: on PostgreSQL, skip through the
    approved_by index (a loose index scan) instead of reading every grant."""
    if connection.vendor != "postgresql":
        return AccessGrant.objects.values("approved_by_id").distinct()
    return RawSQL(loose_index_scan_sql(AccessGrant, "approved_by_id"), [])  # noqa: S611  # nosec B611
