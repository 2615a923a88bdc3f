"""Rows into PostgreSQL with `COPY` from in-memory buffers, and the table upkeep around it."""

import datetime
import io
import json
from collections.abc import Iterable

from django.core.management.base import CommandError
from django.db import DatabaseError, connection, models, transaction
from django.db.models.fields import NOT_PROVIDED
from tqdm import tqdm

NULL = "\\N"  # COPY text format


def copy_text(value) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"))
    value = str(value)
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "")
        )
    return value


class CopyTable:
    """COPY rows into a model's table. Rows give `columns` in order; any other column of
    the model (a field added later) gets its default, or the load stops with a clear error."""

    def __init__(self, model: type[models.Model], columns: list[str], chunk_rows: int = 50_000):
        self.model = model
        self.table = model._meta.db_table
        fields = {f.column: f for f in model._meta.concrete_fields}
        unknown = [c for c in columns if c not in fields]
        if unknown:
            raise CommandError(f"{self.table} has no column(s) {unknown}")
        suffix = []
        # Columns the rows leave out: an id fills itself from its sequence, others default.
        extra = [
            c
            for c in fields
            if c not in columns
            and not isinstance(fields[c], models.AutoField | models.BigAutoField)
        ]
        for column in extra:
            field = fields[column]
            if field.default is not NOT_PROVIDED:
                default = field.get_default()
            elif field.null:
                default = None
            elif isinstance(field, models.CharField | models.TextField) and field.blank:
                default = ""
            else:
                raise CommandError(
                    f"load_bench_data does not know how to fill {self.table}.{column}: "
                    "give it a value in the bench/data/ module that loads it"
                )
            suffix.append(copy_text(default))
        self.columns = columns + extra
        self.suffix = "".join("\t" + text for text in suffix)
        self.chunk_rows = chunk_rows
        self.lines: list[str] = []
        self.count = 0

    def add(self, values: Iterable) -> None:
        self.add_line("\t".join(copy_text(v) for v in values))

    def add_line(self, line: str) -> None:
        """A line already in COPY text format (for the hot loops)."""
        self.lines.append(line + self.suffix + "\n")
        if len(self.lines) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        buffer = io.StringIO("".join(self.lines))
        columns = ", ".join(f'"{c}"' for c in self.columns)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f'COPY "{self.table}" ({columns}) FROM STDIN', buffer)
        self.count += len(self.lines)
        self.lines = []


def next_id(model: type[models.Model]) -> int:
    """The first free id: the load continues after rows that are already there."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{model._meta.db_table}"')  # noqa: S608 - table names from the models, never input
        return cursor.fetchone()[0] + 1


def reset_sequence(model: type[models.Model]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608 - table names from the models, never input
            f'COALESCE((SELECT MAX(id) FROM "{table}"), 1))'
        )


def secondary_indexes_drop(models_: list[type[models.Model]]) -> list[str]:
    """Drop the indexes that back no constraint (COPY then skips their upkeep); returns the
    statements that build them again, which is much faster than row-by-row upkeep."""
    definitions = []
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = %s::regclass AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
                [f'"{model._meta.db_table}"'],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')
                definitions.append(definition)
    return definitions


def indexes_build(definitions: list[str], progress: bool) -> None:
    with connection.cursor() as cursor:
        # Pending (deferred) foreign key checks must run before an index is built.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in tqdm(definitions, desc="indexes", unit="index", disable=not progress):
            cursor.execute(definition)


def foreign_key_triggers_skip() -> None:
    """The generated rows refer only to rows generated before them: skip PostgreSQL's
    per-row foreign key triggers for this transaction when the role may (superuser)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        pass
