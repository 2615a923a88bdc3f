"""Streaming CSV exports that are safe to open in a spreadsheet.

Rows are read through a server-side cursor 2,000 at a time and written out 1,000 at a time
(the audit trail one row at a time), so exporting the whole register or trail never holds
it in memory. A cell a spreadsheet would read as a formula
(starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe.
"""

import csv
import datetime
import io
import json
from collections.abc import Iterable, Iterator

from django.contrib.postgres.aggregates import StringAgg as PostgresStringAgg
from django.db import connections, transaction
from django.db.models import CharField, OuterRef, Subquery
from django.db.models.functions import Cast
from django.http import StreamingHttpResponse
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier, Site
from people.models import BusinessUnit, User, display_name_of

CHUNK_SIZE = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose write() returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value) -> str:
    """One cell as text: ISO dates, blank for None, and formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).isoformat(timespec="seconds")
    elif isinstance(value, datetime.date):
        value = value.isoformat()
    elif isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    else:
        value = str(value)
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(
    *,
    filename: str,
    header: list[str] | None = None,
    rows: Iterable[Iterable] | None = None,
    content: Iterable[str] | None = None,
):
    """A streamed CSV download: `header` and `rows` (cells go through `csv_cell`), or
    `content`, CSV text already written (like `register_csv`)."""
    if content is None:
        content = csv_lines(header or [], rows or [])
    response = StreamingHttpResponse(content, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- What each export contains -----------------------------------------------------------

REGISTER_HEADER = [
    "Reference",
    "Holder",
    "Holder email",
    "Organisation",
    "Directorate",
    "Business unit",
    "Sites",
    "Tier",
    "Start date",
    "End date",
    "Approver",
    "Approved on behalf of",
    "Status",
]


# The columns the register export reads from its one query: plain values, not model
# instances. Only the grant, its case and its holder are joined; a holder's unit, directorate
# and organisation, the approvers and the sites' names are few and are looked up in
# dictionaries (`_Names`) instead of being joined and parsed again on every row.
_REGISTER_COLUMNS = [
    "business_case__reference",
    "holder__profile__commonly_used_name",
    "holder__first_name",
    "holder__last_name",
    "holder__email",
    "holder__profile__business_unit_id",
    "tier",
    "start_date",
    "end_date",
    "approved_by_id",
    "approved_on_behalf_of_id",
    "status",
]


class StringAgg(PostgresStringAgg):
    """PostgreSQL's string_agg; on SQLite (the demo) group_concat."""

    def as_sqlite(self, compiler, connection, **extra_context):
        expression, delimiter = self.get_source_expressions()[:2]
        sql, params = compiler.compile(expression)
        delimiter_sql, delimiter_params = compiler.compile(delimiter)
        return f"GROUP_CONCAT({sql}, {delimiter_sql})", [*params, *delimiter_params]


_TIER_LABELS = dict(AccessTier.choices)
_STATUS_LABELS = dict(AccessGrant.Status.choices)
_FORMULA_STARTS = frozenset("".join(FORMULA_PREFIXES))
ROWS_PER_WRITE = 1000


def _site_ids_subquery() -> Subquery:
    """A grant's site ids as text ("3,7"): one correlated subquery per row, answered from
    the through-table's unique (grant, site) index alone, with no join to the sites and no
    sort (`_Names.sites` names and orders them)."""
    through = AccessGrant.sites.through
    return Subquery(
        through.objects.filter(accessgrant_id=OuterRef("pk"))
        .order_by()
        .values("accessgrant_id")
        .annotate(ids=StringAgg(Cast("site_id", CharField()), ","))
        .values("ids")
    )


def _safe(value: str) -> str:
    """`csv_cell` for text that is already a string: a formula gets a leading apostrophe."""
    return "'" + value if value and value[0] in _FORMULA_STARTS else value


