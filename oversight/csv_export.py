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
from django.db.models import OuterRef, Subquery
from django.http import StreamingHttpResponse
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier

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


# The columns the register export reads: plain values, not model instances, so a chunk of
# 2,000 rows stays small.
_REGISTER_COLUMNS = [
    "pk",
    "business_case__reference",
    "holder__profile__commonly_used_name",
    "holder__first_name",
    "holder__last_name",
    "holder__email",
    "holder__profile__business_unit__directorate__organisation__name",
    "holder__profile__business_unit__directorate__name",
    "holder__profile__business_unit__name",
    "tier",
    "start_date",
    "end_date",
    "approved_by__profile__commonly_used_name",
    "approved_by__first_name",
    "approved_by__last_name",
    "approved_by__email",
    "approved_on_behalf_of__profile__commonly_used_name",
    "approved_on_behalf_of__first_name",
    "approved_on_behalf_of__last_name",
    "approved_on_behalf_of__email",
    "status",
]


def _person(common_name, first, last, email) -> str:
    """The same name `User.display_name` shows."""
    if common_name:
        return common_name
    full = f"{first or ''} {last or ''}".strip()
    return full or email or ""


class StringAgg(PostgresStringAgg):
    """PostgreSQL's ordered string_agg; on SQLite (the demo) group_concat."""

    def as_sqlite(self, compiler, connection, **extra_context):
        expression, delimiter = self.get_source_expressions()[:2]
        sql, params = compiler.compile(expression)
        delimiter_sql, delimiter_params = compiler.compile(delimiter)
        return f"GROUP_CONCAT({sql}, {delimiter_sql})", [*params, *delimiter_params]


_TIER_LABELS = dict(AccessTier.choices)
_STATUS_LABELS = dict(AccessGrant.Status.choices)
_FORMULA_STARTS = frozenset("".join(FORMULA_PREFIXES))
ROWS_PER_WRITE = 1000


def _site_names_subquery() -> Subquery:
    """A grant's site names, alphabetical, joined with "; " (one correlated subquery per
    row, read through the through-table's index, instead of a query per chunk)."""
    through = AccessGrant.sites.through
    return Subquery(
        through.objects.filter(accessgrant_id=OuterRef("pk"))
        .order_by()
        .values("accessgrant_id")
        .annotate(names=StringAgg("site__name", "; ", order_by="site__name"))
        .values("names")
    )


def _safe(value: str) -> str:
    """`csv_cell` for text that is already a string: a formula gets a leading apostrophe."""
    return "'" + value if value and value[0] in _FORMULA_STARTS else value


def _register_row(values: tuple) -> list:
    (
        _pk,
        reference,
        holder_name,
        holder_first,
        holder_last,
        holder_email,
        organisation,
        directorate,
        unit,
        tier,
        start,
        end,
        approver_name,
        approver_first,
        approver_last,
        approver_email,
        behalf_name,
        behalf_first,
        behalf_last,
        behalf_email,
        status,
        sites,
    ) = values
    return [
        _safe(reference or ""),
        _safe(_person(holder_name, holder_first, holder_last, holder_email)),
        _safe(holder_email or ""),
        _safe(organisation or ""),
        _safe(directorate or ""),
        _safe(unit or ""),
        _safe(sites or ""),
        _safe(_TIER_LABELS.get(tier, tier)),
        str(start),  # ISO dates (a date from PostgreSQL, already text on SQLite)
        str(end),
        _safe(_person(approver_name, approver_first, approver_last, approver_email)),
        _safe(_person(behalf_name, behalf_first, behalf_last, behalf_email)),
        _safe(_STATUS_LABELS.get(status, status)),
    ]


def register_csv(queryset) -> Iterator[str]:
    """The header and each grant of the (ordered) queryset as CSV text, 1,000 rows per
    piece.

    One query, sites included, read through a server-side cursor 2,000 rows at a time.
    The cursor is opened inside a transaction so that PostgreSQL streams the rows as it
    finds them: outside one (autocommit), a cursor WITH HOLD would build the whole result
    before the first row. Rows are plain tuples, never model instances.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(name) for name in REGISTER_HEADER])
    columns = queryset.prefetch_related(None).annotate(site_names=_site_names_subquery())
    sql, params = columns.values_list(*_REGISTER_COLUMNS, "site_names").query.sql_with_params()
    with transaction.atomic(using=queryset.db):
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
                writer.writerows([_register_row(values) for values in batch])
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
