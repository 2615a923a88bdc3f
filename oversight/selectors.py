"""Read-only queries for the oversight wing: the register, the audit trail, a case's file.

Admins and auditors see everything, so nothing here scopes by user: the views check the
permission. Every query is shaped for large tables (200k grants, 2M audit events): joins
instead of per-row queries, index-friendly filters, no COUNT(*) over a whole table.
"""

import datetime
import re
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    Exists,
    Expression,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Upper
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier, BusinessCase, Site, SiteIdentity
from access_requests.selectors.grants import site_names_by_grant
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.models import (
    BusinessUnit,
    Directorate,
    Organisation,
    PersonSearchText,
    StaffProfile,
    User,
    display_name_of,
)

# "Current" in the register: the grants someone holds or is about to hold.
CURRENT = "current"
ALL = "all"
COUNT_CAP = 10_000


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


REFERENCE = re.compile(r"[A-Za-z]+-\d{4}-\d+")
# Up to this many matching people or cases are looked up first and passed as ids, which
# lets PostgreSQL use the grant's holder index; more than that, it joins instead.
SEARCH_ID_LIMIT = 2000


@dataclass(frozen=True)
class FoundIds:
    """The ids a search found (at most `SEARCH_ID_LIMIT` + 1): how many, and all of them as
    one PostgreSQL array literal, '{7,13,…}'."""

    count: int
    literal: str

    @property
    def too_many(self) -> bool:
        return self.count > SEARCH_ID_LIMIT

    def as_list(self) -> list[int]:
        inside = self.literal.strip("{}")
        return [int(pk) for pk in inside.split(",")] if inside else []


def _found_ids(*searches: QuerySet) -> FoundIds:
    """The distinct ids that the searches (each a one-column `values_list` of ids) find
    together, reading no more than `SEARCH_ID_LIMIT` + 1 from each.

    On PostgreSQL one query, which hands them back as one array literal: the thousand
    people called Patel cost the driver and Python one string instead of ~1,900 rows and
    the literal built from them. Several searches would be joined by `UNION` inside that
    query (the holder search is one there, `_holder_searches`); SQLite's two (the demo
    database) are merged in Python."""
    firsts = [search.order_by()[: SEARCH_ID_LIMIT + 1] for search in searches]
    if connection.vendor != "postgresql":
        ids = sorted({pk for first in firsts for pk in first})
        return FoundIds(len(ids), "{" + ",".join(str(pk) for pk in ids) + "}")
    parts, params = [], []
    for first in firsts:
        sql, first_params = first.query.sql_with_params()
        parts.append(f"({sql})")
        params.extend(first_params)
    # Built only from Django's own compiled queries: the search text stays a parameter.
    found = " UNION ".join(parts)  # UNION: each id once
    sql = f"SELECT COUNT(*), COALESCE(ARRAY_AGG(id)::text, '{{}}') FROM ({found}) AS found (id)"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        count, literal = cursor.fetchone()
    return FoundIds(count, literal)


class InArray(Expression):
    """`column = ANY(%s)` with the ids as one array parameter: a list of ids as `IN (%s, %s,
    …)` costs Django, the driver and the planner a parameter each (about 5 ms for the
    thousand people called Patel), one array costs them one."""

    output_field = BooleanField()

    def __init__(self, column: str, ids: FoundIds):
        super().__init__(output_field=BooleanField())
        self.column, self.ids = F(column), ids

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.column)
        # Typed as the column: `bigint = ANY(integer[])` compares across types, which
        # PostgreSQL cannot hash, so it would search the array once per row.
        # The ids go as one array literal ('{7,13,…}'), which PostgreSQL reads in one step;
        # a Python list would be sent as ARRAY[7, 13, …], a thousand constants to parse
        # and fold (about 1 ms per query for the people called Patel).
        array_type = self.column.output_field.db_type(connection)
        return f"{sql} = ANY(%s::{array_type}[])", [*params, self.ids.literal]

    def as_sqlite(self, compiler, connection):
        # `make run`'s demo database has no arrays: a plain IN list.
        sql, params = compiler.compile(self.column)
        ids = self.ids.as_list()
        if not ids:
            return "1 = 0", []
        return f"{sql} IN ({', '.join(['%s'] * len(ids))})", [*params, *ids]


