"""After a transactional test the database is as Django's flush would leave it
(`tests/database_cleanup.py`): every business table empty, and the content types,
permissions and roles' groups exactly as a freshly migrated database has them."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit.services import record
from people.models import Role
from people.roles import ROLE_PERMISSIONS
from people.tests.factories import UserFactory
from tests.database_cleanup import MANY_ROWS, empty_database, kept_tables

pytestmark = pytest.mark.django_db(transaction=True)


def what_post_migrate_made():
    """The content types, permissions and groups by name, not by id."""
    return (
        sorted(ContentType.objects.values_list("app_label", "model")),
        sorted(
            Permission.objects.values_list(
                "content_type__app_label", "content_type__model", "codename", "name"
            )
        ),
        sorted(
            (
                group.name,
                sorted(group.permissions.values_list("content_type__app_label", "codename")),
            )
            for group in Group.objects.all()
        ),
    )


def tables_with_rows():
    kept = set(kept_tables())
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        found = []
        for table in sorted(set(tables) - kept):
            cursor.execute(f"SELECT EXISTS (SELECT FROM {table})")  # noqa: S608 - introspected
            if cursor.fetchone()[0]:
                found.append(table)
    return found


def roles_as_listed():
    return sorted(
        (role, sorted(tuple(name.split(".")) for name in perms))
        for role, perms in ROLE_PERMISSIONS.items()
    )


def flushed_by_django():
    call_command("flush", verbosity=0, interactive=False, inhibit_post_migrate=False)
    return what_post_migrate_made()


def test_a_tests_rows_are_gone_and_the_roles_are_as_a_fresh_database_has_them():
    admin = UserFactory(role=Role.ADMIN)
    record(actor=admin, action="auth.signed_in", obj=admin, object_repr=admin.email)
    assert "people_user" in tables_with_rows()

    empty_database()

    assert tables_with_rows() == []
    cleaned = what_post_migrate_made()
    assert cleaned[2] == roles_as_listed()
    assert cleaned == flushed_by_django()


def test_a_role_a_test_changed_is_put_back_and_a_group_it_added_is_gone():
    staff = Group.objects.get(name=Role.STAFF)
    staff.permissions.add(Permission.objects.get(codename="revoke_accessgrant"))
    Group.objects.get(name=Role.AUDITOR).permissions.clear()
    Group.objects.create(name="made by a test")
    UserFactory(role=Role.STAFF)

    empty_database()

    assert tables_with_rows() == []
    cleaned = what_post_migrate_made()
    assert cleaned[2] == roles_as_listed()
    assert cleaned == flushed_by_django()


def test_many_rows_are_emptied_too():
    Session.objects.bulk_create(
        Session(session_key=f"key{n:036d}", session_data="", expire_date=timezone.now())
        for n in range(MANY_ROWS + 1)
    )

    empty_database()

    assert tables_with_rows() == []
    assert what_post_migrate_made()[2] == roles_as_listed()
