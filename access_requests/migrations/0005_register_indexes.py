"""Indexes for the oversight register at department scale.

- `grant_current_end_idx`: the register's default page (current grants by end date) reads
  this partial index in order instead of skipping every expired grant in `grant_end_idx`.
- `case_reference_trgm_idx` (PostgreSQL only): a trigram index so that searching part of a
  case reference (`UPPER(reference) LIKE '%…%'`) does not scan every case.
"""

from django.db import migrations, models

TRIGRAM_INDEXES = [
    ("case_reference_trgm_idx", "access_requests_businesscase", "reference"),
]


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("access_requests", "0004_reference_counter"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="accessgrant",
            index=models.Index(
                condition=models.Q(status__in=["awaiting", "active"]),
                fields=["end_date", "id"],
                name="grant_current_end_idx",
            ),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
