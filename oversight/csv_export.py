"""Streaming CSV exports that are safe to open in a spreadsheet.

Rows are read through a server-side cursor 2,000 at a time and written out 1,000 at a time
(the audit trail one row at a time), so exporting the whole register or trail never holds
it in memory. A cell a spreadsheet would read as a formula
(starting with =, +, -, @, a tab or a carriage return) gets a leading apostrophe.

On PostgreSQL the register's cells are computed by the query itself, as the CSV text they
become (`_pg_register_sql`); Python only adds the few names it looks up by id. Elsewhere
(SQLite, the demo) the rows are formatted in Python (`_register_rows`). Both write the same
bytes (`oversight/tests/test_register_csv_paths.py`).
"""

import csv
import datetime
import io
import json
import re
from collections.abc import Iterable, Iterator

from django.contrib.postgres.aggregates import StringAgg as PostgresStringAgg
from django.db import connections, transaction
from django.db.models import CharField, Expression, F, OuterRef, Subquery, TextField
from django.db.models.functions import Cast
from django.http import StreamingHttpResponse
from django.utils import timezone

from access_requests.models import TIER_LABELS, AccessGrant, Site
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


# The columns the register export reads from its one query when it formats the rows in
# Python (SQLite, or `in_python=True`): plain values, not model instances. Only the grant, its case and its holder are joined; a holder's unit, directorate
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
                TIER_LABELS.get(tier) or _safe(tier),
                str(start),  # ISO dates (a date from PostgreSQL, already text on SQLite)
                str(end),
                people.get(approver_id, ""),
                people.get(behalf_id, ""),
                _STATUS_LABELS.get(status) or _safe(status),
            ]
        )
    return rows


# --- PostgreSQL: the cells computed by the query -----------------------------------------
#
# On PostgreSQL the text of each cell (display names, neutralised formulas, csv.writer's
# quoting, labels, ISO dates) is computed by the query's parallel workers, below the Gather
# Merge, instead of row by row in Python: the filtered, ordered queryset is annotated with a
# few text columns that are already CSV (`_PG_COLUMNS`) and fenced with OFFSET 0, and only
# the correlated site-ids subquery (run by the leader) is added outside the fence. The
# holder's unit, the approvers and the sites stay ids, named from `_Names` and quoted once
# each (`_QuotedNames`); Python joins each row's pieces into a line, with no csv.writer.
# 200,000 rows: ~0.6 s of Python CPU against ~2.7 s when the rows are formatted in Python.

# The characters Python's str.strip() removes (as `display_name_of` does), for btrim().
# (`"".join(c for c in map(chr, range(1, 0x110000)) if c.isspace())`, tested.)
_PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_PY_WHITESPACE_SQL = "'" + _PY_WHITESPACE.replace("'", "''") + "'"
_PG_FORMULA = "left({0}, 1) IN ('=', '+', '-', '@', chr(9), chr(13))"


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _SqlTemplate(Expression):
    """A text expression from an SQL template whose {0}, {1}… are the compiled expressions
    (each may appear more than once; their parameters are repeated in order)."""

    output_field = TextField()

    def __init__(self, template: str, *expressions):
        super().__init__()
        self.template = template
        self.source_expressions = [F(e) if isinstance(e, str) else e for e in expressions]

    def get_source_expressions(self):
        return self.source_expressions

    def set_source_expressions(self, exprs):
        self.source_expressions = list(exprs)

    def as_sql(self, compiler, connection):
        compiled = [compiler.compile(e) for e in self.source_expressions]
        params: list = []

        def sql_of(match) -> str:
            sql, sql_params = compiled[int(match.group(1))]
            params.extend(sql_params)
            return f"({sql})"

        return re.sub(r"\{(\d)\}", sql_of, self.template), params


