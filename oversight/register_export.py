"""The register's CSV export: every grant the filters match, in the register's order.

Each row is made of the same pieces whichever database runs the export: its first three
cells (reference, holder, email) as CSV text, the holder's business unit as an id, the
tier and dates as CSV text, the approvers as ids, the status as CSV text, who agreed to
the cost (CSV text, or the budget holder's id) and when, and the sites as ids; the latest
access review's four cells are read a batch at a time. Two producers make those pieces, and everything else is shared: the header, the
labels, the cell rules of `csv_export` (formulas neutralised, csv.writer's quoting), the
names looked up by id (`_Names`) and the writing of lines (`_Names.lines`).

- On PostgreSQL the query computes the text pieces (`_pg_register_sql`), leaving the web
  worker a fraction of the Python work the other producer costs it (the export of the
  department's 200k grants has a speed target).
- Elsewhere, that is the SQLite demo that `make run` starts, which has none of the
  PostgreSQL functions and operators that query uses, one query reads plain columns and
  Python makes the pieces (`_python_pieces`).

Both write the same bytes (`oversight/tests/test_register_export.py`).
"""

import re
from collections.abc import Iterator

from django.contrib.postgres.aggregates import StringAgg as PostgresStringAgg
from django.db import connections, transaction
from django.db.models import CharField, Expression, F, OuterRef, Subquery, TextField
from django.db.models.functions import Cast, TruncDate

from access_requests.models import TIER_LABELS, AccessGrant, AccessTier, Site
from people.models import BusinessUnit, display_name_of

from .csv_export import (
    CHUNK_SIZE,
    DIALECT,
    FORMULA_PREFIXES,
    QUOTED_IF_CONTAINS,
    csv_lines,
    csv_text,
    neutralised,
)
from .selectors.accountability import NOT_REVIEWED, cost_agreed, latest_review_outcomes
from .selectors.people import display_names

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
    "Cost agreed by",
    "Cost agreed on",
    "Latest access review",
    "Review outcome",
    "Reviewed by",
    "Reviewed on",
]
STATUS_LABELS = dict(AccessGrant.Status.choices)
ROWS_PER_WRITE = 1000


class _Names:
    """What the export's rows name by id, each read once and kept as CSV text (neutralised
    and quoted): the business units (with directorate and organisation) and the sites up
    front, the approvers a chunk at a time as they appear. `lines` writes a batch of row
    pieces with them."""

    def __init__(self, using: str):
        self.using = using
        self.units = {
            pk: csv_text(*(neutralised(name or "") for name in (organisation, directorate, unit)))
            for pk, unit, directorate, organisation in BusinessUnit.objects.using(using)
            .order_by()
            .values_list("pk", "name", "directorate__name", "directorate__organisation__name")
        }
        self.no_unit = csv_text("", "", "")
        # (rank in the database's own A to Z, name): sorted as the register page sorts them
        self.site_names = {
            pk: (rank, name)
            for rank, (pk, name) in enumerate(
                Site.objects.using(using).order_by("name").values_list("pk", "name")
            )
        }
        self.sites: dict[str | None, str] = {None: "", "": ""}
        self.people: dict[int | None, str] = {None: ""}
        self.raw_names: dict[int, str] = {}

    def _read_sites(self, ids: str) -> None:
        """ "3,7" → "Facebook; LinkedIn" (A to Z), once per distinct set of sites."""
        named = sorted(self.site_names.get(int(pk), (-1, "")) for pk in ids.split(","))
        self.sites[ids] = csv_text(neutralised("; ".join(name for _, name in named)))

    def _read_people(self, ids: set) -> None:
        missing = ids.difference(self.people)
        if missing:
            found = display_names(missing, using=self.using)
            for pk in missing:
                self.raw_names[pk] = found.get(pk, "")
                self.people[pk] = csv_text(neutralised(found.get(pk, "")))

    def _reviews(self, grant_ids: list[int]) -> dict[int, str]:
        """Each grant's last four cells (its latest access review and its outcome), for the
        grants of a batch that were in a review: one query a batch."""
        reviews = latest_review_outcomes(grant_ids, using=self.using)
        self._read_people({review.decided_by_id for review in reviews.values()} - {None})
        return {
            pk: csv_text(
                str(review.review_started_on),
                review.outcome,
                neutralised(self.raw_names[review.decided_by_id]) if review.decided_by_id else "",
                str(review.decided_on or ""),
            )
            for pk, review in reviews.items()
        }

    def lines(self, batch: list[tuple]) -> str:
        """A batch of row pieces (`_pg_register_sql`'s columns) as CSV lines."""
        self._read_people(
            {row[4] for row in batch} | {row[5] for row in batch} | {row[8] for row in batch}
        )
        units, no_unit, people, sites = self.units, self.no_unit, self.people, self.sites
        for row in batch:
            if row[10] not in sites:
                self._read_sites(row[10])
        reviews = self._reviews([row[0] for row in batch])
        return "".join(
            [
                f"{head},{units.get(unit_id, no_unit)},{sites[site_ids]},{middle},"
                f"{people[approver_id]},{people[behalf_id]},{status},"
                f"{people[agreed_by_id] if cost_by is None else cost_by},{cost_on},"
                f"{reviews.get(pk, NO_REVIEW)}\r\n"
                for (
                    pk,
                    head,
                    unit_id,
                    middle,
                    approver_id,
                    behalf_id,
                    status,
                    cost_by,
                    agreed_by_id,
                    cost_on,
                    site_ids,
                ) in batch
            ]
        )


