"""The loader writes only to the benchmark's database (bench/data/guard.py)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.models import AuditEvent
from audit.services import record
from bench.data.guard import database_is_the_benchmarks
from people.models import User
from people.tests.factories import UserFactory


@pytest.fixture
def staff_records_database(db, monkeypatch):
    """The connection's settings name a database that is not the benchmark's, while the
    connection stays open on the test database: a loader that ignored its guard would
    empty the tables that the test then counts."""
    monkeypatch.setitem(connection.settings_dict, "NAME", "sns_staff_records")


@pytest.mark.parametrize(
    ("name", "is_the_benchmarks"),
    [
        ("sns_bench", True),
        ("sns_bench_small", True),
        ("test_sns_portal", True),
        ("sns_portal", False),
        ("sns_benchmark", False),
        ("portal", False),
    ],
)
def test_which_databases_are_the_benchmarks(name, is_the_benchmarks):
    assert database_is_the_benchmarks(name) is is_the_benchmarks


def test_reset_refuses_a_database_that_is_not_the_benchmarks(staff_records_database):
    person = UserFactory()
    record(actor=person, action="auth.signed_in", obj=person)
    events = AuditEvent.objects.count()

    with pytest.raises(CommandError) as refused:
        call_command("load_bench_data", scale=0.001, reset=True, verbosity=0, stdout=StringIO())

    message = str(refused.value)
    assert "'sns_staff_records'" in message
    assert "sns_bench" in message
    assert "--this-is-a-benchmark-database" in message
    assert AuditEvent.objects.count() == events
    assert list(User.objects.all()) == [person]
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_dataset')")
        assert cursor.fetchone()[0] is None  # not even the marker table was made


def test_the_operator_may_vouch_for_a_database(staff_records_database):
    UserFactory()
    # Past the guard, the loader still refuses a database holding people without --reset.
    with pytest.raises(CommandError, match="--reset"):
        call_command(
            "load_bench_data",
            scale=0.001,
            this_is_a_benchmark_database=True,
            verbosity=0,
            stdout=StringIO(),
        )