def _holder_searches(text: str) -> list[QuerySet]:
    """The ids of the people whose email or commonly used name contains `text`.

    On PostgreSQL one query of each person's search text (people migration 0003), in
    capitals, served by its trigram index. On SQLite (the demo database), one search of
    each table, as an OR across the user-profile join would read every member of staff.
    """
    if connection.vendor == "postgresql":
        return [
            PersonSearchText.objects.filter(text__contains=Upper(Value(text))).values_list(
                "user_id", flat=True
            )
        ]
    return [
        User.objects.filter(email__icontains=text).values_list("pk", flat=True),
        StaffProfile.objects.filter(commonly_used_name__icontains=text).values_list(
            "user_id", flat=True
        ),
    ]


def _search_condition(text: str) -> Q:
    """Holder's name or email, or the case reference (case-insensitive, part of a word).

    A whole reference is an exact match on the unique index; anything else looks up the
    matching people (and, if it has digits, references) first.
    """
    text = text.strip()
    if REFERENCE.fullmatch(text):
        return Q(business_case__reference=text.upper())
    searches = _holder_searches(text)
    holders = _found_ids(*searches)
    if not holders.too_many:
        condition = Q(InArray("holder_id", holders))
    else:
        condition = Q()
        for search in searches:
            condition |= Q(holder_id__in=search)
    if any(ch.isdigit() for ch in text):  # references are SNS-<year>-<number>
        cases = BusinessCase.objects.filter(reference__icontains=text).values_list("pk", flat=True)
        found_cases = _found_ids(cases)
        if not found_cases.too_many:
            condition |= Q(InArray("business_case_id", found_cases))
        else:
            condition |= Q(business_case_id__in=cases)
    return condition


def register_grants(filters: RegisterFilters) -> QuerySet[AccessGrant]:
    """The grants the register shows for these filters, with everything a row needs.

    Ordering is left to the caller (keyset pagination or the CSV export), sorted on
    `holder_sort` or `end_date`, then `id`.
    """
    return with_row_data(register_filtered(filters))


def with_row_data(queryset: QuerySet[AccessGrant]) -> QuerySet[AccessGrant]:
    """Filtered grants (`register_filtered`) with everything a register row needs."""
    qs = (
        queryset.select_related(
            "business_case",
            "holder__profile__business_unit__directorate__organisation",
            "approved_by__profile",
            "approved_on_behalf_of__profile",
        )
        .prefetch_related(Prefetch("sites", queryset=Site.objects.order_by("name")))
        .annotate(holder_sort=holder_sort_key())
    )
    return qs


# --- The register's page: rows as plain values ---------------------------------------------
#
# A register row shows a grant, its case, its holder with their unit and directorate, and who
# approved it. Fetched as model instances through one eleven-table join, PostgreSQL spent
# 10–30 ms planning the join on every page and Python built eleven objects per row; instead
# the page's grants come from a two-table query, the people on the page from one small
# query by id, the sites from another, and each row is plain values.


@dataclass(frozen=True)
class PersonOnPage:
    name: str
    business_unit: str
    directorate: str


def _people_by_id(ids: set[int]) -> dict[int, PersonOnPage]:
    people = User.objects.filter(pk__in=ids).values(
        "id",
        "first_name",
        "last_name",
        "email",
        common_name=F("profile__commonly_used_name"),
        unit_name=F("profile__business_unit__name"),
        directorate_name=F("profile__business_unit__directorate__name"),
    )
    return {
        p["id"]: PersonOnPage(
            name=display_name_of(p["common_name"], p["first_name"], p["last_name"], p["email"]),
            business_unit=p["unit_name"] or "",
            directorate=p["directorate_name"] or "",
        )
        for p in people
    }


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


