"""Adding a person in the Django admin and the people list: no password invented by the
admin (the person is emailed the password link), and a list that names people."""

import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.models import Role, User
from people.tests.factories import BusinessUnitFactory, DirectorateFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "meadow-copper-signal-58"  # noqa: S105
LINK = re.compile(r"http://testserver(/password/reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture
def admin_person():
    return UserFactory(role=Role.ADMIN, email="admin.person@example.gov.uk")


@pytest.fixture
def admin_client(client, admin_person):
    client.force_login(admin_person)
    return client


def add_form(**overrides):
    unit = BusinessUnitFactory(directorate=DirectorateFactory(name="Borders"))
    return {
        "email": "Nova.Newcomer@Example.gov.uk",
        "first_name": "Nova",
        "last_name": "Newcomer",
        "groups": [str(Group.objects.get(name=Role.STAFF).pk)],
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "0",
        "profile-MIN_NUM_FORMS": "0",
        "profile-MAX_NUM_FORMS": "1",
        "profile-0-commonly_used_name": "Nova N",
        "profile-0-job_title": "Analyst",
        "profile-0-business_unit": str(unit.pk),
        **overrides,
    }


def test_the_add_page_asks_for_no_password(admin_client):
    page = admin_client.get(reverse("admin:people_user_add")).content.decode()
    assert 'name="password1"' not in page
    assert 'name="usable_password"' not in page
    assert "we email them a link to create their own" in page
    assert 'name="email"' in page
    assert 'name="groups"' in page


def test_an_admin_adds_a_person_who_is_emailed_the_link_and_creates_a_password(
    admin_client, admin_person, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:people_user_add"), add_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    person = User.objects.get(email="nova.newcomer@example.gov.uk")
    assert not person.has_usable_password()
    assert person.profile.commonly_used_name == "Nova N"
    assert person.has_role(Role.STAFF)

    # The password link email, through the outbox.
    assert OutboundEmail.objects.filter(to=person.email, template="password_link").count() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [person.email]
    assert message.subject == "Create your password for the SNS access portal"
    assert "An admin has given you an account" in message.body
    assert "If you did not ask for this" not in message.body
    event = AuditEvent.objects.get(action="people.password_link_sent")
    assert event.actor_id == admin_person.pk
    assert event.object_id == str(person.pk)
    assert AuditEvent.objects.filter(action="admin.created", object_id=str(person.pk)).exists()
    page = admin_client.get(response["Location"]).content.decode()
    assert f"We emailed {person.email} a link to create their password." in page

    # The person follows the link and sets their password.
    link = LINK.search(message.body).group(1)
    opened = client.get(link, follow=True)
    form_url = opened.redirect_chain[-1][0]
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)


def test_a_person_added_as_an_admin_may_use_the_django_admin(admin_client):
    admin_group = Group.objects.get_or_create(name=Role.ADMIN)[0]
    response = admin_client.post(
        reverse("admin:people_user_add"), add_form(groups=[str(admin_group.pk)])
    )
    assert response.status_code == 302
    person = User.objects.get(email="nova.newcomer@example.gov.uk")
    assert person.is_staff and person.has_role(Role.ADMIN)
    assert not User.objects.get(email="admin.person@example.gov.uk").is_superuser


def test_an_email_already_in_use_is_refused_whatever_its_case(admin_client):
    UserFactory(email="taken@example.gov.uk")
    response = admin_client.post(
        reverse("admin:people_user_add"), add_form(email="TAKEN@example.gov.uk")
    )
    assert response.status_code == 200
    assert "A person with this email address already exists" in response.content.decode()
    assert User.objects.filter(email__iexact="taken@example.gov.uk").count() == 1
    assert not OutboundEmail.objects.exists()


def test_the_people_list_shows_name_role_directorate_and_whether_active(
    admin_client, django_assert_max_num_queries
):
    unit = BusinessUnitFactory(directorate=DirectorateFactory(name="Immigration Enforcement"))
    UserFactory(
        email="ada.imported@example.gov.uk",
        first_name="",
        last_name="",
        profile__name="Ada Imported",
        profile__business_unit=unit,
        role=Role.DIRECTOR,
    )
    for n in range(10):
        UserFactory(email=f"extra{n}@example.gov.uk", role=Role.STAFF)
    with django_assert_max_num_queries(12):
        page = admin_client.get(reverse("admin:people_user_changelist")).content.decode()
    rows = re.findall(r"<tr>.*?</tr>", page, flags=re.S)
    ada = next(row for row in rows if "ada.imported@example.gov.uk" in row)
    assert "Ada Imported" in ada
    assert "Director" in ada
    assert "Immigration Enforcement" in ada
    assert 'alt="True"' in ada  # active
    for header in ("Name", "Role", "Directorate", "Active"):
        assert header in page


@pytest.mark.django_db
def test_a_persons_admin_page_links_to_switching_them_off_or_on(client):
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory()
    client.force_login(admin)
    page = client.get(reverse("admin:people_user_change", args=[person.pk])).content.decode()
    assert reverse("staffing:person", args=[person.pk]) in page


def test_a_forged_count_of_profile_forms_is_refused_without_building_them(admin_client):
    person = UserFactory(email="counted@example.gov.uk")
    data = {
        "email": person.email,
        "first_name": "Counted",
        "last_name": "Person",
        "is_active": "on",
        "profile-TOTAL_FORMS": "100000",
        "profile-INITIAL_FORMS": "1",
        "profile-MIN_NUM_FORMS": "0",
        "profile-MAX_NUM_FORMS": "1",
    }
    response = admin_client.post(reverse("admin:people_user_change", args=[person.pk]), data)
    assert response.status_code == 200  # shown again, not saved
    [inline] = response.context["inline_admin_formsets"]
    assert len(inline.formset.forms) == 1
    assert "Please submit at most 1 form." in response.content.decode()
    person.refresh_from_db()
    assert person.first_name != "Counted"