def _pg_safe(expression) -> _SqlTemplate:
    """`_safe` in SQL: NULL → '', and a leading apostrophe before a formula."""
    return _SqlTemplate(
        f"CASE WHEN {_PG_FORMULA} THEN '''' || {{0}} ELSE coalesce({{0}}, '') END", expression
    )


def _pg_display_name(user: str) -> _SqlTemplate:
    """`display_name_of` in SQL for the user at the path `user` (NULL if there is none)."""
    return _SqlTemplate(
        "coalesce(nullif({0}, ''), nullif(btrim(coalesce({1}, '') || ' ' || coalesce({2}, ''), "
        + _PY_WHITESPACE_SQL
        + "), ''), {3})",
        f"{user}__profile__commonly_used_name",
        f"{user}__first_name",
        f"{user}__last_name",
        f"{user}__email",
    )


def _pg_quoted(expression) -> _SqlTemplate:
    """csv.writer's quoting in SQL: in double quotes (doubled inside) if the text holds a
    comma, a double quote, a carriage return or a line feed."""
    return _SqlTemplate(
        """CASE WHEN {0} ~ '[",\r\n]' THEN '"' || replace({0}, '"', '""') || '"' ELSE {0} END""",
        expression,
    )


def _pg_cells(*expressions) -> _SqlTemplate:
    """Cells already quoted, joined by commas."""
    return _SqlTemplate(
        " || ',' || ".join(f"{{{n}}}" for n in range(len(expressions))), *expressions
    )


def _pg_label(field: str, labels: dict) -> _SqlTemplate:
    """A choice's label (quoted), or the stored value if it is not one of the choices."""
    whens = " ".join(
        f"WHEN {_sql_text(value)} THEN {_sql_text(_csv_text(label))}"
        for value, label in labels.items()
    )
    return _SqlTemplate(f"CASE {{0}} {whens} ELSE {{1}} END", field, _pg_quoted(_pg_safe(field)))


def _csv_text(*cells: str) -> str:
    """The cells as csv.writer writes them, without the line end."""
    return _ECHO_WRITER.writerow([*cells, ""])[: -len(",\r\n")]


_ECHO_WRITER = csv.writer(_Echo())

# (name, expression): the columns of the query on PostgreSQL, after the grant's id. Cells
# are text as it appears in the file (neutralised and quoted); the holder's unit and the
# approvers are ids, named from `_Names` (few of them, each quoted once).
_PG_COLUMNS = {
    "csv_head": lambda: _pg_cells(
        _pg_quoted(_pg_safe("business_case__reference")),
        _pg_quoted(_pg_safe(_pg_display_name("holder"))),
        _pg_quoted(_pg_safe("holder__email")),
    ),
    "csv_unit_id": lambda: F("holder__profile__business_unit_id"),
    "csv_middle": lambda: _pg_cells(
        _pg_label("tier", TIER_LABELS),
        _SqlTemplate("{0}::text", "start_date"),
        _SqlTemplate("{0}::text", "end_date"),
    ),
    "csv_approver_id": lambda: F("approved_by_id"),
    "csv_behalf_id": lambda: F("approved_on_behalf_of_id"),
    "csv_status": lambda: _pg_label("status", _STATUS_LABELS),
}


def _pg_register_sql(queryset) -> tuple[str, tuple]:
    """The export's query on PostgreSQL: (id, `_PG_COLUMNS`, site ids) per grant, in the
    queryset's order."""
    columns = (
        queryset.select_related(None)
        .prefetch_related(None)
        .annotate(**{name: make() for name, make in _PG_COLUMNS.items()})
        .values_list("pk", *_PG_COLUMNS)
    )
    inner, params = columns.query.sql_with_params()
    through = AccessGrant.sites.through._meta
    grant_column = through.get_field("accessgrant").column
    site_column = through.get_field("site").column
    # Table and column names from the models, no user input: S608 does not apply.
    site_ids = (
        f"SELECT string_agg(t.\"{site_column}\"::text, ',') "  # noqa: S608  # nosec B608 - model names
        f'FROM "{through.db_table}" t WHERE t."{grant_column}" = x."pk"'
    )
    # OFFSET 0 keeps the inner query (its joins, cells and sort) from being merged into
    # the outer one: the parallel workers compute the cells, the leader only the site ids.
    return f"SELECT x.*, ({site_ids}) FROM ({inner} OFFSET 0) x", params  # noqa: S608  # nosec B608 - Django's SQL, its params apart


