"""The register's search box: a holder's name or email, or a case reference.

Matching people or cases are looked up first and passed to the grants' query as ids (one
array parameter on PostgreSQL), so that PostgreSQL can use the grant's holder index; past
`SEARCH_ID_LIMIT` matches, the grants' query joins instead (and for a minute the same text
joins without looking its people up first).
"""

import hashlib
import re
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField,
    Expression,
    F,
    Func,
    Lookup,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Upper

from access_requests.models import BusinessCase
from people.models import PersonSearchText, StaffProfile, User

REFERENCE = re.compile(r"[A-Za-z]+-\d{4}-\d+")
# Up to this many matching people or cases are looked up first and passed as ids, which
# lets PostgreSQL use the grant's holder index; more than that, it joins instead.
SEARCH_ID_LIMIT = 2000
# How long a text found to match more than `SEARCH_ID_LIMIT` people is remembered as such.
# Either way of searching finds the same grants, so a stale answer costs time, not results.
MANY_PEOPLE_CACHE_SECONDS = 60


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

    On PostgreSQL one query, which hands them back as one array literal: a common surname
    costs the driver and Python one string instead of a row per person and the literal
    built from them. Several searches are joined by `UNION` inside that query; SQLite's
    (the demo database) are merged in Python."""
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
    …)` costs Django, the driver and the planner a parameter each, one array costs them
    one."""

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
        # a Python list would be sent as ARRAY[7, 13, …], a constant per id to parse and
        # fold.
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


def _many_people_key(text: str) -> str:
    return "register-search-many-people:" + hashlib.sha256(text.upper().encode()).hexdigest()


def names_only(text: str) -> bool:
    """Whether a search is for people alone: neither a case reference nor with digits (which
    the references have)."""
    text = text.strip()
    return not REFERENCE.fullmatch(text) and not any(ch.isdigit() for ch in text)


def holders_condition(text: str) -> Q:
    """The grants whose holder's name or email contains `text`, as a join to the people
    matching it: for a text that matches too many people to pass as ids."""
    condition = Q()
    for search in _holder_searches(text):
        condition |= Q(holder_id__in=search)
    return condition


class Like(Lookup):
    """`lhs LIKE rhs`, the pattern as given (`contains` writes the wildcards around it)."""

    lookup_name = "like"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs}", [*lhs_params, *rhs_params]


class ContainsPattern(Func):
    """The `LIKE` pattern for a text anywhere in the search text: in capitals (PostgreSQL's
    own `UPPER`, as the search text is written), its wildcards escaped, between two `%`.
    Worked out once per query: a sub-select of no table is run once (an InitPlan), where the
    same expression written into the condition is worked out again for every holder checked,
    thousands of times on a common name's page. (`%%%%`: one `%` once the template and then
    the driver have read it.)"""

    template = (
        "(SELECT '%%%%' || REPLACE(REPLACE(REPLACE(UPPER(%(expressions)s), "
        "E'\\\\', E'\\\\\\\\'), E'%%%%', E'\\\\%%%%'), E'_', E'\\\\_') || '%%%%')"
    )
    output_field = TextField()


def holders_named(text: str) -> Q:
    """As `holders_condition`, for a statement prepared once and run with many texts: on
    PostgreSQL the pattern is worked out once per run (`ContainsPattern`)."""
    if connection.vendor != "postgresql":
        return holders_condition(text)
    matching = PersonSearchText.objects.filter(Like(F("text"), ContainsPattern(Value(text))))
    return Q(holder_id__in=matching.values_list("user_id", flat=True))


def holders_found(text: str) -> FoundIds | None:
    """The ids of the people a search finds, when they are the whole search (`names_only`)
    and few enough to pass as ids (`SEARCH_ID_LIMIT`); None otherwise, and
    `holders_condition` or `search_condition` then says what the search matches. A text
    found to match too many people is remembered as such, as `search_condition` remembers
    it."""
    text = text.strip()
    if not names_only(text):
        return None
    many_key = _many_people_key(text)
    if cache.get(many_key):
        return None
    holders = _found_ids(*_holder_searches(text))
    if holders.too_many:
        cache.set(many_key, True, MANY_PEOPLE_CACHE_SECONDS)
        return None
    return holders


def search_condition(text: str) -> Q:
    """The grants whose holder's name or email, or whose case reference, contains `text`
    (case-insensitive, part of a word).

    A whole reference is an exact match on the unique index; anything else looks up the
    matching people (and, if it has digits, references) first.
    """
    text = text.strip()
    if REFERENCE.fullmatch(text):
        return Q(business_case__reference=text.upper())
    searches = _holder_searches(text)
    many_key = _many_people_key(text)
    # A text known to match too many people joins at once: looking its people up first
    # would read `SEARCH_ID_LIMIT` + 1 of them (a thousand pages of the search text at scale
    # 10) on every page, only to join anyway.
    holders = None if cache.get(many_key) else _found_ids(*searches)
    if holders is not None and not holders.too_many:
        condition = Q(InArray("holder_id", holders))
    else:
        if holders is not None:
            cache.set(many_key, True, MANY_PEOPLE_CACHE_SECONDS)
        condition = holders_condition(text)
    if any(ch.isdigit() for ch in text):  # references are SNS-<year>-<number>
        cases = BusinessCase.objects.filter(reference__icontains=text).values_list("pk", flat=True)
        found_cases = _found_ids(cases)
        if not found_cases.too_many:
            condition |= Q(InArray("business_case_id", found_cases))
        else:
            condition |= Q(business_case_id__in=cases)
    return condition
