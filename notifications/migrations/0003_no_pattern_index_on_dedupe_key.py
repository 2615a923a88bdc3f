"""The outbox's dedupe key is looked up by equality only (ON CONFLICT, the unique index):
the `varchar_pattern_ops` index Django adds beside it only cost each email written a
second index entry (a sweep writes thousands)."""

from django.db import migrations

def _like_index_op(app_label: str, model_name: str, field_name: str):
    """Drop the `varchar_pattern_ops` index Django adds on PostgreSQL for a unique
    CharField: this column is only ever looked up by equality (the unique index serves
    that), so the second index only costs every INSERT and UPDATE a write."""

    def like_index(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        field = model._meta.get_field(field_name)
        name = schema_editor._create_index_name(model._meta.db_table, [field.column], "_like")
        return model, field, name

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        _, _, name = like_index(apps, schema_editor)
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        model, field, _ = like_index(apps, schema_editor)
        schema_editor.execute(schema_editor._create_like_index_sql(model, field))

    return migrations.RunPython(forwards, backwards, elidable=False)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_outbox_context_rendered_when_sent"),
    ]

    operations = [
        _like_index_op("notifications", "OutboundEmail", "dedupe_key"),
    ]
