"""Emptying the test database after a transactional test, cheaply and to the same end.

pytest-django ends every transactional test (live server, Celery worker, concurrency tests)
with Django's flush: one `TRUNCATE` of every table, then `post_migrate` re-creating the
content types, permissions and the roles' groups (`people.roles.roles_sync`), about 440
queries, each its own commit. A `TRUNCATE` gives each of its ~45 tables and their indexes
new files: ~150 ms of PostgreSQL's CPU whether the tables hold rows or not, where deleting
the handful of rows a test wrote costs a few milliseconds.

`empty_database` reaches the state the flush reaches, a different way:

- the four tables `post_migrate` fills are kept when they are exactly as the database's
  migrations left them (a fingerprint of every row, ids included, taken when the database is
  set up); when a test changed any of them, Django's own flush runs instead and its result
  becomes the fingerprint;
- every other table that holds rows is emptied in one transaction: `DELETE` (the foreign
  keys are deferred to the commit, by which time both sides are empty), or `TRUNCATE` for a
  table whose own triggers refuse a delete (the audit trail's append-only tables, whose
  `TRUNCATE` triggers the root conftest switches off in the test database);
- the transaction commits only once a second look finds every such table empty. Anything
  unexpected (a test's own trigger, thousands of rows) rolls it back to Django's flush.

Sequences are not reset, as with pytest-django's flush (`reset_sequences=False`).
`tests/test_database_cleanup.py` proves the end state equals the flush's.
"""

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DatabaseError, connections, transaction

# Above this many rows in one table, deleting them row by row (each with its foreign-key
# checks) is no longer cheaper than a TRUNCATE: Django's flush runs.
MANY_ROWS = 2000

_fingerprints: dict[str, tuple] = {}


def kept_tables() -> list[str]:
    """The tables `post_migrate` fills, which reference only each other."""
    return [
        ContentType._meta.db_table,
        Permission._meta.db_table,
        Group._meta.db_table,
        Group.permissions.through._meta.db_table,
    ]


def fingerprint(alias: str = "default") -> tuple:
    """One md5 per kept table over all its rows, ids included: one query."""
    columns = ", ".join(
        f"(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t.id), '')) FROM {table} t)"  # noqa: S608 - model table names
        for table in kept_tables()
    )
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT {columns}")  # noqa: S608 - model table names
        return cursor.fetchone()


def remember_fresh_state(alias: str = "default") -> None:
    """Called once the test database is migrated: what the kept tables must look like."""
    _fingerprints[alias] = fingerprint(alias)


def _django_flush(alias: str) -> None:
    call_command(
        "flush",
        verbosity=0,
        interactive=False,
        database=alias,
        reset_sequences=False,
        allow_cascade=False,
        inhibit_post_migrate=False,
    )
    _fingerprints[alias] = fingerprint(alias)


def _tables_with_rows(cursor, tables: list[str]) -> dict[str, int]:
    """Each table holding rows, with its row count up to MANY_ROWS + 1: one query."""
    sql = " UNION ALL ".join(
        f"SELECT '{table}', (SELECT count(*) FROM (SELECT FROM {table} LIMIT {MANY_ROWS + 1}) r) "  # noqa: S608 - introspected table names
        f"WHERE EXISTS (SELECT FROM {table})"
        for table in tables
    )
    cursor.execute(sql)
    return dict(cursor.fetchall())


def _tables_refusing_delete(cursor, tables: list[str]) -> set[str]:
    """Tables with an enabled trigger of their own that fires on DELETE."""
    cursor.execute(
        "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgtype & 8 = 8 "
        "AND c.relname = ANY(%s)",
        [tables],
    )
    return {name for (name,) in cursor.fetchall()}


class _FallBack(Exception):
    pass


def empty_database(alias: str = "default") -> None:
    """Leave the database as pytest-django's flush would: every table empty but the
    content types, permissions and roles' groups, which are as the migrations made them."""
    connection = connections[alias]
    if connection.vendor != "postgresql" or alias not in _fingerprints:
        _django_flush(alias)
        return
    if fingerprint(alias) != _fingerprints[alias]:
        _django_flush(alias)
        return
    kept = set(kept_tables())
    tables = [
        t
        for t in connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        if t not in kept
    ]
    try:
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            with_rows = _tables_with_rows(cursor, tables)
            if not with_rows:
                return
            if max(with_rows.values()) > MANY_ROWS:
                raise _FallBack
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            refusing = _tables_refusing_delete(cursor, list(with_rows))
            if refusing:
                cursor.execute("TRUNCATE " + ", ".join(sorted(refusing)))
            for table in sorted(set(with_rows) - refusing):
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - introspected table names
            if _tables_with_rows(cursor, tables):
                raise _FallBack  # a trigger wrote a row back
    except (_FallBack, DatabaseError):
        _django_flush(alias)
