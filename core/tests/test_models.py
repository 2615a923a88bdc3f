import pytest
from django.apps import apps
from django.db import connection

from core.models import column_fields, primary_key_field


@pytest.mark.django_db
def test_column_fields_are_the_columns_of_each_models_table():
    with connection.cursor() as cursor:
        for model in apps.get_models():
            meta = model._meta
            if not meta.managed or meta.proxy:
                continue
            table = connection.introspection.get_table_description(cursor, meta.db_table)
            columns = {column.name for column in table}
            assert {field.column for field in column_fields(model)} == columns, meta.label
            primary_key = connection.introspection.get_primary_key_column(cursor, meta.db_table)
            assert primary_key_field(model).column == primary_key, meta.label
