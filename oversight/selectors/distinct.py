"""Distinct values of an indexed column, for the filter forms' lists (the register's
approvers, the audit trail's actions and object types)."""

from django.db import connection
from django.db.models import Model

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


def loose_index_scan_sql(model: type[Model], column: str) -> str:
    """The loose index scan of `model`'s `column` (PostgreSQL only)."""
    return LOOSE_INDEX_SCAN_SQL.format(table=model._meta.db_table, column=column)


def distinct_values(model: type[Model], column: str) -> list:
    """The distinct values of `model`'s indexed `column`, in order: on PostgreSQL by a
    loose index scan; elsewhere (the SQLite demo) by SELECT DISTINCT."""
    if connection.vendor != "postgresql":
        return list(model.objects.order_by(column).values_list(column, flat=True).distinct())
    with connection.cursor() as cursor:
        cursor.execute(loose_index_scan_sql(model, column))
        return [row[0] for row in cursor.fetchall()]
