"""Trigram indexes (PostgreSQL only) for searching people by part of their name or email:
the oversight register's holder search runs `UPPER(col) LIKE '%…%'` over every member of
staff. Skipped on SQLite (the demo database), where the search simply scans."""

from django.db import migrations

TRIGRAM_INDEXES = [
    ("user_email_trgm_idx", "people_user", "email"),
    ("profile_name_trgm_idx", "people_staffprofile", "commonly_used_name"),
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
        ("people", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
