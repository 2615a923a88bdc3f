"""The session read by a prepared statement gives what Django's database sessions give."""

import datetime

import pytest
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.sessions import SessionStore

pytestmark = pytest.mark.django_db


def _saved(data: dict) -> str:
    session = DjangoSessionStore()
    session.update(data)
    session.save()
    return session.session_key


def test_a_live_session_reads_as_djangos_own_store_reads_it():
    key = _saved({"_auth_user_id": "7", "note": "ß😀"})
    ours, theirs = SessionStore(key), DjangoSessionStore(key)
    assert dict(ours.items()) == dict(theirs.items()) == {"_auth_user_id": "7", "note": "ß😀"}
    assert ours.session_key == key


@pytest.mark.parametrize("case", ["expired", "unknown"])
def test_an_expired_or_unknown_session_is_empty_and_gets_a_new_key_when_saved(case):
    key = _saved({"_auth_user_id": "7"})
    if case == "expired":
        Session.objects.filter(pk=key).update(
            expire_date=timezone.now() - datetime.timedelta(seconds=1)
        )
    else:
        key = "x" * 32
    ours, theirs = SessionStore(key), DjangoSessionStore(key)
    assert dict(ours.items()) == dict(theirs.items()) == {}
    assert ours.session_key is None and theirs.session_key is None
    ours["note"] = "again"
    ours.save()
    assert ours.session_key not in {None, key}
    assert SessionStore(ours.session_key)["note"] == "again"


def test_the_session_is_read_by_a_statement_prepared_once_per_connection():
    key = _saved({"note": "one"})
    SessionStore(key).load()  # prepared on this connection
    with CaptureQueriesContext(connection) as queries:
        assert SessionStore(key)["note"] == "one"
    assert [query["sql"].split("(")[0] for query in queries.captured_queries] == [
        "EXECUTE sessions_live_session"
    ]


def test_a_signed_in_page_reads_the_session_the_person_and_their_roles_prepared(client):
    from django.urls import reverse

    from people.tests.factories import UserFactory

    client.force_login(UserFactory())
    client.get(reverse("home"))  # prepared on this connection
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    sql = [query["sql"] for query in queries.captured_queries]
    for statement in ("sessions_live_session", "people_person", "people_groups_of"):
        assert sum(f"EXECUTE {statement}" in text for text in sql) == 1, (statement, sql)
    assert not any('FROM "django_session"' in text for text in sql), sql
