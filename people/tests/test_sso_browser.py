"""Single sign-on in Chromium against a real OpenID Connect provider (django-oauth-toolkit,
tests/oidc_provider, on a loopback port): signing in, every refusal, signing out of the
portal and then of the provider; and the forged answers (tests/oidc_provider/forged.py)
through the browser too. axe-core on each of the portal's pages on the way."""

import pytest
from playwright.sync_api import expect

from audit.models import AuditEvent
from people.tests.conftest import PROVIDER_PASSWORD
from people.tests.factories import UserFactory
from tests.accessibility.browser import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUTTON = "Sign in with your Home Office account"


def sign_in_at_the_provider(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/sign-in/?next=/guidance/")
    page.get_by_role("button", name=BUTTON).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Test provider: sign in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Continue").click()


def test_a_person_signs_in_through_the_provider_and_out_of_both(live_server, page, real_provider):
    person = UserFactory(email="dana.director@example.gov.uk", profile__name="Dana Director")
    page.goto(f"{live_server.url}/sign-in/")
    assert axe_violations(page, live_server) == []

    sign_in_at_the_provider(page, live_server, "dana")

    # The provider's Dana.Director@Example.gov.uk is the directory's dana.director@….
    expect(page.get_by_role("heading", level=1)).to_have_text("Social networking guidance")
    assert page.url == f"{live_server.url}/guidance/"
    event = AuditEvent.objects.get(action="auth.signed_in")
    assert event.actor == person and event.changes == {"method": "single sign-on"}

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("You have signed out")
    offer = page.get_by_role("link", name="Sign out of your Home Office account too")
    expect(offer).to_be_visible()
    assert offer.get_attribute("href").startswith(f"{real_provider.issuer}/logout/?")
    assert axe_violations(page, live_server) == []
    provider_sign_out = offer.get_attribute("href")
    page.goto(f"{live_server.url}/guidance/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")  # the portal's is over
    expect(offer).to_have_count(0)  # offered once

    page.goto(provider_sign_out)
    page.get_by_role("button", name="Logout").click()  # the provider asks first
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert page.url.startswith(f"{live_server.url}/sign-in/")
    # Signed out of the provider too: signing in again asks for the provider's password.
    page.get_by_role("button", name=BUTTON).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Test provider: sign in")


@pytest.mark.parametrize(
    ("username", "says", "reason"),
    [
        ("stranger", "Nobody in the portal's staff directory", "unknown_person"),
        ("switched", "has been switched off", "switched_off"),
        ("unverified", "has not been confirmed by your organisation", "email_unverified"),
        ("noemail", "did not give the portal an email address", "email_missing"),
    ],
)
def test_a_person_the_portal_does_not_let_in_is_told_so(
    live_server, page, real_provider, username, says, reason
):
    UserFactory(email="switched.off@example.gov.uk", is_active=False)
    UserFactory(email="unverified@example.gov.uk")

    sign_in_at_the_provider(page, live_server, username)

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "You cannot sign in with this account"
    )
    expect(page.locator("main")).to_contain_text(says)
    assert axe_violations(page, live_server) == []
    page.goto(f"{live_server.url}/guidance/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    [event] = AuditEvent.objects.filter(action="auth.sso_refused")
    assert event.changes["reason"] == reason
    assert not AuditEvent.objects.filter(action="auth.signed_in").exists()


def test_an_answer_with_a_forged_state_signs_no_one_in(live_server, page, real_provider):
    UserFactory(email="dana.director@example.gov.uk")
    page.goto(f"{live_server.url}/sign-in/sso/callback/?code=stolen&state=forged")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sorry, we could not sign you in")
    assert axe_violations(page, live_server) == []
    page.get_by_role("link", name="Try signing in again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    [event] = AuditEvent.objects.filter(action="auth.sso_refused")
    assert event.changes["reason"] == "bad_state"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("good", None),
        ("other_key", "bad_signature"),
        ("wrong_issuer", "wrong_issuer"),
        ("wrong_audience", "wrong_audience"),
        ("expired", "token_expired"),
        ("wrong_nonce", "bad_nonce"),
    ],
)
def test_forged_id_tokens_sign_no_one_in(live_server, page, forged_provider, mode, reason):
    UserFactory(email="dana.director@example.gov.uk")
    forged_provider.mode = mode
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_role("button", name=BUTTON).click()  # the forged provider answers at once
    if reason is None:
        expect(page.get_by_role("heading", level=1)).not_to_have_text("Sign in")
        assert AuditEvent.objects.filter(action="auth.signed_in").count() == 1
        return
    expect(page.get_by_role("heading", level=1)).to_have_text("Sorry, we could not sign you in")
    page.goto(f"{live_server.url}/guidance/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    [event] = AuditEvent.objects.filter(action="auth.sso_refused")
    assert event.changes["reason"] == reason
