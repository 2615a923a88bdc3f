"""The Django admin for people: who may change whom, and what the trail keeps."""

import pytest
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from audit.models import AuditEvent
from people.models import Role, User
from people.tests.factories import (
    DirectorateFactory,
    OrganisationFactory,
    UserFactory,
    director_of,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-New-passw0rd-2026-long"  # noqa: S105


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(role=Role.ADMIN, email="admin.person@example.gov.uk"))
    return client


@pytest.fixture
def superuser():
    person = UserFactory(email="root.person@example.gov.uk")
    person.is_superuser = person.is_staff = True
    person.save()
    return person


def change_form(person, **overrides):
    return {
        "email": person.email,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "is_active": "on",
        "is_staff": "on",
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "1",
        "profile-MIN_NUM_FORMS": "0",
        "profile-MAX_NUM_FORMS": "1",
        "profile-0-id": person.profile.pk,
        "profile-0-user": person.pk,
        "profile-0-commonly_used_name": person.profile.commonly_used_name,
        "profile-0-job_title": person.profile.job_title,
        "profile-0-business_unit": person.profile.business_unit_id,
        **overrides,
    }


def password_form():
    return {
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "usable_password": "true",
        "set-password": "1",
    }


def row(person):
    return User.objects.filter(pk=person.pk).values().get()


def test_an_admin_cannot_change_a_superusers_email(admin_client, superuser):
    before = row(superuser)
    response = admin_client.post(
        reverse("admin:people_user_change", args=[superuser.pk]),
        change_form(superuser, email="admin.person+owned@example.gov.uk"),
    )
    assert response.status_code == 403
    assert row(superuser) == before
    assert not AuditEvent.objects.filter(action="admin.changed").exists()


def test_an_admin_cannot_set_a_superusers_password(admin_client, superuser):
    before = row(superuser)
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[superuser.pk]), password_form()
    )
    assert response.status_code == 403
    assert row(superuser) == before
    superuser.refresh_from_db()
    assert not superuser.check_password(NEW_PASSWORD)


def test_an_admin_cannot_delete_a_superuser(admin_client, superuser):
    response = admin_client.post(
        reverse("admin:people_user_delete", args=[superuser.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert User.objects.filter(pk=superuser.pk).exists()


def test_an_admin_still_changes_other_people_and_a_superuser_changes_a_superuser(
    admin_client, client, superuser
):
    person = UserFactory()
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[person.pk]), password_form()
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)

    other_superuser = UserFactory()
    other_superuser.is_superuser = other_superuser.is_staff = True
    other_superuser.save()
    client.force_login(superuser)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[other_superuser.pk]), password_form()
    )
    assert response.status_code == 302


def test_changing_a_directorates_director_is_audited_with_before_and_after(admin_client):
    directorate = DirectorateFactory(name="Borders")
    old = director_of(directorate, email="old.director@example.gov.uk")
    new = UserFactory(email="new.director@example.gov.uk")
    response = admin_client.post(
        reverse("admin:people_directorate_change", args=[directorate.pk]),
        {"name": "Borders", "organisation": directorate.organisation_id, "director": new.pk},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.filter(action="admin.changed").order_by("-id").first()
    assert event.object_type == "people.directorate"
    assert event.changes["director"] == [str(old), str(new)]


def test_changing_an_organisations_fallback_approver_is_audited_with_before_and_after(
    admin_client,
):
    old = UserFactory(email="old.fallback@example.gov.uk")
    new = UserFactory(email="new.fallback@example.gov.uk")
    organisation = OrganisationFactory(name="Passport Office", fallback_approver=old)
    response = admin_client.post(
        reverse("admin:people_organisation_change", args=[organisation.pk]),
        {"name": organisation.name, "kind": organisation.kind, "fallback_approver": new.pk},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.filter(action="admin.changed").order_by("-id").first()
    assert event.object_type == "people.organisation"
    assert event.changes["fallback_approver"] == [str(old), str(new)]


def test_an_admin_sees_the_beat_schedule_but_cannot_change_it(admin_client):
    every = IntervalSchedule.objects.create(every=300, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(name="sweep", task="some.task", interval=every)
    url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url, {"name": "sweep", "task": "some.task", "interval": every.pk, "enabled": ""}
    )
    assert response.status_code == 403
    task.refresh_from_db()
    assert task.enabled