NO_REVIEW = csv_text("", NOT_REVIEWED, "", "")


# --- Python: the pieces made from plain columns -----------------------------------------

# The columns the Python producer reads: plain values, not model instances. Only the grant,
# its case and its holder are joined; a holder's unit, the approvers and the sites' names
# come from `_Names`.
_PYTHON_COLUMNS = [
    "pk",
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
    "cost_agreed_by_id",
    "holder_id",
]


class StringAgg(PostgresStringAgg):
    """PostgreSQL's string_agg; on SQLite (the demo) group_concat."""

    def as_sqlite(self, compiler, connection, **extra_context):
        expression, delimiter = self.get_source_expressions()[:2]
        sql, params = compiler.compile(expression)
        delimiter_sql, delimiter_params = compiler.compile(delimiter)
        return f"GROUP_CONCAT({sql}, {delimiter_sql})", [*params, *delimiter_params]


def _site_ids_subquery() -> Subquery:
    """A grant's site ids as text ("3,7"): one correlated subquery per row, answered from
    the through-table's unique (grant, site) index alone, with no join to the sites and no
    sort (`_Names` names and orders them)."""
    through = AccessGrant.sites.through
    return Subquery(
        through.objects.filter(accessgrant_id=OuterRef("pk"))
        .order_by()
        .values("accessgrant_id")
        .annotate(ids=StringAgg(Cast("site_id", CharField()), ","))
        .values("ids")
    )


def _label(value: str, labels: dict) -> str:
    """A choice's label, or the stored value (neutralised) if it is not one of the choices."""
    return labels.get(value) or neutralised(value)


def _python_register_sql(queryset) -> tuple[str, tuple]:
    columns = (
        queryset.select_related(None)
        .prefetch_related(None)
        .annotate(approved_on=TruncDate("approved_at"), site_ids=_site_ids_subquery())
        .values_list(*_PYTHON_COLUMNS, "approved_on", "site_ids")
    )
    return columns.query.sql_with_params()


# `cost_agreed`'s name for a budget holder named by id: the export writes their name from
# `_Names` (a name never holds a NUL character: PostgreSQL text cannot).
_BY_NAME = "\x00"


def _cost_pieces(tier, agreed_by_id, approver_id, holder_id, approved_on) -> tuple:
    """`cost_agreed` as two pieces: who agreed as CSV text (None when it is the budget
    holder named by `agreed_by_id`) and the day as CSV text."""
    cost = cost_agreed(
        tier=tier,
        cost_agreed_by_id=agreed_by_id,
        approved_by_id=approver_id,
        holder_id=holder_id,
        approved_at=None,
        approved_on=approved_on,
        name_of=lambda _: _BY_NAME,
    )
    return (None if cost.by == _BY_NAME else csv_text(neutralised(cost.by)), str(cost.on or ""))