class _Names:
    """What the export's rows name by id, each read once and kept as CSV-safe text: the
    business units (with directorate and organisation) and the sites up front, the
    approvers a chunk at a time as they appear."""

    def __init__(self, using: str):
        self.using = using
        self.units = {
            pk: (_safe(organisation or ""), _safe(directorate or ""), _safe(unit or ""))
            for pk, unit, directorate, organisation in BusinessUnit.objects.using(using)
            .order_by()
            .values_list("pk", "name", "directorate__name", "directorate__organisation__name")
        }
        # (rank in the database's own A to Z, name): sorted as the register page sorts them
        self.site_names = {
            pk: (rank, name)
            for rank, (pk, name) in enumerate(
                Site.objects.using(using).order_by("name").values_list("pk", "name")
            )
        }
        self._sites: dict[str | None, str] = {None: "", "": ""}
        self.people: dict[int | None, str] = {None: ""}

    def sites(self, ids: str | None) -> str:
        """ "3,7" → "Facebook; LinkedIn" (A to Z), once per distinct set of sites."""
        try:
            return self._sites[ids]
        except KeyError:
            named = sorted(self.site_names.get(int(pk), (-1, "")) for pk in ids.split(","))
            text = self._sites[ids] = _safe("; ".join(name for _, name in named))
            return text

    def read_people(self, ids: set[int]) -> None:
        missing = ids.difference(self.people)
        if not missing:
            return
        found = (
            User.objects.using(self.using)
            .filter(pk__in=missing)
            .values_list("pk", "profile__commonly_used_name", "first_name", "last_name", "email")
        )
        for pk, common_name, first, last, email in found:
            self.people[pk] = _safe(display_name_of(common_name, first, last, email))


_NO_UNIT = ("", "", "")


def _register_rows(batch: list[tuple], names: _Names) -> list[list]:
    names.read_people({row[9] for row in batch} | {row[10] for row in batch})
    units, people, sites = names.units, names.people, names.sites
    rows = []
    for (
        reference,
        holder_name,
        holder_first,
        holder_last,
        holder_email,
        unit_id,
        tier,
        start,
        end,
        approver_id,
        behalf_id,
        status,
        site_ids,
    ) in batch:
        organisation, directorate, unit = units.get(unit_id, _NO_UNIT)
        rows.append(
            [
                _safe(reference or ""),
                _safe(display_name_of(holder_name, holder_first, holder_last, holder_email)),
                _safe(holder_email or ""),
                organisation,
                directorate,
                unit,
                sites(site_ids),
                _TIER_LABELS.get(tier) or _safe(tier),
                str(start),  # ISO dates (a date from PostgreSQL, already text on SQLite)
                str(end),
                people.get(approver_id, ""),
                people.get(behalf_id, ""),
                _STATUS_LABELS.get(status) or _safe(status),
            ]
        )
    return rows


def register_csv(queryset) -> Iterator[str]:
    """The header and each grant of the (ordered) queryset as CSV text, 1,000 rows per
    piece.

    One query over the grants, their cases and holders (sites as ids), read through a
    server-side cursor 2,000 rows at a time; the names it refers to by id come from
    `_Names`. The cursor is opened inside a transaction so that PostgreSQL streams the
    rows as it finds them: outside one (autocommit), a cursor WITH HOLD would build the
    whole result before the first row. Rows are plain tuples, never model instances.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(name) for name in REGISTER_HEADER])
    columns = (
        queryset.select_related(None)
        .prefetch_related(None)
        .annotate(site_ids=_site_ids_subquery())
        .values_list(*_REGISTER_COLUMNS, "site_ids")
    )
    sql, params = columns.query.sql_with_params()
    with transaction.atomic(using=queryset.db):
        names = _Names(queryset.db)
        connection = connections[queryset.db]
        if connection.vendor == "postgresql":
            # Plan for every row, not the first 10% (hash joins rather than an index
            # probe per row), and without JIT compilation, which the planner's cost for
            # 200k rows switches on and which takes longer (~3 s) than the query itself.
            with connection.cursor() as setting:
                setting.execute("SET LOCAL jit = off")
                setting.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        with connection.chunked_cursor() as cursor:
            cursor.itersize = CHUNK_SIZE
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(ROWS_PER_WRITE):
                writer.writerows(_register_rows(batch, names))
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


AUDIT_HEADER = [
    "Event",
    "When",
    "Who",
    "Action",
    "Object type",
    "Object id",
    "Object",
    "Client address",
    "User agent",
    "Changes",
    "Hash",
]


def audit_rows(queryset) -> Iterator[list]:
    for event in queryset.iterator(chunk_size=CHUNK_SIZE):
        yield [
            event.id,
            event.occurred_at,
            event.actor_label,
            event.action,
            event.object_type,
            event.object_id,
            event.object_repr,
            event.client_address,
            event.user_agent,
            event.changes,
            event.hash,
        ]
