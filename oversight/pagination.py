"""Keyset ("seek") pagination: Previous/Next pages without OFFSET or COUNT(*).

OFFSET reads and throws away every row before the page, so deep pages of a 200k-row
register or a 2M-row trail get slower the deeper they are; a keyset page starts at the
last row shown (`WHERE (end_date, id) > (…)`) and costs the same at any depth.
"""

import base64
import binascii
import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import BooleanField, Expression, F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.urls import reverse
from django.utils.http import urlencode


@dataclass(frozen=True)
class SortKey:
    """One column of the ordering: its name (a field or annotation), and how to read a
    cursor's value back."""

    name: str
    parse: Callable[[Any], Any]


# A cursor comes back in the address, so anyone can hand the page any value: each key's
# parser accepts only what the page itself writes, and refuses anything else with ValueError
# (a 404), before it can reach the database as an out-of-range number or a NUL byte.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
MAX_CURSOR_LENGTH = 2000
MAX_TEXT_KEY_LENGTH = 500


def parse_id(value) -> int:
    """An id: a whole JSON number (not a boolean or a float) in PostgreSQL's bigint range."""
    if type(value) is not int or not BIGINT_MIN <= value <= BIGINT_MAX:
        raise ValueError("Not an id")
    return value


def parse_date(value) -> datetime.date:
    if not isinstance(value, str):
        raise ValueError("Not a date")
    return datetime.date.fromisoformat(value)


def parse_text(value) -> str:
    """A text key: a string PostgreSQL can hold (UTF-8, no NUL) of a length a page writes."""
    if not isinstance(value, str) or "\x00" in value or len(value) > MAX_TEXT_KEY_LENGTH:
        raise ValueError("Not a text key")
    value.encode()  # a lone surrogate raises UnicodeEncodeError, a ValueError
    return value


@dataclass(frozen=True)
class KeysetPage:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


class BadCursor(ValueError):
    pass


