"""Sending many rows to PostgreSQL as one array per column.

A sweep's batch writes thousands of rows in one INSERT. Written as `VALUES (%s, …), …`,
every value is a literal of its own that psycopg2 quotes and PostgreSQL parses and coerces
one by one, and for a batch of 1,500 emails that cost more than writing the rows. Sent as
one array literal per column and read back with `unnest`, each column is one parameter and
one parse (`array_in`): about a quarter less CPU in the database and half in Python
(docs/performance.md, "Sweeps under 30 s").
"""

import datetime
from collections.abc import Iterable, Sequence

from django.db.models import Field


def array_literal(values: Iterable) -> str:
    """`values` as the text of a PostgreSQL array (`{"a","b",NULL}`), for one parameter cast
    to the column's array type. Each value is written as its column's input reads it: text
    as it is, a date or time by `isoformat`, None as NULL; everything else by `str`. Every
    element but an integer is quoted, so a text that reads `NULL` stays a text. (One loop,
    no call per element: a batch of emails writes thousands of elements.)"""
    texts = []
    append = texts.append
    for value in values:
        if value is None:
            append("NULL")
        elif value.__class__ is str:
            append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif value.__class__ is int:
            append(str(value))
        else:
            append(_quoted(value))
    return "{" + ",".join(texts) + "}"


def _quoted(value) -> str:
    if isinstance(value, datetime.date):  # datetimes too
        value = value.isoformat()
    elif not isinstance(value, str):
        value = str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unnest_of(columns: Sequence[tuple[str, str]], connection, alias: str = "v") -> str:
    """`unnest(%s::<type>[], …) AS alias (<name>, …)` for `columns`, (name, SQL type) pairs:
    the rows whose columns are the arrays given, one parameter per column in this order
    (`array_literal`). The rows come out in the arrays' order, as the rows of a `VALUES`
    list do, so an INSERT from them gives ids (and RETURNING answers) in that order."""
    quote = connection.ops.quote_name
    arrays = ", ".join(f"%s::{sql_type}[]" for _, sql_type in columns)
    names = ", ".join(quote(name) for name, _ in columns)
    return f"unnest({arrays}) AS {alias} ({names})"


def column_types(fields: Iterable[Field], connection) -> list[tuple[str, str]]:
    """Each field's column and its type, for `unnest_of`."""
    return [(field.column, field.db_type(connection)) for field in fields]
