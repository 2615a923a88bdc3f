"""A column sent as one array literal reads back in PostgreSQL as the values given, in their
order, whatever characters they hold."""

import datetime
import json

import pytest
from django.db import connection

from core.arrays import array_literal, unnest_of

AWKWARD_TEXTS = [
    "plain",
    "",
    'a "quoted" word',
    'back\\slash and \\" both',
    "{braces}, commas, and spaces ",
    "NULL",
    "null",
    "Zoë — ünïcode ✓",
    "new\nline\ttab",
]


def _read_back(sql_type: str, values: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.x FROM {unnest_of([('x', sql_type)], connection)}",  # noqa: S608 - a test's own names
            [array_literal(values)],
        )
        return [value for (value,) in cursor.fetchall()]


@pytest.mark.django_db
def test_texts_come_back_as_they_were_sent_and_none_as_null():
    values = [*AWKWARD_TEXTS, None]
    assert _read_back("text", values) == values


@pytest.mark.django_db
def test_numbers_dates_times_and_booleans_come_back_as_their_columns_read_them():
    moment = datetime.datetime(2026, 12, 6, 3, 4, 5, 678901, tzinfo=datetime.UTC)
    assert _read_back("bigint", [1, None, 2**40]) == [1, None, 2**40]
    assert _read_back("date", [datetime.date(2026, 7, 21)]) == [datetime.date(2026, 7, 21)]
    assert _read_back("timestamp with time zone", [moment]) == [moment]
    assert _read_back("boolean", [True, False]) == [True, False]
    # A raw cursor hands jsonb back as its text.
    (stored,) = _read_back("jsonb", ['{"a": [1, "x\\"y"]}'])
    assert json.loads(stored) == {"a": [1, 'x"y']}


COLUMNS = [("n", "integer"), ("word", "text")]


@pytest.mark.django_db
def test_several_arrays_unnest_side_by_side_in_their_order():
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.n, v.word FROM {unnest_of(COLUMNS, connection)}",  # noqa: S608 - a test's own names
            [array_literal(range(200)), array_literal(f"w{n}" for n in range(200))],
        )
        assert cursor.fetchall() == [(n, f"w{n}") for n in range(200)]