TIER_LABELS = dict(AccessTier.choices)
GRANT_STATUS_LABELS = dict(AccessGrant.Status.choices)
NOBODY = PersonOnPage(name="", business_unit="", directorate="")


def holder_sort_key() -> Coalesce:
    """What "sort by holder" sorts on: the commonly used name, else the email."""
    return Coalesce(
        F("holder__profile__commonly_used_name"), F("holder__email"), output_field=CharField()
    )


def register_page_values(queryset: QuerySet[AccessGrant], *, by_holder: bool) -> QuerySet:
    """Filtered grants (`register_filtered`) as dictionaries of the grant's own columns and
    its case's reference, ready for keyset pages on `end_date` or `holder_sort` (when
    `by_holder`), then `id`. Turn a page of them into rows with `register_rows`."""
    if by_holder:
        queryset = queryset.annotate(holder_sort=holder_sort_key())
    columns = ["holder_sort"] if by_holder else []
    return queryset.values(
        "id",
        "business_case_id",
        "holder_id",
        "approved_by_id",
        "approved_on_behalf_of_id",
        "tier",
        "status",
        "start_date",
        "end_date",
        *columns,
        reference=F("business_case__reference"),
    )


def register_rows(values: list[dict]) -> list[RegisterRow]:
    """A page of `register_page_values` as register rows: two more queries, for the people
    on the page (holders and approvers) and for the sites."""
    if not values:
        return []
    people = _people_by_id(
        {
            v[column]
            for v in values
            for column in ("holder_id", "approved_by_id", "approved_on_behalf_of_id")
            if v[column] is not None
        }
    )
    sites = site_names_by_grant([v["id"] for v in values])
    rows = []
    for v in values:
        holder = people.get(v["holder_id"], NOBODY)
        approver = people.get(v["approved_by_id"], NOBODY).name
        if v["approved_on_behalf_of_id"] is not None:
            approver += " for " + people.get(v["approved_on_behalf_of_id"], NOBODY).name
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
            )
        )
    return rows


def register_filtered(filters: RegisterFilters) -> QuerySet[AccessGrant]:
    """The grants matching the filters, without the joins a row needs: count these
    (`count_capped`), so that the default count is an index-only scan of
    `grant_current_end_idx`, and pass them to `with_row_data` for the rows."""
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
    if filters.business_unit is not None:
        qs = qs.filter(holder__profile__business_unit=filters.business_unit)
    if filters.directorate is not None:
        qs = qs.filter(holder__profile__business_unit__directorate=filters.directorate)
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
        qs = qs.filter(_search_condition(filters.search))
    return qs


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


# Distinct values of an indexed column by skipping through its index (a recursive "loose
# index scan"): a few dozen index probes instead of reading millions of rows. Filled only
# with our own table and column names, never with anything from a request.
LOOSE_INDEX_SCAN_SQL = """
    WITH RECURSIVE skip AS (
        (SELECT {column} AS value FROM {table} ORDER BY {column} LIMIT 1)
        UNION ALL
        SELECT (SELECT {column} FROM {table} WHERE {column} > skip.value
                ORDER BY {column} LIMIT 1)
        FROM skip WHERE skip.value IS NOT NULL
    )
    SELECT value FROM skip WHERE value IS NOT NULL
"""


def _loose_index_scan_sql(model, column: str) -> str:
    return LOOSE_INDEX_SCAN_SQL.format(table=model._meta.db_table, column=column)


def _distinct_approver_ids():
    """A few dozen approvers among 200,000 grants: on PostgreSQL, skip through the
    approved_by index (a loose index scan) instead of reading every grant."""
    if connection.vendor != "postgresql":
        return AccessGrant.objects.values("approved_by_id").distinct()
    return RawSQL(_loose_index_scan_sql(AccessGrant, "approved_by_id"), [])  # noqa: S611  # nosec B611


