"""Under pytest-xdist, each worker's test database is a copy of one migrated database.

Migrating a test database costs ~6 s of CPU (Django's migration graph and model states in
Python, then PostgreSQL), and each xdist worker used to pay it. Here the first worker to
need a database migrates `test_<name>_template` while the others wait on a file lock
in the run's shared temporary folder; each then copies it with `CREATE DATABASE … TEMPLATE`
(~0.1 s of PostgreSQL's CPU for the ~12 MB it holds). The copy is the same database
migrations make, under the name pytest-django gives the worker (`test_<name>_gw0`…). The
xdist controller drops the template when the run ends (`drop_template`, the root conftest).
"""

import fcntl
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connections

LOCK = "test-database-template.lock"
READY = "test-database-template.ready"


def template_name(test_name: str, worker: str = "") -> str:
    return f"{test_name.removesuffix(f'_{worker}') if worker else test_name}_template"


@contextmanager
def _locked(path: Path):
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # let go when the file closes
        yield


def _point_at(connection, name: str) -> None:
    connection.close()
    settings.DATABASES[connection.alias]["NAME"] = name
    connection.settings_dict["NAME"] = name


def create_from_template(shared: Path, worker: str) -> str:
    """Make this worker's test database a copy of the run's migrated template (migrating
    the template first if no worker has), and point the default connection at it. Returns
    the database name to restore when the test database is destroyed."""
    connection = connections["default"]
    creation = connection.creation
    test_name = creation._get_test_db_name()
    template = template_name(test_name, worker)
    original = connection.settings_dict["NAME"]
    quote = connection.ops.quote_name
    with _locked(shared / LOCK):
        if not (shared / READY).exists():
            test_settings = connection.settings_dict["TEST"]
            test_settings["NAME"] = template
            try:
                creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            finally:
                test_settings["NAME"] = test_name
                _point_at(connection, original)
            (shared / READY).write_text(template)
        with creation._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quote(test_name)}")
            cursor.execute(f"CREATE DATABASE {quote(test_name)} TEMPLATE {quote(template)}")
    _point_at(connection, test_name)
    return original


def destroy_copy(original: str) -> None:
    """Drop this worker's copy and point the default connection back at `original`. FORCE
    ends any session a test left open on it (a thread's or a child process's connection),
    which would otherwise fail the run's last teardown with "being accessed by other users"."""
    connection = connections["default"]
    name = connection.settings_dict["NAME"]
    connection.close()
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)} WITH (FORCE)")
    _point_at(connection, original)


def drop_template(database: dict) -> None:
    """Drop the run's template database (the xdist controller, once the workers are done)."""
    import psycopg2
    from psycopg2 import sql

    test_name = database.get("TEST", {}).get("NAME") or f"test_{database['NAME']}"
    connection = psycopg2.connect(
        dbname="postgres",
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
    )
    try:
        connection.autocommit = True  # DROP DATABASE runs outside a transaction
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(template_name(test_name))
                )
            )
    finally:
        connection.close()
