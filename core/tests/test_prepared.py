"""A prepared query answers each run with its own arguments, like the ORM query it was built
from, on every connection (a new one prepares it again), constants with quotes and percent
signs included."""

import pytest
from django.db import connection

from core.prepared import PreparedQuery
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


ACTIVE_NAMED_PLAIN = PreparedQuery(
    "core_test_active_named_plain",
    lambda first_name: (
        User.objects.filter(first_name=first_name, is_active=True, last_name__startswith="50%'s")
        .order_by("id")
        .values_list("email")
    ),
    prepare=False,
    first_name="stand-in first name",
)


@pytest.mark.django_db
def test_a_query_built_once_but_not_prepared_is_one_plain_query_per_run(
    django_assert_num_queries,
):
    UserFactory(email="ann@example.gov.uk", first_name="Ann", last_name="50%'s share")
    UserFactory(email="bob@example.gov.uk", first_name="Bob", last_name="50%'s share")
    ann, bob = orm("Ann"), orm("Bob")
    with django_assert_num_queries(1) as captured:
        assert ACTIVE_NAMED_PLAIN.run(first_name="Ann") == ann
    assert "PREPARE" not in captured.captured_queries[0]["sql"]
    with django_assert_num_queries(1):
        assert ACTIVE_NAMED_PLAIN.run(first_name="Bob") == bob
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = %s",
            ["core_test_active_named_plain"],
        )
        assert cursor.fetchone() == (0,)
