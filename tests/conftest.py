"""Fixtures shared by the security, resilience and accessibility suites."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings

PROBE_TEMPLATES = Path(__file__).resolve().parent / "security" / "templates"


@pytest.fixture
def probe_templates(settings):
    """A test-only email template, `scanner_probe` (context: name, links), beside the portal's."""
    templates = [dict(t) for t in django_settings.TEMPLATES]
    templates[0]["DIRS"] = [*templates[0]["DIRS"], PROBE_TEMPLATES]
    settings.TEMPLATES = templates


@pytest.fixture(scope="session", autouse=True)
def _walks_shared_between_workers(request, tmp_path_factory):
    """Under pytest-xdist, what one worker's walk of a role's pages found is read by the
    others (`tests/walk_map.py`), from the run's shared temporary folder."""
    if getattr(request.config, "workerinput", None) is not None:
        from tests import walk_map

        walk_map.share_between_workers_in(tmp_path_factory.getbasetemp().parent / "walk-map")


class Broker:
    """Points the Celery app at a closed port (Redis "stopped") and back."""

    CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    def __init__(self, app, settings):
        self.app = app
        self.settings = settings
        self.saved_setting = settings.CELERY_BROKER_URL
        self.saved = (app.conf.broker_url, app.conf.broker_write_url, app.conf.task_always_eager)
        self.saved_read = app.conf.get("broker_read_url")

    def _point_at(self, url):
        self.app.conf.broker_url = url
        self.app.conf.broker_write_url = url
        # Reads (`connection_for_read`: the queue /metrics counts) by their own setting, which
        # Celery otherwise takes from CELERY_BROKER_URL in the environment, not broker_url.
        self.app.conf.broker_read_url = url
        # Connections are pooled, each pool made for the broker URL of its day: drop them.
        # Celery has no public call that re-points a running app's pools (`app.close()`
        # also unregisters the app), so its two pool attributes are reset here, in one place.
        self.app._pool = None
        self.app.amqp._producer_pool = None

    def stop(self):
        self.app.conf.task_always_eager = False  # publish for real, as production does
        self._point_at(self.CLOSED)
        self.settings.CELERY_BROKER_URL = self.CLOSED  # what /healthz checks

    def start(self):
        self._point_at(self.saved[0])
        self.app.conf.broker_write_url = self.saved[1]
        self.app.conf.broker_read_url = self.saved_read
        self.app.conf.task_always_eager = self.saved[2]
        self.settings.CELERY_BROKER_URL = self.saved_setting


@pytest.fixture
def broker(settings):
    from portal.celery import app

    control = Broker(app, settings)
    try:
        yield control
    finally:
        control.start()


@pytest.fixture(scope="module")
def streaming_replica(django_db_setup, django_db_blocker):
    """A real streaming replica of the test database (`core/streaming_replica.py`), one
    per test module that reads through it (its tests run on one worker under pytest-xdist:
    tests/scheduling.py), removed when the module's tests are done, also on failure. Its
    base backup is taken after the test database exists. Not kept for the rest of the run:
    a running standby replays all the cluster's WAL and holds a slot on the primary (about
    5 s of CPU a minute for the standby and its WAL sender on a busy cluster,
    docs/testing.md)."""
    from django.db import connection

    from core.streaming_replica import StreamingReplica

    primary = connection.settings_dict
    replica = StreamingReplica(
        host=primary["HOST"] or "127.0.0.1",
        port=int(primary["PORT"] or 5432),
        user=primary["USER"] or "postgres",
        database=primary["NAME"],
    )
    try:
        replica.start()
        print(f"\nstreaming replica started in {replica.started_in_seconds:.1f} s")  # noqa: T201
        yield replica
    finally:
        replica.remove()


@pytest.fixture(scope="module")
def replica_database_alias(streaming_replica):
    """The `replica` database alias pointing at the streaming replica, as
    `DATABASE_REPLICA_URL` would make it, for one test module. Module-wide, because
    pytest-django checks a test's `databases` against the aliases when it sets the test up:
    the module's tests say `django_db(transaction=True, databases=["default", "replica"])`
    (their rows must be committed to reach the replica). As a test mirror of `default`, the
    alias is never flushed; every other module runs without it."""
    from django.db import connections

    from core.replica import REPLICA, replica_status

    configured = connections.configure_settings(
        {
            "default": dict(connections.settings["default"]),
            REPLICA: {**streaming_replica.settings_dict(), "TEST": {"MIRROR": "default"}},
        }
    )
    connections.settings[REPLICA] = configured[REPLICA]
    try:
        yield streaming_replica
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]
        replica_status(fresh=True)


@pytest.fixture
def replica_alias(replica_database_alias):
    """The streaming replica behind the `replica` alias, running, replaying and caught up
    when a test starts and again when it ends."""
    from core.replica import replica_status

    replica = replica_database_alias
    replica.resume_replay()
    replica.wait_for_replay()
    replica_status(fresh=True)
    try:
        yield replica
    finally:
        if not (replica.data / "postmaster.pid").exists():
            replica.start_again()
        replica.resume_replay()
        replica.wait_for_replay()
        replica_status(fresh=True)
