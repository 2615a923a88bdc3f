import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from people.backends import PortalBackend
from people.models import Role, User
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fresh(user) -> User:
    return User.objects.get(pk=user.pk)  # no permission cache from an earlier check


@pytest.mark.parametrize("role", [None, *Role.values])
def test_a_person_has_the_same_permissions_as_djangos_own_backend_gives(role):
    person = UserFactory(role=role) if role else UserFactory()
    # A permission of the person's own as well as their role's.
    person.user_permissions.add(Permission.objects.get(codename="view_site"))
    ours = PortalBackend().get_all_permissions(_fresh(person))
    assert ours == ModelBackend().get_all_permissions(_fresh(person))
    assert "access_requests.view_site" in ours


def test_a_superuser_has_every_permission_and_an_inactive_person_none():
    superuser = UserFactory(is_superuser=True)
    assert PortalBackend().get_all_permissions(_fresh(superuser)) == (
        ModelBackend().get_all_permissions(_fresh(superuser))
    )
    assert len(PortalBackend().get_all_permissions(_fresh(superuser))) == Permission.objects.count()
    inactive = UserFactory(role=Role.ADMIN, is_active=False)
    assert PortalBackend().get_all_permissions(_fresh(inactive)) == set()
    assert not _fresh(inactive).has_perm("access_requests.view_accessgrant")


def test_an_auditor_may_read_the_register_and_not_revoke(django_assert_num_queries):
    auditor = _fresh(UserFactory(role=Role.AUDITOR))
    _fresh(UserFactory()).has_perm("access_requests.view_site")  # prepared on this connection
    with django_assert_num_queries(1):  # one query for all of them, then the cache
        assert auditor.has_perm("access_requests.view_accessgrant")
        assert not auditor.has_perm("access_requests.revoke_accessgrant")


def test_the_permissions_are_read_by_a_statement_prepared_once_per_connection():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _fresh(UserFactory()).has_perm("access_requests.view_site")
    director, auditor = (_fresh(UserFactory(role=role)) for role in (Role.DIRECTOR, Role.AUDITOR))
    with CaptureQueriesContext(connection) as queries:
        # Each person's own answer from the one statement, their role's permissions.
        assert auditor.has_perm("access_requests.view_accessgrant")
        assert director.get_all_permissions() != auditor.get_all_permissions()
    sql = [query["sql"] for query in queries.captured_queries]
    assert len(sql) == 2
    assert all("EXECUTE people_permissions_of" in text for text in sql)


def test_the_signed_in_person_is_read_as_djangos_own_backend_reads_them():
    from django.forms.models import model_to_dict

    person = UserFactory(role=Role.DIRECTOR, first_name="Zoë", last_name="O'Brien")
    ours, theirs = PortalBackend().get_user(person.pk), ModelBackend().get_user(person.pk)
    assert type(ours) is User and ours.pk == person.pk
    assert model_to_dict(ours) == model_to_dict(theirs)
    assert [getattr(ours, f.attname) for f in User._meta.concrete_fields] == [
        getattr(theirs, f.attname) for f in User._meta.concrete_fields
    ]
    assert ours._state.db == theirs._state.db and not ours._state.adding
    assert ours.get_session_auth_hash() == theirs.get_session_auth_hash()
    assert PortalBackend().get_user(str(person.pk)).pk == person.pk  # as the session keeps it


def test_an_inactive_or_missing_person_is_not_signed_in():
    inactive = UserFactory(is_active=False)
    assert PortalBackend().get_user(inactive.pk) is None
    assert PortalBackend().get_user(inactive.pk + 1000) is None


def test_a_persons_roles_are_read_once_as_a_prefetch_of_their_groups_is(django_assert_num_queries):
    from people.roles import load_roles

    person = UserFactory(role=Role.ICT)
    load_roles(_fresh(UserFactory()))  # prepared on this connection
    reader = _fresh(person)
    with django_assert_num_queries(1):
        load_roles(reader)
        load_roles(reader)  # already read
        assert reader.has_role(Role.ICT) and not reader.has_role(Role.ADMIN)
        assert [g.name for g in reader.groups.all()] == [Role.ICT]
    assert sorted(reader.groups.all(), key=lambda g: g.pk) == list(person.groups.order_by("pk"))


def test_the_person_and_their_roles_are_read_by_statements_prepared_once_per_connection():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from people.roles import load_roles

    load_roles(PortalBackend().get_user(UserFactory().pk))  # prepared on this connection
    person = UserFactory(role=Role.AUDITOR)
    with CaptureQueriesContext(connection) as queries:
        load_roles(PortalBackend().get_user(person.pk))
    assert [query["sql"].split("(")[0] for query in queries.captured_queries] == [
        "EXECUTE people_person",
        "EXECUTE people_groups_of",
    ]
