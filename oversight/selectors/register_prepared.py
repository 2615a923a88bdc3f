"""The register's most asked pages as prepared statements: by end date, filtered by status,
tier and a search for holders by name or email, or not at all.

Those pages' keys and rows (one statement) and their count (another) are built by Django
once per process and planned by PostgreSQL once per connection (`core.prepared`), one
statement for each combination of those filters, direction and cursor: the page's cursor
and the holders' ids (or, for a text matching too many people to pass as ids, the text) are
its arguments. Built on every request, the two queries cost Django more to write and
PostgreSQL more to plan than to run; and a text's own plan hangs on how many people
PostgreSQL's sample of the search texts says it matches, which changes with every ANALYZE
(docs/performance.md). Any other filter, or the sort by holder, goes the way every page goes
(`register.register_filtered`)."""

import datetime
from dataclasses import dataclass

from django.db.models import F, Value

from access_requests.models import AccessGrant
from core.prepared import PreparedCount, PreparedQuery

from ..pagination import PAGE_SIZE, RowComparison
from .register import DEFAULT_SORT, REGISTER_GRANT_COLUMNS, RegisterFilters, register_filtered
from .search import FoundIds, InArray, holders_found, holders_named, names_only

# Stand-ins for the arguments (`core.prepared`): values no real argument takes.
_HOLDERS = "{-4611686018427387841}"
_TEXT = "stand-in for a text matching too many people to pass as ids"
_END_DATE = datetime.date(1901, 2, 3)
_ID = -(2**62) + 67

ROW_COLUMNS = (*REGISTER_GRANT_COLUMNS, "reference")

# How a page's holders are chosen, and the statement's argument (name, stand-in) for each
# that takes one.
ANYONE, IDS, NAMED = "anyone", "holders", "named"
_HOLDER_ARGUMENTS = {IDS: ("holders", _HOLDERS), NAMED: ("text", _TEXT)}
# The people a text matches are unknown to a generic plan, which costs them at PostgreSQL's
# default share of a `LIKE` (half a percent) and would read the grants with parallel
# workers, whose start costs more than the page: the plan made without them walks the
# grants in the page's order and checks each holder, as the text's own plan did.
_NAMED_PLANNER = ("max_parallel_workers_per_gather = 0",)


@dataclass(frozen=True)
class _Shape:
    """What a prepared statement is for: the filters' values that are written into it (so
    that a partial index whose predicate names them still serves its generic plan) and
    which arguments it takes."""

    status: str
    tier: str
    holders: str  # ANYONE, IDS or NAMED
    cursor: bool = False
    descending: bool = False

    @property
    def name(self) -> str:
        return "_".join(
            (
                "register",
                self.status,
                self.tier or "anytier",
                self.holders,
                "after" if self.cursor else "first",
                "desc" if self.descending else "asc",
            )
        )

    @property
    def argument(self) -> str | None:
        """The name of the statement's argument that chooses the holders, if any."""
        return _HOLDER_ARGUMENTS[self.holders][0] if self.holders in _HOLDER_ARGUMENTS else None

    def stand_ins(self) -> dict:
        found = dict([_HOLDER_ARGUMENTS[self.holders]]) if self.argument else {}
        if self.cursor:
            found.update(end_date=_END_DATE, pk=_ID)
        return found

    @property
    def planner(self) -> tuple[str, ...]:
        return _NAMED_PLANNER if self.holders == NAMED else ()

    def filtered(self, holders: str | None, text: str | None):
        grants = register_filtered(RegisterFilters(status=self.status, tier=self.tier))
        if self.holders == IDS:
            grants = grants.filter(InArray("holder_id", FoundIds(0, holders)))
        elif self.holders == NAMED:
            grants = grants.filter(holders_named(text))
        return grants


_STATUSES = {value for value, _ in AccessGrant.Status.choices} | {"current", "all"}
_TIERS = {"", *(value for value, _ in AccessGrant._meta.get_field("tier").choices)}
_PAGES: dict[_Shape, PreparedQuery] = {}
_COUNTS: dict[tuple[_Shape, int], PreparedCount] = {}


def _page_query(shape: _Shape) -> PreparedQuery:
    query = _PAGES.get(shape)
    if query is None:
        sign = "-" if shape.descending else ""
        ordering = [f"{sign}end_date", f"{sign}id"]

        def build(holders=None, text=None, end_date=None, pk=None):
            keys = shape.filtered(holders, text)
            if shape.cursor:
                keys = keys.filter(
                    RowComparison(
                        [F("end_date"), F("id")],
                        "<" if shape.descending else ">",
                        [Value(end_date), Value(pk)],
                    )
                )
            page_keys = keys.order_by(*ordering).values("pk")[: PAGE_SIZE + 1]
            return (
                AccessGrant.objects.filter(pk__in=page_keys)
                .order_by(*ordering)
                .values_list(*REGISTER_GRANT_COLUMNS, F("business_case__reference"))
            )

        query = _PAGES[shape] = PreparedQuery(
            shape.name, build, planner=shape.planner, **shape.stand_ins()
        )
    return query


def _count_query(shape: _Shape, cap: int) -> PreparedCount:
    query = _COUNTS.get((shape, cap))
    if query is None:

        def build(holders=None, text=None):
            return shape.filtered(holders, text).order_by().values("pk")[: cap + 1]

        query = _COUNTS[(shape, cap)] = PreparedCount(
            f"{shape.name}_count_{cap}", build, planner=shape.planner, **shape.stand_ins()
        )
    return query


@dataclass(frozen=True)
class PreparedRegister:
    """A register page whose filters have prepared statements: `rows` for a keyset page
    (`keyset_page`'s `rows_from`), `count` for the count above it."""

    shape: _Shape
    # What chooses the holders: the ids as an array literal (IDS), the searched text (NAMED).
    holders: str | None = None

    def _arguments(self) -> dict:
        return {self.shape.argument: self.holders} if self.shape.argument else {}

    def rows(self, values: list | None, descending: bool) -> list[dict]:
        shape = _Shape(
            self.shape.status,
            self.shape.tier,
            self.shape.holders,
            cursor=values is not None,
            descending=descending,
        )
        arguments = self._arguments()
        if values is not None:
            arguments.update(end_date=values[0], pk=values[1])
        return [
            dict(zip(ROW_COLUMNS, row, strict=True)) for row in _page_query(shape).run(**arguments)
        ]

    def count(self, cap: int) -> int:
        ((count,),) = _count_query(self.shape, cap).run(**self._arguments())
        return count


def prepared_register(filters: RegisterFilters) -> PreparedRegister | None:
    """The register page for `filters` from prepared statements, when they filter by
    status, tier or a holder's name or email only and sort by end date; else None (and
    the page is built as every other is). A search is looked up here: its people's ids
    are the statements' argument, or the text itself when it matches too many people to
    pass as ids."""
    rest = RegisterFilters(
        status=filters.status, tier=filters.tier, search=filters.search, sort=filters.sort
    )
    if (
        filters != rest
        or filters.sort not in {DEFAULT_SORT, f"-{DEFAULT_SORT}"}
        or filters.status not in _STATUSES
        or filters.tier not in _TIERS
    ):
        return None
    if not filters.search:
        return PreparedRegister(_Shape(filters.status, filters.tier, ANYONE))
    if not names_only(filters.search):
        return None
    found = holders_found(filters.search)
    if found is None:  # too many people to pass as ids
        return PreparedRegister(_Shape(filters.status, filters.tier, NAMED), filters.search.strip())
    return PreparedRegister(_Shape(filters.status, filters.tier, IDS), found.literal)
