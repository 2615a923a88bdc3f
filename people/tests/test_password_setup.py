"""Creating or resetting a password from an emailed link: people from `import_staff` have no
password until they ask for one here."""

import datetime
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people import services
from people.forms import PasswordLinkRequestForm
from people.models import User
from people.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "river-lantern-harbour-42"  # noqa: S105
LINK = re.compile(r"http://testserver(/password/reset/[^/\s]+/[^/\s]+/)")
CLIENT_ADDRESS = "203.0.113.7"


@pytest.fixture
def imported(tmp_path):
    """A person as `import_staff` creates them: no usable password."""
    from django.core.management import call_command

    path = tmp_path / "staff.csv"
    path.write_text(
        "email,name,job_title,organisation,directorate,business_unit,cost_centre,role\n"
        "Nia.New@example.gov.uk,Nia New,Adviser,HQ,Comms,Press,CC9001,staff\n",
        encoding="utf-8",
    )
    call_command("import_staff", str(path))
    person = User.objects.get(email="nia.new@example.gov.uk")
    assert not person.has_usable_password()
    return person


@pytest.fixture
def ask_for_link(client, django_capture_on_commit_callbacks):
    """POST the address to "Enter your work email address", sending what it queues."""

    def ask(email, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("people:password-reset"),
                {"email": email},
                REMOTE_ADDR=CLIENT_ADDRESS,
                **extra,
            )

    return ask


def link_in_the_email() -> str:
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    paths = set(LINK.findall(mail.outbox[0].body))
    assert len(paths) == 1, mail.outbox[0].body
    return paths.pop()


def create_password(client, link, password=NEW_PASSWORD, again=None):
    """Open the emailed link (GET, as the person does) and send the form."""
    opened = client.get(link, follow=True)
    assert opened.status_code == 200
    form_url = opened.redirect_chain[-1][0]
    return client.post(
        form_url,
        {"new_password1": password, "new_password2": again or password},
        REMOTE_ADDR=CLIENT_ADDRESS,
    )


def test_the_sign_in_page_links_to_create_or_reset_a_password(client):
    page = client.get(reverse("sign-in")).content.decode()
    assert f'href="{reverse("people:password-reset")}">Create or reset your password</a>' in page