class _QuotedNames:
    """`_Names` as quoted CSV text: units as their three cells, people and sets of sites."""

    def __init__(self, names: _Names):
        self.names = names
        self.units = {pk: _csv_text(*cells) for pk, cells in names.units.items()}
        self.no_unit = _csv_text(*_NO_UNIT)
        self.people: dict[int | None, str] = {None: ""}
        self.sites: dict[str | None, str] = {}

    def lines(self, batch: list[tuple]) -> str:
        """The batch's rows as CSV lines."""
        people = self.people
        missing = {row[4] for row in batch} | {row[5] for row in batch}
        missing.difference_update(people)
        if missing:
            self.names.read_people(missing)
            for pk in missing:
                people[pk] = _csv_text(self.names.people.get(pk, ""))
        units, no_unit, sites = self.units, self.no_unit, self.sites
        for row in batch:
            if row[7] not in sites:
                sites[row[7]] = _csv_text(self.names.sites(row[7]))
        return "".join(
            [
                f"{head},{units.get(unit_id, no_unit)},{sites[site_ids]},{middle},"
                f"{people[approver_id]},{people[behalf_id]},{status}\r\n"
                for _, head, unit_id, middle, approver_id, behalf_id, status, site_ids in batch
            ]
        )


def register_csv(queryset, *, in_python: bool = False) -> Iterator[str]:
    """The header and each grant of the (ordered) queryset as CSV text, 1,000 rows per
    piece.

    On PostgreSQL (unless `in_python`) one query computes every cell's text in the
    parallel workers (`_pg_register_sql`); Python only names the sites (`_Names.sites`)
    and writes the rows. Otherwise (SQLite, the demo) one query reads the grants, their
    cases and holders (sites as ids) and the names they refer to by id come from `_Names`.
    Either way rows are read through a server-side cursor 2,000 at a time, opened inside
    a transaction so that PostgreSQL streams the rows as it finds them: outside one
    (autocommit), a cursor WITH HOLD would build the whole result before the first row.
    Rows are plain tuples, never model instances.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(name) for name in REGISTER_HEADER])
    connection = connections[queryset.db]
    in_sql = connection.vendor == "postgresql" and not in_python
    if in_sql:
        sql, params = _pg_register_sql(queryset)
    else:
        columns = (
            queryset.select_related(None)
            .prefetch_related(None)
            .annotate(site_ids=_site_ids_subquery())
            .values_list(*_REGISTER_COLUMNS, "site_ids")
        )
        sql, params = columns.query.sql_with_params()
    with transaction.atomic(using=queryset.db):
        names = _Names(queryset.db)
        quoted = _QuotedNames(names) if in_sql else None
        if connection.vendor == "postgresql":
            # Plan for every row, not the first 10% (hash joins rather than an index
            # probe per row), and without JIT compilation, which the planner's cost for
            # 200k rows switches on and which takes longer (~3 s) than the query itself.
            # ISO dates for date::text; room for the sort in memory.
            with connection.cursor() as setting:
                setting.execute("SET LOCAL jit = off")
                setting.execute("SET LOCAL cursor_tuple_fraction = 1.0")
                setting.execute("SET LOCAL DateStyle = 'ISO, MDY'")
                setting.execute("SET LOCAL work_mem = '32MB'")
        with connection.chunked_cursor() as cursor:
            cursor.itersize = CHUNK_SIZE
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(ROWS_PER_WRITE):
                if quoted is not None:
                    buffer.write(quoted.lines(batch))
                else:
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
