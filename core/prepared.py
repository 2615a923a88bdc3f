"""A query whose SQL is built once per process and, on PostgreSQL, planned once per
connection: for a query whose condition costs more to build (Django's `Q` tree) and to
plan (PostgreSQL) than to run, asked on a page every request.

`PreparedQuery(name, build, approver=SOME_ID, on=SOME_DATE)`: `build(**stand_ins)` returns
the queryset; the stand-in values (which must appear nowhere else among the query's
parameters) mark where each argument goes. `run(approver=…, on=…)` returns the rows as
tuples of the queryset's columns (use `values_list`, whose values need no converting). An
integer stand-in may also be the start of the queryset's slice (`[offset : offset + 25]`):
Django writes a slice's bounds into the SQL, so the offset is made an argument there.

On PostgreSQL the SQL, with every other value written in as a literal (so that a partial
index whose predicate names a constant still matches a generic plan), is `PREPARE`d once
per connection; each run is an `EXECUTE` of its generic plan, planned once per connection
(`GENERIC_PLAN`; inside a transaction PostgreSQL chooses, and may plan each run afresh). Prepared
statements outlive a transaction's rollback and end with the connection, so a new
connection prepares again (each connection object is remembered weakly). Elsewhere
(`make run`'s SQLite) `build(**arguments)` runs as a queryset each time, so a stand-in that
is a list of ids (`core.lookups.ids_any`: an array on PostgreSQL, an `IN` list elsewhere)
takes the arguments' length.

`PreparedCount` is the same for the number of the queryset's rows (no further than its
slice): `run(…)` returns `[(count,)]`.

A prepared statement belongs to one PostgreSQL session: behind a pooler in transaction mode
(pgbouncer's), a later transaction may run on a server connection that never prepared it,
so the web connects directly or through a pooler in session mode (README, production).

`planner=("enable_sort = off", …)`: settings for the planner while it makes the generic
plan, where its estimates lead it astray (the home page's cases to decide; parallel workers
for the register's search of a common name).

`build` may instead return a `RawStatement`: SQL the ORM cannot write (a `WITH` read twice,
a `LATERAL` join), with the stand-ins among its parameters as a queryset's would be. It runs
on PostgreSQL only; the caller keeps an ORM path for other databases.
"""

import re
import weakref
from collections.abc import Callable
from typing import Any

from django.db import NotSupportedError, connections, router
from django.db.models import QuerySet

# PostgreSQL's own choice ("auto") compares the generic plan's estimate with the custom
# plans': for the authority condition an unknown approver costs the generic plan about 30
# times a known one's, so it planned every run afresh (0.2-0.5 ms of backend CPU) for the
# same indexes and rows. The generic plan, made once per connection, runs instead.
GENERIC_PLAN = "SET LOCAL plan_cache_mode = force_generic_plan"
# The planner settings a prepared query may make its generic plan with (`planner=`).
PLANNER_SETTING = r"enable_[a-z]+ = (on|off)|max_parallel_workers_per_gather = 0"


class RawStatement:
    """A statement in SQL for `PreparedQuery`: `model` routes it (`router.db_for_read`),
    `sql` has a `%s` for each of `params`, among which the stand-ins are."""

    def __init__(self, model, sql: str, params: list):
        self.model = model
        self.sql = sql
        self.params = list(params)