def _python_pieces(batch: list[tuple]) -> list[tuple]:
    """`_python_register_sql`'s rows as the pieces `_pg_register_sql` computes."""
    pieces = []
    for row in batch:
        (pk, reference, common_name, first, last, email, unit_id, tier, start, end) = row[:10]
        approver_id, behalf_id, status, agreed_by_id, holder_id, approved_on, site_ids = row[10:]
        cost_by, cost_on = _cost_pieces(tier, agreed_by_id, approver_id, holder_id, approved_on)
        pieces.append(
            (
                pk,
                csv_text(
                    neutralised(reference or ""),
                    neutralised(display_name_of(common_name, first, last, email)),
                    neutralised(email or ""),
                ),
                unit_id,
                # ISO dates (a date from PostgreSQL, already text on SQLite)
                csv_text(_label(tier, TIER_LABELS), str(start), str(end)),
                approver_id,
                behalf_id,
                csv_text(_label(status, STATUS_LABELS)),
                cost_by,
                agreed_by_id,
                cost_on,
                site_ids,
            )
        )
    return pieces


# --- PostgreSQL: the pieces computed by the query ---------------------------------------
#
# The text of each piece (display names, neutralised formulas, csv.writer's quoting,
# labels, ISO dates, the cost agreement's words) is computed by the query instead of row
# by row in Python: the filtered, ordered queryset is annotated with the pieces
# (`_PG_COLUMNS`) and fenced with OFFSET 0, and only the correlated site-ids subquery is
# added outside the fence, so it runs once per row after the sort. (The rows are read
# through a server-side cursor, for which PostgreSQL plans no parallel workers.) Each expression below is the
# SQL twin of the Python rule named in its docstring, built from the same constants.

# The characters Python's str.strip() removes (as `display_name_of` does), for btrim().
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _sql_text(text: str) -> str:
    """A string literal, for our own constants only (never anything from a request)."""
    return "'" + text.replace("'", "''") + "'"


def _sql_char(char: str) -> str:
    return _sql_text(char) if char.isprintable() else f"chr({ord(char)})"


_PG_FORMULA = f"left({{0}}, 1) IN ({', '.join(_sql_char(c) for c in FORMULA_PREFIXES)})"
_QUOTE = DIALECT.quotechar
# A bracket expression of the characters as they are (none of them is special inside one).
_PG_NEEDS_QUOTES = _sql_text("[" + QUOTED_IF_CONTAINS + "]")


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


def _pg_neutralised(expression) -> _SqlTemplate:
    """`neutralised` in SQL (NULL → '')."""
    return _SqlTemplate(
        f"CASE WHEN {_PG_FORMULA} THEN '''' || {{0}} ELSE coalesce({{0}}, '') END", expression
    )


def _pg_display_name(user: str) -> _SqlTemplate:
    """`display_name_of` in SQL for the user at the path `user` (NULL if there is none)."""
    return _SqlTemplate(
        "coalesce(nullif({0}, ''), nullif(btrim(coalesce({1}, '') || ' ' || coalesce({2}, ''), "
        + _sql_text(PY_WHITESPACE)
        + "), ''), {3})",
        f"{user}__profile__commonly_used_name",
        f"{user}__first_name",
        f"{user}__last_name",
        f"{user}__email",
    )


def _pg_quoted(expression) -> _SqlTemplate:
    """csv.writer's quoting in SQL (`csv_text` of one cell): in quotes (doubled inside) if
    the text holds a delimiter, a quote or a line end's character."""
    quote, doubled = _sql_text(_QUOTE), _sql_text(_QUOTE * 2)
    return _SqlTemplate(
        f"CASE WHEN {{0}} ~ {_PG_NEEDS_QUOTES} "
        f"THEN {quote} || replace({{0}}, {quote}, {doubled}) || {quote} ELSE {{0}} END",
        expression,
    )


def _pg_cells(*expressions) -> _SqlTemplate:
    """Cells already quoted, joined by the delimiter (`csv_text` of several cells)."""
    joiner = f" || {_sql_text(DIALECT.delimiter)} || "
    return _SqlTemplate(joiner.join(f"{{{n}}}" for n in range(len(expressions))), *expressions)