def test_an_imported_person_creates_a_password_and_signs_in_with_it(client, imported, ask_for_link):
    response = ask_for_link("NIA.new@example.gov.uk ")
    assert response.status_code == 302
    assert response["Location"] == reverse("people:password-reset-sent")
    page = client.get(response["Location"]).content.decode()
    assert "Check your email" in page
    assert "24 hours" in page

    message = mail.outbox[0]
    assert message.to == ["nia.new@example.gov.uk"]
    assert message.subject == "Create your password for the SNS access portal"
    assert "Dear Nia New" in message.body
    link = link_in_the_email()
    assert any(link in html for html, _ in message.alternatives)

    # Opening the link (and the form it leads to) changes nothing.
    opened = client.get(link)
    assert opened.status_code == 302
    form_url = opened["Location"]
    assert form_url.endswith("/set-password/")
    assert opened["X-Robots-Tag"] == "noindex, nofollow"
    page = client.get(form_url)
    assert page.status_code == 200
    assert "Create a password" in page.content.decode()
    client.head(form_url)
    imported.refresh_from_db()
    assert not imported.has_usable_password()

    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("people:password-reset-complete")
    done = client.get(response["Location"]).content.decode()
    assert "Your password has been set" in done
    assert f'href="{reverse("sign-in")}"' in done
    imported.refresh_from_db()
    assert imported.check_password(NEW_PASSWORD)
    assert not client.session.get("_auth_user_id")  # not signed in by the link

    # They sign in through the real sign-in page (and django-axes).
    signed_in = client.post(
        reverse("sign-in"), {"username": "nia.new@example.gov.uk", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(imported.pk)


def test_the_link_works_once(client, imported, ask_for_link):
    ask_for_link(imported.email)
    link = link_in_the_email()
    create_password(client, link)

    second = client.get(link)
    assert second.status_code == 410
    page = second.content.decode()
    assert "This link has expired or has been used" in page
    assert f'href="{reverse("people:password-reset")}"' in page
    # A POST straight to the link, or the form again with the old session, sets nothing.
    uidb64 = link.split("/")[3]
    for url in (link, reverse("people:password-reset-confirm", args=[uidb64, "set-password"])):
        response = client.post(
            url, {"new_password1": "x-other-pass-99", "new_password2": "x-other-pass-99"}
        )
        assert response.status_code == 410
    imported.refresh_from_db()
    assert imported.check_password(NEW_PASSWORD)


def test_a_link_used_in_another_tab_is_refused_when_the_first_form_is_sent(
    imported, client, ask_for_link
):
    """Both tabs opened the link; the first sets the password, the second is refused."""
    from django.test import Client

    ask_for_link(imported.email)
    link = link_in_the_email()
    other = Client()
    opened = other.get(link, follow=True)
    create_password(client, link)
    response = other.post(
        opened.redirect_chain[-1][0],
        {"new_password1": "second-tab-pass-77", "new_password2": "second-tab-pass-77"},
    )
    assert response.status_code == 410
    imported.refresh_from_db()
    assert imported.check_password(NEW_PASSWORD)


def test_the_service_checks_the_token_again_with_the_row_locked(imported):
    from django.contrib.auth.tokens import default_token_generator

    token = default_token_generator.make_token(imported)
    services.password_reset_complete(user_id=imported.pk, token=token, password=NEW_PASSWORD)
    with pytest.raises(services.PasswordLinkInvalid):
        services.password_reset_complete(user_id=imported.pk, token=token, password="x-2nd-99")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda uid, token: (uid, token[:-1] + ("a" if token[-1] != "a" else "b")),
        lambda uid, token: (uid, token[:10]),
        lambda uid, token: (uid, "set-password"),  # no token in the session
        lambda uid, token: ("Zm9v", token),  # another id ("foo")
        lambda uid, token: ("MTIzNDU2Nzg5", token),  # a person who does not exist
    ],
    ids=["altered", "truncated", "no-session", "bad-id", "unknown-id"],
)
def test_a_tampered_link_shows_the_expired_page_and_sets_nothing(
    client, imported, tamper, ask_for_link
):
    ask_for_link(imported.email)
    _, _, _, uid, token, _ = link_in_the_email().split("/")
    uid, token = tamper(uid, token)
    url = reverse("people:password-reset-confirm", args=[uid, token])
    assert client.get(url).status_code == 410
    response = client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 410
    assert "This link has expired or has been used" in response.content.decode()
    imported.refresh_from_db()
    assert not imported.has_usable_password()


def test_the_link_expires_after_the_configured_hours(client, imported, settings, ask_for_link):
    settings.PASSWORD_RESET_TIMEOUT = 2 * 60 * 60
    ask_for_link(imported.email)
    assert "2 hours" in mail.outbox[0].body
    link = link_in_the_email()
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2, minutes=1)):
        assert client.get(link).status_code == 410


def test_a_person_switched_off_after_the_email_cannot_use_the_link(client, imported, ask_for_link):
    ask_for_link(imported.email)
    link = link_in_the_email()
    User.objects.filter(pk=imported.pk).update(is_active=False)
    assert client.get(link).status_code == 410