class PreparedQuery:
    def __init__(
        self,
        name: str,
        build: Callable[..., "QuerySet | RawStatement"],
        *,
        planner: tuple[str, ...] = (),
        **stand_ins: Any,
    ):
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError("A prepared query's name is a lower-case SQL identifier")
        if not all(re.fullmatch(PLANNER_SETTING, each) for each in planner):
            raise ValueError(
                "A prepared query's planner settings are enable_… = on or off, or "
                "max_parallel_workers_per_gather = 0"
            )
        self.name = name
        # Planner settings (`enable_sort = off`) in force when its generic plan is made: set
        # with it on every run, as a plan is made again when PostgreSQL drops it (after an
        # ANALYZE of its tables).
        self.planner = "".join(f"SET LOCAL {each}; " for each in planner)
        self.build = build
        self.stand_ins = stand_ins
        # Per database alias: (SQL, parameters with argument names where the stand-ins were).
        self._built: dict[str, tuple[str, list]] = {}
        self._queryset: QuerySet | None = None
        # The connections (DB-API objects, held weakly) on which it is prepared.
        self._prepared_on: weakref.WeakSet = weakref.WeakSet()

    def _sql(self, alias: str) -> tuple[str, list]:
        built = self._built.get(alias)
        if built is None:
            if isinstance(self._queryset, RawStatement):
                sql, params = self._queryset.sql, self._queryset.params
            else:
                sql, params = self._queryset.query.get_compiler(using=alias).as_sql()
            slots = []
            found = set()
            for value in params:
                name = next(
                    (
                        key
                        for key, stand_in in self.stand_ins.items()
                        if type(value) is type(stand_in) and value == stand_in
                    ),
                    None,
                )
                slots.append(_Argument(name) if name is not None else value)
                found.add(name)
            missing = set(self.stand_ins) - found
            for name in sorted(missing):
                # A slice's offset is written into the SQL, not passed: the last clause.
                stand_in = self.stand_ins[name]
                offset = f" OFFSET {stand_in}"
                if type(stand_in) is int and sql.endswith(offset):
                    sql = sql[: -len(offset)] + " OFFSET %s"
                    slots.append(_Argument(name))
                    missing.discard(name)
            if missing:
                raise ValueError(f"{self.name}: the query does not use {sorted(missing)}")
            built = self._built[alias] = (sql, slots)
        return built

    def run(self, **arguments: Any) -> list[tuple]:
        if set(arguments) != set(self.stand_ins):
            raise TypeError(f"{self.name} takes {sorted(self.stand_ins)}")
        if self._queryset is None:
            self._queryset = self.build(**self.stand_ins)
        alias = router.db_for_read(self._queryset.model)
        connection = connections[alias]
        if connection.vendor != "postgresql":
            if isinstance(self._queryset, RawStatement):
                raise NotSupportedError(f"{self.name} is written for PostgreSQL")
            return self._run_elsewhere(self.build(**arguments).using(alias))
        sql, slots = self._sql(alias)
        with connection.cursor() as cursor:
            order = list(self.stand_ins)
            self._prepare(connection, cursor, sql, slots, order)
            # A statement without arguments is executed without parentheses.
            execute = f"EXECUTE {self.name}" + (
                f"({', '.join(['%s'] * len(order))})" if order else ""
            )
            if not connection.in_atomic_block:
                # One query string runs as one implicit transaction, so SET LOCAL holds for
                # this EXECUTE alone (inside a transaction it would outlast it).
                execute = f"{GENERIC_PLAN}; {self.planner}{execute}"
            cursor.execute(execute, [arguments[name] for name in order])  # nosec B608
            return cursor.fetchall()

    def _run_elsewhere(self, queryset: QuerySet) -> list[tuple]:
        return list(queryset)

    def _prepare(self, connection, cursor, sql, slots, order) -> None:
        raw = connection.connection
        if raw in self._prepared_on:
            return
        cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [self.name])
        if cursor.fetchone() is None:
            from psycopg2.extensions import AsIs

            values = [
                AsIs(f"${order.index(s.name) + 1}") if isinstance(s, _Argument) else s
                for s in slots
            ]
            # The constants written as SQL literals, the arguments as $1, $2…; no parameters
            # to the cursor, so a % in the text stays as it is.
            text = cursor.cursor.mogrify(sql, values).decode()
            # The name is an identifier (checked above), the text the ORM's own SQL.
            cursor.execute(f"PREPARE {self.name} AS {text}")  # nosec B608
        self._prepared_on.add(raw)


class PreparedCount(PreparedQuery):
    """A `PreparedQuery` that counts the queryset's rows: `run(…)` returns `[(count,)]`. A
    sliced queryset (`[: cap + 1]`) counts no further than its slice."""

    def _sql(self, alias: str) -> tuple[str, list]:
        sql, slots = super()._sql(alias)
        # The ORM's own SQL, wrapped; every value stays a parameter or a literal as above.
        return f"SELECT COUNT(*) FROM ({sql}) AS counted", slots  # noqa: S608  # nosec B608

    def _run_elsewhere(self, queryset: QuerySet) -> list[tuple]:
        return [(queryset.count(),)]


class _Argument:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


def model_from_values(model, values: dict[str, Any], *, related: dict[str, Any] | None = None):
    """An instance of `model` made from a prepared query's values, as the ORM makes one
    (`Model.from_db`; a field not given is deferred), with each of `related` (a related
    instance, or None for none) cached where `select_related` caches it, so a template
    reading it makes no query. `values` are keyed by the fields' attribute names
    (`requester_id`)."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    instance = model.from_db(router.db_for_read(model), names, [values[name] for name in names])
    for name, value in (related or {}).items():
        model._meta.get_field(name).set_cached_value(instance, value)
    return instance
