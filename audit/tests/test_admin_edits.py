"""Edits made in the Django admin write audit events, in the same transaction."""

import pytest
from django.urls import reverse

from access_requests.tests.factories import SiteFactory
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from people.models import Directorate, Role
from people.tests.factories import BusinessUnitFactory, DirectorateFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = UserFactory(role=Role.ADMIN, email="admin.person@example.gov.uk")
    client.force_login(user)
    return client


def _last(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


def test_changing_a_site_in_the_admin_records_before_and_after(admin_client):
    site = SiteFactory(name="Old name")
    response = admin_client.post(
        reverse("admin:access_requests_site_change", args=[site.pk]),
        {
            "name": "New name",
            "url": site.url,
            "allows_shared_display_names": "on",
            "is_active": "",
        },
        REMOTE_ADDR="198.51.100.7",
        HTTP_USER_AGENT="Admin browser",
    )
    assert response.status_code == 302
    event = _last("admin.changed")
    assert event.actor_label == "admin.person@example.gov.uk"
    assert (event.object_type, event.object_id) == ("access_requests.site", str(site.pk))
    assert event.changes == {"name": ["Old name", "New name"], "is_active": [True, False]}
    assert event.client_address == "198.51.100.7"
    assert event.user_agent == "Admin browser"
    assert audit_chain_verify()[1] is None


def test_adding_an_organisation_in_the_admin_records_it(admin_client):
    response = admin_client.post(
        reverse("admin:people_organisation_add"),
        {"name": "Passport Office", "kind": "agency", "fallback_approver": ""},
    )
    assert response.status_code == 302
    event = _last("admin.created")
    assert event.object_type == "people.organisation"
    assert event.object_repr == "Passport Office"
    assert event.changes["name"] == [None, "Passport Office"]


def test_changing_a_person_their_profile_and_role_is_recorded(admin_client):
    person = UserFactory(profile__name="Old Name", email="someone@example.gov.uk")
    unit = person.profile.business_unit
    new_unit = BusinessUnitFactory(name="New unit")
    from django.contrib.auth.models import Group

    auditors = Group.objects.get_or_create(name=Role.AUDITOR)[0]
    response = admin_client.post(
        reverse("admin:people_user_change", args=[person.pk]),
        {
            "email": person.email,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "is_active": "on",
            "groups": [auditors.pk],
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "1",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
            "profile-0-id": person.profile.pk,
            "profile-0-user": person.pk,
            "profile-0-commonly_used_name": "New Name",
            "profile-0-job_title": person.profile.job_title,
            "profile-0-business_unit": new_unit.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = _last("admin.changed")
    assert event.object_type == "people.user"
    assert event.changes["groups"] == [["staff"], ["auditor"]]
    assert event.changes["staffprofile.commonly_used_name"] == ["Old Name", "New Name"]
    assert event.changes["staffprofile.business_unit"] == [str(unit), str(new_unit)]


def test_a_password_change_in_the_admin_is_recorded_without_the_password(admin_client):
    person = UserFactory()
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[person.pk]),
        {
            "password1": "a-New-passw0rd-2026",
            "password2": "a-New-passw0rd-2026",
            "usable_password": "true",
            "set-password": "1",
        },
    )
    assert response.status_code == 302
    event = _last("admin.changed")
    assert event.object_id == str(person.pk)
    assert "a-New-passw0rd-2026" not in str(event.changes)
    assert "password" in str(event.changes["summary"])


def test_deleting_in_the_admin_records_what_was_deleted(client):
    superuser = UserFactory(email="root@example.gov.uk")
    superuser.is_superuser = superuser.is_staff = True
    superuser.save()
    client.force_login(superuser)
    directorate = DirectorateFactory(name="Short-lived")
    response = client.post(
        reverse("admin:people_directorate_delete", args=[directorate.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Directorate.objects.filter(pk=directorate.pk).exists()
    event = _last("admin.deleted")
    assert event.object_id == str(directorate.pk)
    assert event.changes["name"] == "Short-lived"

    doomed = [DirectorateFactory(name=f"Bulk {n}") for n in range(2)]
    response = client.post(
        reverse("admin:people_directorate_changelist"),
        {"action": "delete_selected", "_selected_action": [d.pk for d in doomed], "post": "yes"},
    )
    assert response.status_code == 302
    deleted = AuditEvent.objects.filter(action="admin.deleted").values_list(
        "object_repr", flat=True
    )
    assert {"Bulk 0", "Bulk 1"} <= set(deleted)
    assert audit_chain_verify()[1] is None
