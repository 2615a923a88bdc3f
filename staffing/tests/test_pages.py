"""Admins switch one person off (with a reason and a confirmation) or back on."""

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from access_requests.models import AccessGrant
from audit.models import AuditEvent
from people.models import Role
from people.tests.factories import UserFactory

from .test_full_import import grant_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(role=Role.ADMIN)


def test_the_person_page_summarises_their_access(client, admin):
    person = UserFactory(profile__name="Pat Person")
    grant = grant_of(person)
    client.force_login(admin)
    page = client.get(reverse("staffing:person", args=[person.pk])).content.decode()
    assert "Pat Person" in page and person.email in page
    assert grant.business_case.reference in page
    assert "Switch off" in page


def test_switching_off_needs_a_reason_and_a_confirmation(client, admin):
    person = UserFactory()
    client.force_login(admin)
    url = reverse("staffing:person-switch-off", args=[person.pk])
    response = client.post(url, {"reason": "", "confirm": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert "govuk-error-summary" in page
    assert "Enter a reason" in page and "Confirm that their access ends now" in page
    person.refresh_from_db()
    assert person.is_active


def test_switching_off_ends_access_and_sessions_and_switching_on_lets_them_in(
    client, admin, settings
):
    settings.SNS_ICT_MAILBOX = "ict@example.gov.uk"
    person = UserFactory()
    grant = grant_of(person)
    other = client.__class__()
    other.force_login(person)
    assert Session.objects.count() == 1
    client.force_login(admin)

    response = client.post(
        reverse("staffing:person-switch-off", args=[person.pk]),
        {"reason": "Suspended pending investigation", "confirm": "on"},
    )

    assert response.status_code == 302
    person.refresh_from_db()
    assert not person.is_active
    assert other.get(reverse("home")).status_code == 302  # their session ended
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.REVOKED
    assert grant.revocation_reason == "Suspended pending investigation"
    assert grant.revoked_by == admin
    event = AuditEvent.objects.get(action="people.switched_off", object_id=str(person.pk))
    assert event.actor == admin and event.changes["reason"] == "Suspended pending investigation"

    page = client.get(reverse("staffing:person", args=[person.pk])).content.decode()
    assert "Switched off" in page
    client.post(reverse("staffing:person-switch-on", args=[person.pk]))
    person.refresh_from_db()
    assert person.is_active
    assert AuditEvent.objects.filter(action="people.switched_on", object_id=str(person.pk)).exists()


@pytest.mark.parametrize("role", [Role.STAFF, Role.DIRECTOR, Role.AUDITOR, Role.ICT])
def test_only_admins_switch_people_off(client, role):
    person = UserFactory()
    client.force_login(UserFactory(role=role))
    response = client.post(
        reverse("staffing:person-switch-off", args=[person.pk]),
        {"reason": "No", "confirm": "on"},
    )
    assert response.status_code == 403
    person.refresh_from_db()
    assert person.is_active


def test_an_admin_cannot_switch_themselves_off(client, admin):
    client.force_login(admin)
    response = client.post(
        reverse("staffing:person-switch-off", args=[admin.pk]), {"reason": "x", "confirm": "on"}
    )
    assert response.status_code == 403
