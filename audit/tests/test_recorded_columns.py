"""The chain and the pending table hold the same recorded columns: the sequencer copies a
pending row into the chain column for column, so a column that differs between them (a
length, a type, NULL allowed in one only) would fail or truncate events as they are
chained."""

import pytest
from django.db import connection

from audit.models import RECORDED_COLUMNS, AuditEvent, AuditPendingEvent, RecordedEvent


def test_the_recorded_columns_are_declared_once_for_both_tables():
    assert [f.attname for f in RecordedEvent._meta.local_fields] == list(RECORDED_COLUMNS)
    assert issubclass(AuditEvent, RecordedEvent)
    assert issubclass(AuditPendingEvent, RecordedEvent)


def _columns(model) -> dict:
    with connection.cursor() as cursor:
        described = connection.introspection.get_table_description(cursor, model._meta.db_table)
    return {
        column.name: (column.type_code, column.internal_size, column.null_ok)
        for column in described
    }


@pytest.mark.django_db
def test_both_tables_hold_each_recorded_column_alike():
    chain, pending = _columns(AuditEvent), _columns(AuditPendingEvent)
    for name in RECORDED_COLUMNS:
        assert chain[name] == pending[name], name