# --- The audit trail ---------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    occurred_from: datetime.date | None = None
    occurred_to: datetime.date | None = None


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def audit_events(filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Events for these filters; order by id (keyset) in the caller.

    Each filter matches an index: (actor_label, id), (action, id),
    (object_type, object_id, id), occurred_at.
    """
    qs = AuditEvent.objects.all()
    if filters.actor:
        qs = qs.filter(actor_label=filters.actor.strip().lower())
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    if filters.object_id:
        qs = qs.filter(object_id=filters.object_id)
    if filters.occurred_from:
        qs = qs.filter(occurred_at__gte=_day_start(filters.occurred_from))
    if filters.occurred_to:
        qs = qs.filter(occurred_at__lt=_day_start(filters.occurred_to + datetime.timedelta(1)))
    return qs


def _distinct_values(column: str) -> list[str]:
    """Distinct values of an indexed column of the audit table (a loose index scan)."""
    if connection.vendor != "postgresql":
        return list(AuditEvent.objects.order_by(column).values_list(column, flat=True).distinct())
    sql = _loose_index_scan_sql(AuditEvent, column)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


# The filter's lists of actions and object types are the same for everyone and change only
# when the code records a new kind of event: read once a minute per process, not per page.
AUDIT_CHOICES_CACHE_SECONDS = 60


def audit_actions() -> list[str]:
    return cache.get_or_set(
        "audit-trail:actions", lambda: _distinct_values("action"), AUDIT_CHOICES_CACHE_SECONDS
    )


def audit_object_types() -> list[str]:
    return cache.get_or_set(
        "audit-trail:object-types",
        lambda: [value for value in _distinct_values("object_type") if value],
        AUDIT_CHOICES_CACHE_SECONDS,
    )


@dataclass(frozen=True)
class AuditRow:
    """One line of the audit trail, as the page shows it: plain values, not an event with
    its actor and their profile as model instances."""

    id: int
    occurred_at: datetime.datetime
    actor_label: str
    actor_name: str  # the person's name when it says more than the label, else ""
    action: str
    object_type: str
    object_id: str
    object_repr: str
    client_address: str
    user_agent: str  # cut to USER_AGENT_SHOWN characters, as `|truncatechars` would
    changes: object


USER_AGENT_SHOWN = 80


def _shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def audit_page_values(queryset: QuerySet[AuditEvent]) -> QuerySet:
    """Events (`audit_events`) as dictionaries of what a row shows, with the actor's name
    columns; keyset pages on `id`. Turn a page of them into rows with `audit_rows`."""
    return queryset.values(
        "id",
        "occurred_at",
        "actor_id",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "client_address",
        "user_agent",
        "changes",
        actor_common_name=F("actor__profile__commonly_used_name"),
        actor_first_name=F("actor__first_name"),
        actor_last_name=F("actor__last_name"),
        actor_email=F("actor__email"),
    )


def audit_rows(values: list[dict]) -> list[AuditRow]:
    rows = []
    for v in values:
        actor_name = ""
        if v["actor_id"] is not None:
            actor_name = display_name_of(
                v["actor_common_name"],
                v["actor_first_name"],
                v["actor_last_name"],
                v["actor_email"],
            )
            if actor_name == v["actor_label"]:
                actor_name = ""
        rows.append(
            AuditRow(
                id=v["id"],
                occurred_at=v["occurred_at"],
                actor_label=v["actor_label"],
                actor_name=actor_name,
                action=v["action"],
                object_type=v["object_type"],
                object_id=v["object_id"],
                object_repr=v["object_repr"],
                client_address=v["client_address"] or "",
                user_agent=_shortened(v["user_agent"], USER_AGENT_SHOWN),
                changes=v["changes"],
            )
        )
    return rows


# --- One case's file ---------------------------------------------------------------------


@dataclass
class CaseFile:
    case: BusinessCase
    identities: list[SiteIdentity]
    grant: AccessGrant | None
    approvals: list[ApprovalRequest]
    decision: ApprovalRequest | None
    timeline: list[tuple] = field(default_factory=list)  # named rows, TIMELINE_FIELDS


TIMELINE_LIMIT = 1000
# What the timeline shows of each event, read as plain rows (named tuples), not AuditEvent
# instances (`timeline_html` in oversight's template tags writes them).
TIMELINE_FIELDS = (
    "action",
    "occurred_at",
    "actor_label",
    "object_repr",
    "client_address",
    "changes",
)

GRANT_PEOPLE = ("approved_by", "approved_on_behalf_of", "provisioned_by", "revoked_by")
APPROVAL_PEOPLE = ("approver", "on_behalf_of")


def _people(ids: set[int]) -> dict[int, User]:
    """The people a case file names, with what the page shows of them (name, email and
    the requester's business unit, directorate and organisation), in one query."""
    return (
        User.objects.select_related("profile__business_unit__directorate__organisation")
        .only(
            "email",
            "first_name",
            "last_name",
            "profile__commonly_used_name",
            "profile__business_unit__name",
            "profile__business_unit__directorate__name",
            "profile__business_unit__directorate__organisation__name",
        )
        .in_bulk(ids - {None})
    )


def _attach_people(obj, names: tuple[str, ...], people: dict[int, User]) -> None:
    for name in names:
        person_id = getattr(obj, f"{name}_id")
        if person_id is not None:
            setattr(obj, name, people[person_id])


def case_file(*, pk: int) -> CaseFile | None:
    """A case with its answers, decision, grant and full timeline from the audit trail."""
    # The case, its grant, the grant's sites, its approvals and the people they name each
    # come from a small query of their own (as nine-table joins PostgreSQL spent longer
    # planning them than running them); everyone named is read in one query (`_people`).
    # get(), not first(): first() adds an ORDER BY that Django and PostgreSQL then plan.
    try:
        case = BusinessCase.objects.select_related("paying_business_unit").get(pk=pk)
    except BusinessCase.DoesNotExist:
        return None
    if case.renewal_of_id is not None:
        # Few cases renew a grant: the two joins for it cost every other case their planning.
        case.renewal_of = AccessGrant.objects.select_related("business_case").get(
            pk=case.renewal_of_id
        )
    try:
        grant = AccessGrant.objects.get(business_case_id=pk)
    except AccessGrant.DoesNotExist:
        grant = None
    else:
        grant.site_names = list(
            Site.objects.filter(grants=grant).order_by("name").values_list("name", flat=True)
        )
    approvals = list(
        ApprovalRequest.objects.filter(business_case_id=pk).order_by("created_at", "id")
    )
    people_ids = {case.requester_id}
    if grant is not None:
        people_ids |= {getattr(grant, f"{name}_id") for name in GRANT_PEOPLE}
    for approval in approvals:
        people_ids |= {getattr(approval, f"{name}_id") for name in APPROVAL_PEOPLE}
    people = _people(people_ids)
    case.requester = people[case.requester_id]
    if grant is not None:
        _attach_people(grant, GRANT_PEOPLE, people)
    for approval in approvals:
        _attach_people(approval, APPROVAL_PEOPLE, people)
    decision = next((a for a in approvals if a.status == ApprovalRequest.Status.DECIDED), None)
    identities = list(
        SiteIdentity.objects.filter(business_case_id=pk)
        .select_related("site")
        .order_by("site__name")
    )

    by_type = {"access_requests.businesscase": [str(case.pk)]}
    if grant is not None:
        by_type["access_requests.accessgrant"] = [str(grant.pk)]
    if approvals:
        by_type["approvals.approvalrequest"] = [str(a.pk) for a in approvals]
    about_case = Q()
    for object_type, ids in by_type.items():
        about_case |= Q(object_type=object_type, object_id__in=ids)
    email_ids = [
        str(email_id)
        for email_id in OutboundEmail.objects.filter(about_case).values_list("pk", flat=True)
    ]
    if email_ids:
        about_case |= Q(object_type="notifications.outboundemail", object_id__in=email_ids)
    timeline = list(
        AuditEvent.objects.filter(about_case)
        .order_by("id")
        .values_list(*TIMELINE_FIELDS, named=True)[:TIMELINE_LIMIT]
    )
    return CaseFile(
        case=case,
        identities=identities,
        grant=grant,
        approvals=approvals,
        decision=decision,
        timeline=timeline,
    )
