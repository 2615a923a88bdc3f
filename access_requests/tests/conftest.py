"""Real failures and delays for the grant tests: PostgreSQL triggers and a broker with no
worker, instead of patching the portal's own functions."""

import pytest
from django.db import connection


class Triggers:
    """Triggers a test creates on PostgreSQL tables; `lift()` drops them, and so does the
    end of the test (a test that commits would otherwise leave them for the next)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.made: list[tuple[str, str]] = []  # (trigger and function name, table)

    def create(self, model, *, body: str, when: str, each: str, where: str | None = None) -> None:
        name = f"{self.prefix}_{len(self.made)}"
        table = model._meta.db_table
        condition = f" WHEN ({where})" if where else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN {body} "
                "RETURN NULL; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER {name} {when} ON {table} FOR EACH {each}{condition} "  # noqa: S608 - the model's table
                f"EXECUTE FUNCTION {name}()"
            )
        self.made.append((name, table))

    def lift(self) -> None:
        with connection.cursor() as cursor:
            for name, table in self.made:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
        self.made = []


class InsertRefusal(Triggers):
    def __call__(self, model, *, where: str | None = None) -> None:
        self.create(
            model,
            body="RAISE EXCEPTION 'refused by the test';",
            when="BEFORE INSERT",
            each="ROW" if where else "STATEMENT",
            where=where,
        )


class InsertDelay(Triggers):
    def __call__(self, model, *, seconds: float) -> None:
        self.create(
            model,
            body=f"PERFORM pg_sleep({float(seconds)});",
            when="AFTER INSERT",
            each="STATEMENT",
        )


@pytest.fixture
def refuse_inserts():
    """`refuse_inserts(Model, where=...)` makes PostgreSQL refuse each INSERT into the model's
    table (or only the rows matching `where`, a condition on NEW): the statement fails there,
    as a crash at that point would, and its transaction rolls back.
    `refuse_inserts.lift()` takes the refusal away."""
    refusal = InsertRefusal("test_refuse_insert")
    yield refusal
    refusal.lift()


@pytest.fixture
def slow_inserts():
    """`slow_inserts(Model, seconds=...)` makes each INSERT statement into the model's table
    take that long longer in PostgreSQL, widening the window in which two sweeps overlap."""
    delay = InsertDelay("test_slow_insert")
    yield delay
    delay.lift()


@pytest.fixture
def no_worker_running():
    """Tasks are published to the broker (as in production) and no worker takes them: an
    email committed to the outbox stays unsent until the outbox sweep sends it, as when
    the worker dies after the commit. (With no broker answering, the email waits for the
    sweep the same way.) Yields the messages published, as (task name, args); the queue is
    emptied afterwards."""
    from celery.signals import before_task_publish

    from portal.celery import app

    published = []

    def seen(sender=None, body=None, **kwargs):
        published.append((sender, body[0]))

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    before_task_publish.connect(seen, weak=False)
    try:
        yield published
    finally:
        before_task_publish.disconnect(seen)
        app.conf.task_always_eager = eager
        if published:
            app.control.purge()
