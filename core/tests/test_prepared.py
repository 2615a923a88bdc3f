"""A prepared query answers each run with its own arguments, like the ORM query it was built
from, on every connection (a new one prepares it again), constants with quotes and percent
signs included."""

import pytest
from django.db import connection

from core.prepared import PreparedCount, PreparedQuery, RawStatement
from people.models import User
from people.tests.factories import UserFactory

ACTIVE_NAMED = PreparedQuery(
    "core_test_active_named",
    lambda first_name: (
        User.objects.filter(first_name=first_name, is_active=True, last_name__startswith="50%'s")
        .order_by("id")
        .values_list("email")
    ),
    first_name="stand-in first name",
)


def orm(first_name):
    return [
        (email,)
        for email in User.objects.filter(
            first_name=first_name, is_active=True, last_name__startswith="50%'s"
        )
        .order_by("id")
        .values_list("email", flat=True)
    ]


@pytest.mark.django_db(transaction=True)
def test_each_run_answers_for_its_own_arguments_on_every_connection():
    UserFactory(email="ann@example.gov.uk", first_name="Ann", last_name="50%'s share")
    UserFactory(email="bob@example.gov.uk", first_name="Bob", last_name="50%'s share")
    UserFactory(email="ann.x@example.gov.uk", first_name="Ann", last_name="Other")
    UserFactory(
        email="ann.off@example.gov.uk", first_name="Ann", last_name="50%'s", is_active=False
    )

    assert ACTIVE_NAMED.run(first_name="Ann") == [("ann@example.gov.uk",)] == orm("Ann")
    assert ACTIVE_NAMED.run(first_name="Bob") == [("bob@example.gov.uk",)] == orm("Bob")
    connection.close()  # a new connection, which has not prepared it
    assert ACTIVE_NAMED.run(first_name="Ann") == orm("Ann")
    assert ACTIVE_NAMED.run(first_name="Nobody") == []


def test_a_stand_in_the_query_does_not_use_is_refused(db):
    unused = PreparedQuery(
        "core_test_unused",
        lambda first_name, on: User.objects.filter(first_name=first_name).values_list("id"),
        first_name="stand-in",
        on="another stand-in",
    )
    with pytest.raises(ValueError, match="does not use"):
        unused.run(first_name="Ann", on="x")


@pytest.mark.django_db(transaction=True)
def test_each_run_outside_a_transaction_uses_the_one_generic_plan():
    """Planned once per connection: PostgreSQL's own choice re-planned the home page's
    authority query on every run, as the generic plan's estimate was the higher."""
    UserFactory(first_name="Ann", last_name="50%'s share")
    for first_name in ["Ann", "Bob", "Ann", "Cy", "Ann", "Di", "Ann"]:
        assert ACTIVE_NAMED.run(first_name=first_name) == orm(first_name)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = %s",
            [ACTIVE_NAMED.name],
        )
        assert cursor.fetchone() == (7, 0)
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("auto",)  # for this EXECUTE alone


PAGE_OF_NAMED = PreparedQuery(
    "core_test_page_of_named",
    lambda first_name, offset: (
        User.objects.filter(first_name=first_name)
        .order_by("email")
        .values_list("email")[offset : offset + 2]
    ),
    first_name="stand-in first name",
    offset=2**61 + 3,
)


@pytest.mark.django_db(transaction=True)
def test_a_slices_offset_is_an_argument():
    """The same prepared statement answers every page: the offset Django writes into the
    SQL is passed as an argument."""
    for letter in "edcba":
        UserFactory(email=f"{letter}@example.gov.uk", first_name="Ann")
    UserFactory(email="z@example.gov.uk", first_name="Bob")

    def page(offset):
        return [email for (email,) in PAGE_OF_NAMED.run(first_name="Ann", offset=offset)]

    assert page(0) == ["a@example.gov.uk", "b@example.gov.uk"]
    assert page(2) == ["c@example.gov.uk", "d@example.gov.uk"]
    connection.close()
    assert page(4) == ["e@example.gov.uk"]
    assert page(6) == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [PAGE_OF_NAMED.name]
        )
        assert cursor.fetchone()[0] == 1