def _pg_label(field: str, labels: dict) -> _SqlTemplate:
    """`csv_text(_label(…))` in SQL."""
    whens = " ".join(
        f"WHEN {_sql_text(value)} THEN {_sql_text(csv_text(label))}"
        for value, label in labels.items()
    )
    return _SqlTemplate(
        f"CASE {{0}} {whens} ELSE {{1}} END", field, _pg_quoted(_pg_neutralised(field))
    )


def _pg_cost_by() -> _SqlTemplate:
    """`_cost_pieces`' first piece in SQL: `cost_agreed`'s words for each case, asked of
    it, and NULL where it names the budget holder."""

    def said(agreed_by_id, tier=AccessTier.ACTIVE) -> str:
        by = cost_agreed(
            tier=tier,
            cost_agreed_by_id=agreed_by_id,
            approved_by_id=1,
            holder_id=2,
            approved_at=None,
            name_of=lambda _: _BY_NAME,
        ).by
        return _sql_text(csv_text(neutralised(by)))

    return _SqlTemplate(
        f"CASE WHEN {{0}} <> {_sql_text(AccessTier.ACTIVE)} THEN {said(None, tier='')} "
        f"WHEN {{1}} IS NULL THEN {said(None)} "
        f"WHEN {{1}} = {{2}} THEN {said(1)} "
        f"WHEN {{1}} = {{3}} THEN {said(2)} END",
        "tier",
        "cost_agreed_by_id",
        "approved_by_id",
        "holder_id",
    )


# (name, expression): the query's columns after the grant's id, as `_python_pieces` makes
# them.
_PG_COLUMNS = {
    "csv_head": lambda: _pg_cells(
        _pg_quoted(_pg_neutralised("business_case__reference")),
        _pg_quoted(_pg_neutralised(_pg_display_name("holder"))),
        _pg_quoted(_pg_neutralised("holder__email")),
    ),
    "csv_unit_id": lambda: F("holder__profile__business_unit_id"),
    "csv_middle": lambda: _pg_cells(
        _pg_label("tier", TIER_LABELS),
        _SqlTemplate("{0}::text", "start_date"),
        _SqlTemplate("{0}::text", "end_date"),
    ),
    "csv_approver_id": lambda: F("approved_by_id"),
    "csv_behalf_id": lambda: F("approved_on_behalf_of_id"),
    "csv_status": lambda: _pg_label("status", STATUS_LABELS),
    "csv_cost_by": lambda: _pg_cost_by(),
    "csv_agreed_by_id": lambda: F("cost_agreed_by_id"),
    "csv_cost_on": lambda: _SqlTemplate(
        f"CASE WHEN {{0}} = {_sql_text(AccessTier.ACTIVE)} THEN coalesce({{1}}::text, '') "
        "ELSE '' END",
        "tier",
        TruncDate("approved_at"),
    ),
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
    # the outer one, which adds each sorted row's site ids.
    return f"SELECT x.*, ({site_ids}) FROM ({inner} OFFSET 0) x", params  # noqa: S608  # nosec B608 - Django's SQL, its params apart


def register_csv(queryset, *, in_python: bool = False) -> Iterator[str]:
    """The header and each grant of the (ordered) queryset as CSV text, 1,000 rows per
    piece.

    On PostgreSQL the query makes the rows' pieces (`_pg_register_sql`), unless
    `in_python` (which the tests use to compare the two producers); elsewhere Python makes
    them (`_python_pieces`). Either way rows are read through a server-side cursor 2,000
    at a time, opened inside a transaction so that PostgreSQL streams the rows as it finds
    them: outside one (autocommit), a cursor WITH HOLD would build the whole result before
    the first row. Rows are plain tuples, never model instances.
    """
    connection = connections[queryset.db]
    in_sql = connection.vendor == "postgresql" and not in_python
    sql, params = _pg_register_sql(queryset) if in_sql else _python_register_sql(queryset)
    pending = next(csv_lines(REGISTER_HEADER, []))
    with transaction.atomic(using=queryset.db):
        names = _Names(queryset.db)
        if connection.vendor == "postgresql":
            # Plan for every row, not the first 10% (hash joins rather than an index
            # probe per row), and without JIT compilation, which the planner's cost for
            # the whole register switches on and which takes longer than the query itself.
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
                if not in_sql:
                    batch = _python_pieces(batch)
                yield pending + names.lines(batch)
                pending = ""
    if pending:
        yield pending