def _encode(values: list) -> str:
    raw = json.dumps(
        [v.isoformat() if isinstance(v, datetime.date) else v for v in values],
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(cursor: str, keys: list[SortKey]) -> list:
    """The values of a cursor the page wrote, or BadCursor for anything else.

    Deeply nested JSON raises RecursionError, and huge numbers OverflowError; both are
    refused like any other malformed cursor."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadCursor(cursor[:MAX_CURSOR_LENGTH])
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(keys):
            raise BadCursor(cursor)
        return [key.parse(value) for key, value in zip(keys, values, strict=True)]
    except (binascii.Error, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise BadCursor(cursor) from exc


class RowComparison(Expression):
    """`(a, b, …) > (x, y, …)` (or `<`): a row-value comparison, which PostgreSQL reads as
    an index range on an index over (a, b, …), so a keyset page starts at its cursor
    instead of filtering every row before it. SQLite (3.15+) understands it too."""

    output_field = BooleanField()

    def __init__(self, lhs: list, operator: str, rhs: list):
        if operator not in {"<", ">"} or len(lhs) != len(rhs):
            raise ValueError("Compare two rows of the same length with < or >")
        self.lhs, self.operator, self.rhs = list(lhs), operator, list(rhs)
        super().__init__(output_field=BooleanField())

    def get_source_expressions(self):
        return [*self.lhs, *self.rhs]

    def set_source_expressions(self, exprs):
        self.lhs, self.rhs = list(exprs[: len(self.lhs)]), list(exprs[len(self.lhs) :])

    def as_sql(self, compiler, connection):
        sides, params = [], []
        for side in (self.lhs, self.rhs):
            parts = []
            for expression in side:
                sql, part_params = compiler.compile(expression)
                parts.append(sql)
                params.extend(part_params)
            sides.append("(" + ", ".join(parts) + ")")
        return f"{sides[0]} {self.operator} {sides[1]}", params


def _after(keys: list[SortKey], values: list, *, descending: bool) -> RowComparison:
    """Rows strictly after `values` in the ordering: (k1, k2, …) > (v1, v2, …)."""
    return RowComparison(
        [F(key.name) for key in keys],
        "<" if descending else ">",
        [Value(value) for value in values],
    )


@dataclass(frozen=True)
class KeysByGroup:
    """A keyset page's keys found group by group: for a page of the rows of a bounded set
    of groups among many (a directorate's 1,250 people among a department's), each group's
    first rows past the cursor, read from an index on (`column`, the keys…), then the first
    of those. Walking the keys' own index and filtering by group reads every row past the
    cursor until the page is full, so a page's cost would grow with the table rather than
    with the groups' own rows.

    `rows`: the page's rows with every filter but the groups; `column`: the rows' column
    naming their group; `groups`: a one-column `values()` queryset naming each group once.
    On PostgreSQL a `LATERAL` join (the planner keeps it a loop over the groups); elsewhere
    the rows are filtered by group and ordered as usual."""

    rows: QuerySet
    column: str
    groups: QuerySet

    def condition(
        self, keys: list[SortKey], values: list | None, descending: bool, limit: int
    ) -> Q | RawSQL:
        """The rows whose keys are the first `limit` past `values` (None: from the start)."""
        sign = "-" if descending else ""
        ordering = [f"{sign}{key.name}" for key in keys]
        alias = self.rows.db
        connection = connections[alias]
        if connection.vendor != "postgresql":
            chosen = self.rows.filter(**{f"{self.column}__in": self.groups})
            if values is not None:
                chosen = chosen.filter(_after(keys, values, descending=descending))
            return Q(pk__in=chosen.order_by(*ordering).values("pk")[:limit])
        quote = connection.ops.quote_name
        (group_column,) = self.groups.query.values_select
        per_group = self.rows.filter(
            **{self.column: RawSQL(f"page_group.{quote(group_column)}", [])}  # noqa: S611  # nosec B611 - a column name
        )
        if values is not None:
            per_group = per_group.filter(_after(keys, values, descending=descending))
        per_group = per_group.order_by(*ordering).values(
            *[key.name for key in keys], page_key=F("pk")
        )[:limit]
        groups = self.groups.order_by()
        groups_sql, groups_params = groups.query.get_compiler(using=alias).as_sql()
        rows_sql, rows_params = per_group.query.get_compiler(using=alias).as_sql()
        direction = " DESC" if descending else ""
        order = ", ".join(f"page_rows.{quote(key.name)}{direction}" for key in keys)
        meta = self.rows.model._meta
        # Names from the models, the ORM's own SQL; every value is a parameter.
        sql = (
            f"{quote(meta.db_table)}.{quote(meta.pk.column)} IN (SELECT page_rows.page_key"  # noqa: S608  # nosec B608
            f" FROM ({groups_sql}) AS page_group CROSS JOIN LATERAL ({rows_sql}) AS page_rows"
            f" ORDER BY {order} LIMIT %s)"
        )
        return RawSQL(  # noqa: S611  # nosec B611
            sql,
            [*groups_params, *rows_params, limit],
            output_field=BooleanField(),
        )


def keyset_page(
    queryset: QuerySet,
    *,
    keys: list[SortKey],
    descending: bool = False,
    after: str | None = None,
    before: str | None = None,
    page_size: int = 50,
    keys_from: QuerySet | KeysByGroup | None = None,
    rows_from: Callable[[list | None, bool], list] | None = None,
) -> KeysetPage:
    """One page of `queryset` ordered by `keys` (all ascending or all descending).

    `after` continues forwards from a page's last row; `before` goes back from a page's
    first row. One query per page: page_size + 1 rows tells whether there is more.

    `keys_from`, the same rows without the joins and columns only a row needs: the page's
    primary keys are chosen from it, then its rows read from `queryset` by key, in one
    query (a "deferred join"). Where an index holds the filters' columns, the rows a
    filter turns down then cost an index entry each instead of a read of the table.
    Or a `KeysByGroup`, which finds the keys group by group (a directorate's grants holder
    by holder).

    `rows_from(values, descending)`, instead of `queryset`: the first page_size + 1 rows
    past the cursor `values` (None: from the start), in the keys' order, descending or not
    (a page read by a prepared statement).
    """
    sign = "-" if descending else ""
    forwards = [f"{sign}{key.name}" for key in keys]
    backwards = [f"{'' if descending else '-'}{key.name}" for key in keys]

    def cursor_of(row) -> str:
        if isinstance(row, dict):  # a .values() queryset
            return _encode([row[key.name] for key in keys])
        return _encode([getattr(row, key.name) for key in keys])

    def first_rows(values: list | None, backwards_now: bool) -> list:
        ordering = backwards if backwards_now else forwards
        runs_descending = descending != backwards_now
        if rows_from is not None:
            return rows_from(values, runs_descending)
        if isinstance(keys_from, KeysByGroup):
            chosen = keys_from.condition(keys, values, runs_descending, page_size + 1)
            return list(queryset.filter(chosen).order_by(*ordering))
        condition = [] if values is None else [_after(keys, values, descending=runs_descending)]
        if keys_from is None:
            return list(queryset.filter(*condition).order_by(*ordering)[: page_size + 1])
        page_keys = keys_from.filter(*condition).order_by(*ordering).values("pk")
        return list(queryset.filter(pk__in=page_keys[: page_size + 1]).order_by(*ordering))

    if before:
        values = cursor_decode(before, keys)
        rows = first_rows(values, True)
        more_before = len(rows) > page_size
        rows = list(reversed(rows[:page_size]))
        return KeysetPage(
            rows=rows,
            next_cursor=cursor_of(rows[-1]) if rows else None,
            previous_cursor=cursor_of(rows[0]) if rows and more_before else None,
        )
    rows = first_rows(cursor_decode(after, keys) if after else None, False)
    more_after = len(rows) > page_size
    rows = rows[:page_size]
    return KeysetPage(
        rows=rows,
        next_cursor=cursor_of(rows[-1]) if rows and more_after else None,
        previous_cursor=cursor_of(rows[0]) if rows and after else None,
    )


PAGE_SIZE = 50


def link(url_name: str, query: dict, **extra) -> str:
    """A page's address with its filters (and a cursor) in the query string."""
    params = {**query, **extra}
    return reverse(url_name) + ("?" + urlencode(params) if params else "")


def page_or_404(queryset, request, **kwargs) -> KeysetPage:
    """The keyset page the request's `after` or `before` cursor names; 404 for a cursor
    the page did not write."""
    try:
        return keyset_page(
            queryset,
            after=request.GET.get("after") or None,
            before=request.GET.get("before") or None,
            page_size=PAGE_SIZE,
            **kwargs,
        )
    except BadCursor:
        raise Http404("That page of results does not exist") from None
