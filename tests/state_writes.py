"""Whether the test's transaction has written to a business table since a moment: PostgreSQL's
own counters of the rows this transaction inserted, updated and deleted in each table
(`pg_stat_get_xact_tuples_*`, the figures behind `pg_stat_xact_user_tables`). They count rows
written in a savepoint that was rolled back too, so they only grow: equal counts mean nothing
was written. One cheap query, where `portal_map.state_fingerprint()` reads every row of every
business table, so a test taking thousands of looks takes the fingerprint only when the
counters moved."""

import functools

from django.apps import apps
from django.db import connection

from tests.portal_map import STATE_APPS


@functools.cache  # the models are the process's: read once, not twice for every example
def state_tables() -> tuple[str, ...]:
    """The tables `state_fingerprint()` reads: the business apps' own models."""
    return tuple(
        model._meta.db_table
        for model in apps.get_models()
        if model._meta.app_label in STATE_APPS and not model._meta.proxy and model._meta.managed
    )


def rows_written() -> tuple[int, ...]:
    """Per business table, the rows this transaction has inserted, updated or deleted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_inserted(t) + pg_stat_get_xact_tuples_updated(t)"
            " + pg_stat_get_xact_tuples_deleted(t)"
            " FROM unnest(%s::text[]::regclass[]) WITH ORDINALITY AS tables(t, n) ORDER BY n",
            [list(state_tables())],
        )
        return tuple(written for (written,) in cursor.fetchall())


class StateWatch:
    """The business state from one look to the next, read again only when PostgreSQL's
    counters say this transaction wrote to a business table since the last look: the same
    answer as reading it before and after each request, for one cheap query where nothing
    was written. `read` is `state_snapshot` (field-by-field differences) or
    `state_fingerprint`, with the matching `differences`."""

    def __init__(self, read, differences):
        self.read, self.differences = read, differences
        self.state, self.written = read(), rows_written()

    def changes(self) -> list[str]:
        """What changed in the business tables since the last look (or the watch began)."""
        written = rows_written()
        if written == self.written:
            return []
        state = self.read()
        changed = self.differences(self.state, state)
        self.state, self.written = state, written
        return changed