ANNS_COUNTED = PreparedCount(
    "core_test_anns_counted",
    lambda: User.objects.filter(first_name="Ann").order_by().values("pk")[:3],
)
NAMED_COUNTED = PreparedCount(
    "core_test_named_counted",
    lambda first_name: User.objects.filter(first_name=first_name).values("pk"),
    first_name="stand-in first name",
)


@pytest.mark.django_db(transaction=True)
def test_a_prepared_count_counts_as_far_as_its_slice_with_or_without_arguments():
    for n in range(4):
        UserFactory(email=f"ann{n}@example.gov.uk", first_name="Ann")
    UserFactory(email="bob@example.gov.uk", first_name="Bob")

    assert ANNS_COUNTED.run() == [(3,)]  # no further than its slice
    assert NAMED_COUNTED.run(first_name="Ann") == [(4,)]
    assert NAMED_COUNTED.run(first_name="Bob") == [(1,)]
    connection.close()
    assert ANNS_COUNTED.run() == [(3,)]
    assert NAMED_COUNTED.run(first_name="Cy") == [(0,)]


def test_an_instance_from_values_reads_its_related_rows_without_a_query(
    db, django_assert_num_queries
):
    from core.prepared import model_from_values
    from people.models import StaffProfile

    person = UserFactory(first_name="Ann", last_name="Jones", email="ann@example.gov.uk")
    with django_assert_num_queries(0):
        without_profile = model_from_values(
            User,
            {"id": person.pk, "first_name": "Ann", "last_name": "Jones", "email": person.email},
            related={"profile": None},
        )
        with_profile = model_from_values(
            User,
            {"id": person.pk, "first_name": "Ann", "last_name": "Jones", "email": person.email},
            related={
                "profile": model_from_values(
                    StaffProfile, {"id": 1, "user_id": person.pk, "commonly_used_name": "Annie"}
                )
            },
        )
        names = (without_profile.display_name, with_profile.display_name)
    assert names == ("Ann Jones", "Annie")
    assert not without_profile._state.adding
    # A field not given is deferred: reading it asks the database, as for `.only()`.
    with django_assert_num_queries(1):
        assert without_profile.is_active is True


NAMED_IN_SQL = PreparedQuery(
    "core_test_named_in_sql",
    lambda first_name: RawStatement(
        User,
        "WITH named AS (SELECT email FROM people_user WHERE first_name = %s)"
        " SELECT (SELECT COUNT(*) FROM named), email FROM named ORDER BY email",
        [first_name],
    ),
    first_name="stand-in first name",
)


@pytest.mark.django_db(transaction=True)
def test_a_statement_written_in_sql_answers_for_its_own_arguments():
    UserFactory(email="ann@example.gov.uk", first_name="Ann")
    UserFactory(email="ann.b@example.gov.uk", first_name="Ann")
    UserFactory(email="bob@example.gov.uk", first_name="Bob")

    assert NAMED_IN_SQL.run(first_name="Ann") == [
        (2, "ann.b@example.gov.uk"),
        (2, "ann@example.gov.uk"),
    ]
    assert NAMED_IN_SQL.run(first_name="Bob") == [(1, "bob@example.gov.uk")]
    connection.close()
    assert NAMED_IN_SQL.run(first_name="Nobody") == []


BY_EMAIL_NO_SEQSCAN = PreparedQuery(
    "core_test_by_email_no_seqscan",
    lambda email: User.objects.filter(email=email).values_list("id"),
    planner=("enable_seqscan = off",),
    email="stand-in@example.gov.uk",
)


@pytest.mark.django_db(transaction=True)
def test_planner_settings_hold_while_the_generic_plan_is_made():
    person = UserFactory(email="ann@example.gov.uk")
    # On a table this small PostgreSQL reads every row; not with sequential scans off.
    assert BY_EMAIL_NO_SEQSCAN.run(email="ann@example.gov.uk") == [(person.pk,)]
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute("EXPLAIN EXECUTE core_test_by_email_no_seqscan('ann@example.gov.uk')")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET plan_cache_mode")
    assert "Seq Scan" not in plan
    assert "people_user" in plan


def test_planner_settings_are_only_enable_switches():
    with pytest.raises(ValueError, match="planner settings"):
        PreparedQuery(
            "core_test_bad_setting",
            lambda email: User.objects.filter(email=email).values_list("id"),
            planner=("work_mem = '1GB'; DROP TABLE people_user",),
            email="stand-in",
        )