@pytest.mark.parametrize("who", ["unknown", "inactive"])
def test_unknown_and_switched_off_addresses_get_the_same_page_and_no_email(
    client, who, ask_for_link
):
    email = "nobody.here@example.gov.uk"
    if who == "inactive":
        UserFactory(email=email, is_active=False)
    known = UserFactory()
    expected = ask_for_link(known.email)
    mail.outbox.clear()

    response = ask_for_link(email)
    assert response.status_code == expected.status_code == 302
    assert response["Location"] == expected["Location"]
    assert mail.outbox == []
    assert not OutboundEmail.objects.filter(to=email).exists()
    event = AuditEvent.objects.filter(action="people.password_reset_requested").latest("id")
    assert event.changes == {"email": email, "outcome": "no active account"}
    assert event.client_address == CLIENT_ADDRESS


def test_a_person_with_a_password_can_reset_it(client, ask_for_link):
    person = UserFactory(email="has.one@example.gov.uk")
    ask_for_link(person.email)
    assert mail.outbox[0].subject == "Reset your password for the SNS access portal"
    create_password(client, link_in_the_email())
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
    assert not person.check_password(TEST_PASSWORD)


def test_asking_again_within_minutes_sends_nothing_new_and_later_does(
    client, imported, settings, ask_for_link
):
    settings.SNS_PASSWORD_EMAIL_MINUTES = 5
    ask_for_link(imported.email)
    first = link_in_the_email()
    response = ask_for_link(imported.email)
    assert response["Location"] == reverse("people:password-reset-sent")
    assert len(mail.outbox) == 1
    outcomes = list(
        AuditEvent.objects.filter(action="people.password_reset_requested")
        .order_by("id")
        .values_list("changes__outcome", flat=True)
    )
    assert outcomes == ["link emailed", "not sent: a link was emailed minutes ago"]
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=6)):
        ask_for_link(imported.email)
    assert len(mail.outbox) == 2
    # The first link still works: nothing used it.
    create_password(client, first)
    imported.refresh_from_db()
    assert imported.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    ("email", "error"),
    [
        ("", "Enter your email address"),
        ("   ", "Enter your email address"),
        (
            "not-an-address",
            "Enter an email address in the correct format, like name@example.gov.uk",
        ),
        ("a" * 250 + "@x.uk", "Email address must be 254 characters or fewer"),
    ],
)
def test_bad_input_shows_the_error_summary(client, email, error):
    response = client.post(reverse("people:password-reset"), {"email": email})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Error: Enter your work email address" in page
    assert "govuk-error-summary" in page
    assert f'<li><a href="#id_email">{error}</a></li>' in page
    assert 'id="id_email_1_error" class="govuk-error-message"' in page
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action="people.password_reset_requested").exists()


@pytest.mark.parametrize(
    ("new", "again", "error"),
    [
        ("", "", "Enter a new password"),
        ("short", "short", "This password is too short. It must contain at least 12 characters."),
        ("12345678901", "12345678901", "This password is entirely numeric."),
        ("password123", "password123", "This password is too common."),
        ("nia.new.example", "nia.new.example", "The password is too similar to the email address."),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "Enter the same password in both boxes"),
    ],
)
def test_a_weak_or_mismatched_password_shows_the_error_summary(
    client, imported, new, again, error, ask_for_link
):
    ask_for_link(imported.email)
    response = create_password(client, link_in_the_email(), new, again)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Error: Create a password" in page
    assert "govuk-error-summary" in page
    assert error in page
    assert re.search(r'<li><a href="#id_new_password[12]">', page)
    imported.refresh_from_db()
    assert not imported.has_usable_password()
    # The link still works after a refused form.
    assert create_password(client, link_in_the_email()).status_code == 302


