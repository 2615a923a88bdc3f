"""LOCAL_PASSWORDS=off: single sign-on is the only way in. No password form, no password
link pages, and no password signs anyone in, through any page."""

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory
from django.urls import reverse

from audit.models import AuditEvent
from people.tests.factories import TEST_PASSWORD, UserFactory
from people.tests.sso_setup import use_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def passwords_off(settings):
    use_provider(
        settings,
        issuer="https://sign-in.example.gov.uk",
        client_id="sns-portal",
        client_secret="s3cret",
        local_passwords=False,
    )


def test_the_sign_in_page_offers_only_single_sign_on(client, passwords_off):
    page = client.get(reverse("sign-in") + "?next=/guidance/").content.decode()
    assert "Sign in with your Home Office account" in page
    assert f'href="{reverse("people:sso-start")}?next=/guidance/"' in page
    assert 'name="password"' not in page
    assert "Create or reset your password" not in page


def test_a_posted_password_is_refused(client, passwords_off):
    person = UserFactory()
    response = client.post(
        reverse("sign-in"), {"username": person.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 403
    assert "You do not need a password for this service" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(action="auth.signed_in").exists()


def test_no_password_signs_anyone_in_even_through_the_admin(client, passwords_off):
    admin = UserFactory(is_staff=True, is_superuser=True)
    response = client.post(
        reverse("admin:login"), {"username": admin.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    assert "Passwords are switched off" in response.content.decode()
    assert "_auth_user_id" not in client.session
    request = RequestFactory().post("/sign-in/")
    assert authenticate(request, username=admin.email, password=TEST_PASSWORD) is None


@pytest.mark.parametrize(
    "url",
    [
        reverse("people:password-reset"),
        reverse("people:password-reset-sent"),
        reverse("people:password-reset-confirm", args=["MQ", "set-password"]),
        reverse("people:password-reset-complete"),
    ],
)
def test_the_password_link_pages_say_to_use_single_sign_on(client, passwords_off, mailoutbox, url):
    for response in (client.get(url), client.post(url, {"email": "a@example.gov.uk"})):
        assert response.status_code == 403
        assert "Sign in with your Home Office account instead" in response.content.decode()
    assert mailoutbox == []


def test_with_both_ways_in_the_sign_in_page_offers_both(client, settings):
    use_provider(
        settings, issuer="https://sign-in.example.gov.uk", client_id="c", client_secret="s"
    )
    settings.OIDC_SIGN_IN_LABEL = "Sign in with your departmental account"
    page = client.get(reverse("sign-in")).content.decode()
    assert "Sign in with your departmental account" in page
    assert "Or sign in with your email address and password" in page
    assert 'name="password"' in page
