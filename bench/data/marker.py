"""The marker table (`bench_dataset`): which scale the database holds, so that a second
load at the same scale does nothing and `make bench` knows whether to load."""

import json

from django.db import connection

MARKER_TABLE = "bench_dataset"


def marker_read() -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT scale, counts FROM {MARKER_TABLE} ORDER BY loaded_at DESC LIMIT 1")  # noqa: S608 - table names from the models, never input
        row = cursor.fetchone()
    if row is None:
        return None
    counts = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    return {"scale": float(row[0]), "counts": counts}


def marker_clear() -> None:
    """Creates the marker table if it is missing and empties it (a load is under way)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} "
            "(scale numeric NOT NULL, counts jsonb NOT NULL, "
            "loaded_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor.execute(f"DELETE FROM {MARKER_TABLE}")  # noqa: S608 - table names from the models, never input


def marker_write(scale: float, counts: dict) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (scale, counts) VALUES (%s, %s)",  # noqa: S608 - table names from the models, never input
            [scale, json.dumps(counts)],
        )