def test_the_audit_trail_records_the_request_and_the_new_password_without_secrets(
    client, imported, ask_for_link
):
    ask_for_link(imported.email, HTTP_USER_AGENT="Firefox")
    link = link_in_the_email()
    create_password(client, link)
    requested = AuditEvent.objects.get(action="people.password_reset_requested")
    assert requested.actor_label == "anonymous"
    assert requested.object_id == str(imported.pk)
    assert requested.client_address == CLIENT_ADDRESS
    assert requested.user_agent == "Firefox"
    assert requested.changes == {"email": imported.email, "outcome": "link emailed"}
    password_set = AuditEvent.objects.get(action="people.password_set")
    assert password_set.actor_id == imported.pk
    assert password_set.object_id == str(imported.pk)
    assert password_set.client_address == CLIENT_ADDRESS
    assert password_set.changes == {"first_password": True, "via": "link"}
    token = link.split("/")[4]
    imported.refresh_from_db()
    for event in AuditEvent.objects.all():
        text = str(event.changes) + event.object_repr
        assert token not in text
        assert NEW_PASSWORD not in text
        assert imported.password not in text


def test_a_new_password_clears_a_lock_out_from_failed_sign_ins(client, settings, ask_for_link):
    person = UserFactory(email="locked.out@example.gov.uk")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("sign-in"), {"username": person.email, "password": "wrong-guess"})
    assert (
        client.post(
            reverse("sign-in"), {"username": person.email, "password": TEST_PASSWORD}
        ).status_code
        == 429
    )
    ask_for_link(person.email)
    create_password(client, link_in_the_email())
    assert not AccessAttempt.objects.filter(username=person.email).exists()
    response = client.post(reverse("sign-in"), {"username": person.email, "password": NEW_PASSWORD})
    assert response.status_code == 302


def test_the_form_includes_people_without_a_password_but_not_switched_off_ones(imported):
    UserFactory(email="off@example.gov.uk", is_active=False)
    form = PasswordLinkRequestForm()
    assert list(form.get_users("NIA.NEW@example.gov.uk")) == [imported]
    assert list(form.get_users("off@example.gov.uk")) == []
    with pytest.raises(NotImplementedError):
        form.save()


def test_the_outbox_row_is_about_the_person_and_holds_the_absolute_link(imported, ask_for_link):
    ask_for_link(imported.email)
    sent = OutboundEmail.objects.get(template="password_link")
    assert sent.status == OutboundEmail.Status.SENT
    assert (sent.object_type, sent.object_id) == ("people.user", str(imported.pk))
    assert "http://testserver/password/reset/" in sent.body_text


def test_hostile_values_in_the_create_password_form_never_crash_it(client, imported, ask_for_link):
    """The cross-cutting fuzzing cannot reach this form (it needs the session the emailed
    link sets), so its hostile values are sent here: no 500, and a refused post sets nothing."""
    from tests.security.test_form_fuzzing import HOSTILE

    ask_for_link(imported.email)
    form_url = client.get(link_in_the_email())["Location"]
    for value in HOSTILE:
        response = client.post(form_url, {"new_password1": value, "new_password2": value})
        assert response.status_code in (200, 302), (value[:40], response.status_code)
        imported.refresh_from_db()
        if response.status_code == 200:
            assert not imported.has_usable_password(), value[:40]
        else:
            assert imported.check_password(value)
            break


def test_in_the_demo_the_link_is_read_on_the_sent_emails_page_without_signing_in(
    client, imported, ask_for_link, settings, tmp_path
):
    # make run without a mail server writes mail to a folder; a newly imported person has no
    # account to sign in with yet, so the demo's Sent emails page is open to them.
    settings.DEMO_OUTBOX = True
    settings.DEBUG = True
    settings.SNS_DEMO_SENT_EMAILS = True  # make run sets it
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "sent-emails"
    sent_page = ask_for_link(imported.email, follow=True)
    assert "Sent emails" in sent_page.content.decode()
    page = client.get(reverse("sent-emails")).content.decode()
    [path] = set(LINK.findall(page))
    assert create_password(client, path).status_code == 302
    imported.refresh_from_db()
    assert imported.check_password(NEW_PASSWORD)


def test_outside_the_demo_there_is_no_sent_emails_page(client, settings):
    settings.DEMO_OUTBOX = False
    assert client.get(reverse("sent-emails")).status_code == 404
