"""Project-wide test fixtures: PostgreSQL only, Debian's Chromium, a real Celery worker."""

import gc
import os
import shutil
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

# live_server + Playwright's sync API run Django code inside an event loop (tests only).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Debian's headless shell (package chromium-headless-shell, the same Chromium without the
# browser's own UI layer) costs about a fifth less CPU per page than the full browser in its
# headless mode (docs/testing.md); the full browser is the fallback where it is missing.
CHROMIUM = (
    shutil.which("chromium-headless-shell") or shutil.which("chromium") or "/usr/bin/chromium"
)
ROOT = Path(__file__).resolve().parent
REDIS_DATABASES = 16  # Redis's default number of databases (0–15)


def _broker_of_this_xdist_worker() -> None:
    """Under pytest-xdist (`make test` runs `-n`), each worker gets its own Redis database:
    the base one in CELERY_BROKER_URL plus the worker's number (gw0 → base, gw1 → base + 1…),
    so one worker's `app.control.purge()`, queues, results and rate counters never meet
    another's. pytest-django gives each worker its own PostgreSQL database the same way
    (`test_<name>_gw0`…). Django's settings are loaded before this file, so the settings,
    the environment (which the workers a test starts inherit) and the Celery app are all
    pointed at it here, before any test runs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not worker.startswith("gw") or not url.startswith("redis://"):
        return
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    db = base + int(worker.removeprefix("gw"))
    if db >= REDIS_DATABASES:
        pytest.exit(
            f"xdist worker {worker} would use Redis database {db} (base {base} in "
            f"CELERY_BROKER_URL): use fewer workers (-n) or a lower base database.",
            returncode=4,
        )
    mine = urlunsplit(parts._replace(path=f"/{db}"))
    from portal.celery import app

    os.environ["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL = mine
    app.conf.broker_url = mine
    # The result backend follows the broker unless set on its own (settings.py's rule); a
    # worker a test starts derives it from its CELERY_BROKER_URL the same way.
    if "CELERY_RESULT_BACKEND" not in os.environ:
        settings.CELERY_RESULT_BACKEND = app.conf.result_backend = mine


_broker_of_this_xdist_worker()


@pytest.fixture(scope="session", autouse=True)
def _tests_run_on_postgresql():
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.exit(
            "The tests run on PostgreSQL: set DATABASE_URL (make test does), not SQLite.",
            returncode=3,
        )


# The audit trail's TRUNCATE triggers (audit migration 0007) stay off in the test database:
# pytest-django empties the tables between transactional tests with TRUNCATE. The tests of
# the trail switch them on again inside their own transaction (audit/tests).
AUDIT_TRUNCATE_TRIGGERS = (
    ("audit_auditevent", "audit_event_no_truncate"),
    ("audit_auditchainhead", "audit_chain_head_no_truncate"),
)


def _serialized_rollback_wanted(items) -> bool:
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (marker and marker.kwargs.get("serialized_rollback")) or (
            "django_db_serialized_rollback" in getattr(item, "fixturenames", ())
        ):
            return True
    return False


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_use_migrations,
    django_db_keepdb,
    django_db_modify_db_settings,
    tmp_path_factory,
):
    """The test database: pytest-django's, except that an xdist worker's is a copy of one
    migrated database (tests/database_template.py); then the audit trail's TRUNCATE
    triggers off, and the flush after a transactional test made cheap."""
    from django.db import connection
    from django.test import TransactionTestCase

    from tests.database_cleanup import empty_database, remember_fresh_state
    from tests.database_template import create_from_template, destroy_copy

    worker = getattr(request.config, "workerinput", {}).get("workerid")
    copied = (
        worker
        and django_db_use_migrations
        and not django_db_keepdb
        and list(settings.DATABASES) == ["default"]
        and not _serialized_rollback_wanted(request.session.items)
    )
    with django_db_blocker.unblock():
        if copied:
            original_name = create_from_template(tmp_path_factory.getbasetemp().parent, worker)
        else:
            request.getfixturevalue("django_db_setup")  # pytest-django's own
        with connection.cursor() as cursor:
            for table, trigger in AUDIT_TRUNCATE_TRIGGERS:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        remember_fresh_state()

    def fixture_teardown(test_case):
        # Django's flush after a transactional test, to the same end for a fraction of its
        # cost (tests/database_cleanup.py); the rarer variants keep Django's own.
        if test_case.available_apps is not None or test_case.serialized_rollback:
            return django_fixture_teardown(test_case)
        for alias in test_case._databases_names(include_mirrors=False):
            empty_database(alias)

    django_fixture_teardown = TransactionTestCase._fixture_teardown
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", fixture_teardown)
        yield

    if copied:
        with django_db_blocker.unblock():
            destroy_copy(original_name)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(items):
    # Groups before xdist's own hook reads them; the longest tests first after
    # pytest-django's ordering (tests/scheduling.py).
    from tests.scheduling import group_by_costly_fixture, longest_first, spread_waiting

    group_by_costly_fixture(items)
    yield
    longest_first(items)
    spread_waiting(items)


# A test process allocates far more than a web request: Django's and the tests' objects stay
# alive for the whole run, and every full collection walks them all. With the young
# generation collected every 10,000 allocations instead of Python's 700, the suite's
# collector runs about a tenth as often (docs/testing.md: 9-10 % of a worker's CPU before,
# about half of that after); what is garbage is still collected.
GC_THRESHOLDS = (10_000, 10, 10)


def pytest_configure(config):
    gc.set_threshold(*GC_THRESHOLDS)


def pytest_sessionfinish(session):
    # The xdist controller drops the template its workers' databases were copied from.
    if getattr(session.config, "workerinput", None) is None and getattr(
        session.config.option, "numprocesses", None
    ):
        from tests.database_template import drop_template

        drop_template(settings.DATABASES["default"])


# pytest-django's query-count fixtures, counting a page's own queries (tests/query_counts.py).
@pytest.fixture
def django_assert_num_queries():
    from tests.query_counts import assert_num_queries

    return partial(assert_num_queries, exact=True)


@pytest.fixture
def django_assert_max_num_queries():
    from tests.query_counts import assert_num_queries

    return partial(assert_num_queries, exact=False)


@pytest.fixture(autouse=True)
def _audit_checkpoints_in_tmp_path(settings, tmp_path):
    # Each test's checkpoints are its own, never the demo's in var/.
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"


@pytest.fixture(autouse=True)
def _empty_cache():
    # Pages cache drawn fragments briefly (the register's filter form); no test sees another's.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Factories hash a password per user; the production hasher would dominate test time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _outbox_mail_is_captured(settings):
    # The test email backend (locmem), whatever the environment says.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_BASE_URL = "http://testserver"


@pytest.fixture(autouse=True)
def _celery_runs_tasks_in_process_unless_a_worker_is_started(request):
    """Tasks run eagerly in the test process (the real task code, no broker), except in
    tests that start a real worker: there they go through Redis."""
    from portal.celery import app

    eager = "celery_worker_process" not in request.fixturenames
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = eager
    app.conf.task_eager_propagates = eager
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            # Compositing (software: no GPU) in a thread of the browser process rather than
            # a GPU process of its own: no frame crosses a process boundary, 12–18 % less
            # Chromium CPU for a page tabbed through (docs/testing.md).
            "--in-process-gpu",
        ],
    }


NOTIFY_CALLBACK_TOKEN_FOR_TESTS = "notify-callback-token-for-tests-0123456789"  # noqa: S105


@pytest.fixture
def notify(settings):
    """Email goes through GOV.UK Notify's client to a stand-in for Notify's API on loopback
    (`tests/notify_stand_in.py`), which checks the client's token as Notify does; the
    callback takes `NOTIFY_CALLBACK_TOKEN_FOR_TESTS`. Yields the stand-in."""
    from tests.notify_stand_in import NotifyStandIn

    with NotifyStandIn() as stand_in:
        settings.NOTIFY_API_KEY = stand_in.api_key
        settings.NOTIFY_EMAIL_TEMPLATE_ID = stand_in.template_id
        settings.NOTIFY_BASE_URL = stand_in.base_url
        settings.NOTIFY_CALLBACK_TOKEN = NOTIFY_CALLBACK_TOKEN_FOR_TESTS
        yield stand_in


@pytest.fixture
def outbox_sends_later(settings):
    """Committed emails are not queued for sending (the outbox sweep would send them): for
    tests that run services in several threads, where eager Celery races on its
    process-global "join will block" flag, and that check the outbox rows themselves."""
    settings.SNS_SEND_EMAIL_ON_COMMIT = False


@pytest.fixture
def refuse_updates():
    """`refuse_updates(Model, pk)` makes PostgreSQL refuse every UPDATE of that one row (a
    trigger standing in for a damaged row), so a test can see a batch fail and its items
    retried one by one; `refuse_updates.lift()` takes the trigger away again."""
    from django.db import connection

    class Refusal:
        table = None

        def __call__(self, model, pk: int) -> None:
            self.table = model._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE FUNCTION test_refuse_one() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'damaged row'; END; $$ LANGUAGE plpgsql"
                )
                cursor.execute(
                    f"CREATE TRIGGER test_refuse_one BEFORE UPDATE ON {self.table} "  # noqa: S608 - the model's table name
                    f"FOR EACH ROW WHEN (OLD.id = {int(pk)}) EXECUTE FUNCTION test_refuse_one()"
                )

        def lift(self) -> None:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TRIGGER test_refuse_one ON {self.table}")

    return Refusal()


@pytest.fixture
def sign_in(client):
    """Sign a user in through the test client and return the client."""

    def _sign_in(user):
        client.force_login(user)
        return client

    return _sign_in


def browser_sign_in(page, live_server, user, password="pass-word-123"):
    """Sign in through the real sign-in page in Chromium."""
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def worker_env(tmp_path: Path) -> dict:
    """The environment of a worker a test starts: the test database, the test's broker, and
    the demo outbox folder in `tmp_path`."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db.get("PASSWORD"):
        url = url.replace(f"{db['USER']}@", f"{db['USER']}:{db['PASSWORD']}@")
    env = {
        **os.environ,
        "DATABASE_URL": url,  # the test database pytest-django created
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "DEBUG": "1",
        "PORTAL_VAR_DIR": str(tmp_path),  # demo outbox folder: mail lands in tmp_path
        "PORTAL_BASE_URL": "http://testserver",
        "EMAIL_HOST": "",
        "SNS_SWEEP_INTERVAL_SECONDS": "2",  # beat runs every sweep every 2 seconds
    }
    return env


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real Celery worker (with beat) on Redis, using the test database.

    Yields a helper with `mail_folder`; stops the worker at the end of the test.
    """
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        pytest.fail("Worker tests need CELERY_BROKER_URL=redis://… (make test sets it)")
    from portal.celery import app

    app.control.purge()
    pidfile = tmp_path / "worker.pid"
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-B",
            "--pool=solo",
            "--loglevel=INFO",
            f"--pidfile={pidfile}",
            # A test's worker is alone on its Redis database: mingle's second of asking for
            # neighbours at start-up, and gossip and heartbeats to other workers, serve nothing.
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=worker_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    class Worker:
        pid = process.pid
        mail_folder = tmp_path / "sent-emails"
        log_path = tmp_path / "worker.log"

        @staticmethod
        def wait_for(predicate, timeout=30.0, interval=0.25):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if predicate():
                    return True
                if process.poll() is not None:
                    raise AssertionError("The worker stopped:\n" + Worker.log_path.read_text())
                time.sleep(interval)
            return False

    try:
        yield Worker
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
