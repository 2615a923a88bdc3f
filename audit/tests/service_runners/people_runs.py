"""Runners for the people services: the directory, joiners, movers and leavers, passwords, signing in and out."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory
from django.urls import reverse

from access_requests.models import AccessGrant
from access_requests.tests.factories import (
    grant_in_status,
)
from approvals import services as approval_services
from approvals.tests.factories import (
    requester_and_director,
    submitted_case,
)
from audit.services import SystemActor
from notifications.models import OutboundEmail
from people import (
    directory as people_directory,
    services as people_services,
    switching as people_switching,
)
from people.errors import PasswordLinkThrottled
from people.models import Role, User
from people.staff_csv import staff_rows_read
from people.tests.factories import TEST_PASSWORD, UserFactory, director_of
from staffing import services as staffing_services

from .common import CLIENT, Expected, _status

# --- people.services --------------------------------------------------------------------------

PEOPLE = "people.services"
DIRECTORY = "people.directory"
STAFFING = "staffing.services"
STAFF_HEADER = "email,name,job_title,organisation,directorate,business_unit,cost_centre,role\n"


def run_staff_import(run):
    admin = UserFactory(role=Role.ADMIN)
    lines = StringIO(
        STAFF_HEADER
        + "new.person@example.gov.uk,New Person,Adviser,HQ,Borders,Visas,CC99001,staff\n"
    )
    run.service_starts()
    staffing_services.staff_directory_sync(rows=staff_rows_read(lines), actor=admin)
    return [
        Expected(
            "people.staff_created",
            User.objects.get(email="new.person@example.gov.uk"),
            admin.email,
            changes={"role": [None, "staff"]},
            object_repr="new.person@example.gov.uk",
        ),
        Expected("people.staff_imported", None, admin.email, changes={"created": 1, "updated": 0}),
    ]


def run_staff_import_updates(run):
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory(email="known.person@example.gov.uk", profile__job_title="Adviser")
    unit = person.profile.business_unit
    directorate = unit.directorate
    lines = StringIO(
        STAFF_HEADER
        + f"{person.email},{person.display_name},Senior Adviser,{directorate.organisation.name},"
        f"{directorate.name},{unit.name},{unit.cost_centre},staff\n"
    )
    run.service_starts()
    people_directory.staff_directory_apply(
        plan=people_directory.staff_directory_plan(rows=staff_rows_read(lines), full=False),
        actor=admin,
    )
    return Expected(
        "people.staff_updated",
        person,
        admin.email,
        changes={"job_title": ["Adviser", "Senior Adviser"]},
        object_repr=person.email,
    )


def run_staff_directory_sync_leaver(run):
    admin = UserFactory(role=Role.ADMIN)
    leaver = UserFactory()
    unit = admin.profile.business_unit
    directorate = unit.directorate
    lines = StringIO(
        STAFF_HEADER
        + f"{admin.email},Ada,Admin,{directorate.organisation.name},{directorate.name},"
        f"{unit.name},{unit.cost_centre},admin\n"
    )
    User.objects.exclude(pk__in=[admin.pk, leaver.pk]).update(is_active=False)
    run.service_starts()
    staffing_services.staff_directory_sync(
        rows=staff_rows_read(lines), actor=SystemActor("import_staff"), full=True
    )
    return Expected(
        "people.switched_off",
        leaver,
        "system:import_staff",
        changes={"is_active": [True, False]},
        object_repr=leaver.email,
    )


def run_person_deactivate(run):
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory()
    run.service_starts()
    people_switching.person_deactivate(person=person, actor=admin, reason="Left", client=CLIENT)
    return Expected("people.switched_off", person, admin.email, CLIENT.address, {"reason": "Left"})


def run_person_activate(run):
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory(is_active=False)
    run.service_starts()
    people_switching.person_activate(person=person, actor=admin, client=CLIENT)
    return Expected(
        "people.switched_on", person, admin.email, CLIENT.address, {"is_active": [False, True]}
    )


def run_case_reroute(run):
    requester, director = requester_and_director()
    case = submitted_case(requester=requester)
    successor = UserFactory(role=Role.DIRECTOR)
    directorate = requester.profile.business_unit.directorate
    directorate.director = successor
    directorate.save()
    run.service_starts()
    approval_services.case_reroute(case=case, actor=SystemActor("import_staff"), because="New")
    return [
        Expected("approval.superseded", case, "system:import_staff"),
        Expected(
            "approval.rerouted", case, "system:import_staff", changes={"approver": successor.email}
        ),
    ]


def run_person_leave(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE, business_case__reference="SNS-2020-00001")
    holder = grant.holder
    holder.is_active = False
    holder.save()
    run.service_starts()
    approval_services.person_leave(person=holder, actor=SystemActor("import_staff"))
    return Expected(
        "grant.revoked",
        grant,
        "system:import_staff",
        changes={**_status("active", "revoked"), "reason": "left the department"},
    )


def run_person_move(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE, business_case__reference="SNS-2020-00002")
    director_of(grant.holder.profile.business_unit.directorate)
    run.service_starts()
    approval_services.person_move(
        person=grant.holder, from_directorate="Old", actor=SystemActor("import_staff")
    )
    return Expected("grant.holder_moved", grant, "system:import_staff")


def run_directorate_director_change(run):
    requester, director = requester_and_director()
    case = submitted_case(requester=requester)
    directorate = requester.profile.business_unit.directorate
    directorate.director = UserFactory(role=Role.DIRECTOR)
    directorate.save()
    run.service_starts()
    approval_services.directorate_director_change(
        directorate=directorate, old_director=director, actor=SystemActor("import_staff")
    )
    return Expected("approval.rerouted", case, "system:import_staff")


def run_person_switch_off(run):
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory()
    run.service_starts()
    approval_services.person_switch_off(
        person=person, actor=admin, reason="Suspended", client=CLIENT
    )
    return Expected(
        "people.switched_off", person, admin.email, CLIENT.address, {"reason": "Suspended"}
    )


def run_person_switch_on(run):
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory(is_active=False)
    run.service_starts()
    approval_services.person_switch_on(person=person, actor=admin, client=CLIENT)
    return Expected("people.switched_on", person, admin.email, CLIENT.address)


def run_password_set(run):
    person = UserFactory()
    run.service_starts()
    people_services.password_set(
        user=person, password="a-new-password-2026", actor=SystemActor("load_demo_data")
    )
    return Expected(
        "people.password_set", person, "system:load_demo_data", object_repr=person.email
    )


def run_password_reset_request(run):
    person = UserFactory()
    run.service_starts()
    people_services.password_reset_request(email=person.email.upper(), client=CLIENT)
    assert OutboundEmail.objects.filter(template="password_link", to=person.email).exists()
    return Expected(
        "people.password_reset_requested",
        person,
        "anonymous",
        CLIENT.address,
        {"email": person.email, "outcome": "link emailed"},
        object_repr=person.email,
    )


def run_password_reset_request_unknown(run):
    run.service_starts()
    people_services.password_reset_request(email="nobody@example.gov.uk", client=CLIENT)
    return Expected(
        "people.password_reset_requested",
        None,
        "anonymous",
        CLIENT.address,
        {"email": "nobody@example.gov.uk", "outcome": "no active account"},
        object_repr="nobody@example.gov.uk",
    )


def run_password_reset_request_throttled(run):
    # The throttle is a step of `password_reset_request` (people.services'
    # `_password_reset_throttle`): its refusal is recorded through the public service.
    run.settings.SNS_PASSWORD_LINK_ADDRESS_LIMIT = 0
    run.settings.SNS_PASSWORD_LINK_EMAIL_LIMIT = 0
    person = UserFactory()
    run.service_starts()
    with pytest.raises(PasswordLinkThrottled):
        people_services.password_reset_request(email=person.email, client=CLIENT)
    assert not OutboundEmail.objects.filter(to=person.email).exists()
    return Expected(
        "people.password_reset_throttled",
        None,
        "anonymous",
        CLIENT.address,
        {"email": person.email, "requests_from_address": 1, "requests_for_email": 1},
        object_repr=person.email,
    )


def run_password_link_send(run):
    admin = UserFactory(role=Role.ADMIN)
    person = User.objects.create_user(email="new.person@example.gov.uk")
    run.service_starts()
    people_services.password_link_send(person=person, actor=admin, client=CLIENT)
    assert OutboundEmail.objects.filter(template="password_link", to=person.email).exists()
    return Expected(
        "people.password_link_sent",
        person,
        admin.email,
        CLIENT.address,
        {"email": person.email},
        object_repr=person.email,
    )


def run_password_reset_complete(run):
    from django.contrib.auth.tokens import default_token_generator

    person = UserFactory()
    token = default_token_generator.make_token(person)
    run.service_starts()
    people_services.password_reset_complete(
        user_id=person.pk, token=token, password="a-new-password-2026", client=CLIENT
    )
    return Expected(
        "people.password_set",
        person,
        person.email,
        CLIENT.address,
        {"via": "link", "first_password": False},
        object_repr=person.email,
    )


def run_sso_sign_in_refuse(run):
    person = UserFactory(is_active=False)
    run.service_starts()
    people_services.sso_sign_in_refuse(
        reason="switched_off", email=person.email.upper(), person=person, client=CLIENT
    )
    return Expected(
        "auth.sso_refused",
        person,
        "anonymous",
        CLIENT.address,
        {"reason": "switched_off", "email": person.email, "refused_from_address": 1},
        object_repr=person.email,
    )


def run_sso_sign_in_refuse_no_one(run):
    run.service_starts()
    people_services.sso_sign_in_refuse(reason="bad_state", client=CLIENT)
    return Expected(
        "auth.sso_refused",
        None,
        "anonymous",
        CLIENT.address,
        {"reason": "bad_state", "email": ""},
        object_repr="no email address",
    )


# --- signing in and out (people.receivers) ----------------------------------------------------


def run_sign_in(run):
    user = UserFactory()
    run.service_starts()
    run.client.post(
        reverse("sign-in"),
        {"username": user.email, "password": TEST_PASSWORD},
        REMOTE_ADDR=CLIENT.address,
        HTTP_USER_AGENT=CLIENT.user_agent,
    )
    return Expected("auth.signed_in", user, user.email, CLIENT.address)


def run_failed_sign_in(run):
    request = RequestFactory().post(
        "/sign-in/", REMOTE_ADDR=CLIENT.address, HTTP_USER_AGENT=CLIENT.user_agent
    )
    run.service_starts()
    assert authenticate(request, username="nobody@example.gov.uk", password="wrong") is None
    return Expected(
        "auth.sign_in_failed",
        None,
        "anonymous",
        CLIENT.address,
        {"email": "nobody@example.gov.uk"},
        object_repr="nobody@example.gov.uk",
    )


def run_sign_out(run):
    user = UserFactory()
    run.client.force_login(user)
    run.service_starts()
    run.client.post(
        reverse("sign-out"), REMOTE_ADDR=CLIENT.address, HTTP_USER_AGENT=CLIENT.user_agent
    )
    return Expected("auth.signed_out", user, user.email, CLIENT.address)
