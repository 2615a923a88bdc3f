import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from people.roles import Role
from people.tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_a_pages_query_count_is_the_same_on_a_new_connection(client, django_assert_num_queries):
    client.force_login(UserFactory(role=Role.ADMIN))
    url = reverse("admin:people_user_changelist")
    client.get(url)
    with CaptureQueriesContext(connection) as warm:
        client.get(url)
    connection.close()  # the next request's connection prepares its statements again
    with django_assert_num_queries(len(warm)) as cold:
        assert client.get(url).status_code == 200
    assert any(q["sql"].startswith("PREPARE ") for q in cold.captured_queries)


def test_a_query_the_page_adds_still_counts(db, django_assert_max_num_queries):
    with pytest.raises(pytest.fail.Exception, match="Expected to perform 1 or less queries but 2"):
        with django_assert_max_num_queries(1):
            connection.cursor().execute("SELECT 1")
            connection.cursor().execute("SELECT 2")
