"""Single sign-on's answers, through the test client against the forged provider over real
HTTP (tests/oidc_provider/forged.py): mozilla-django-oidc unpatched, every refusal a page,
nobody signed in, and the attempt in the audit trail. The same in Chromium against a real
provider: test_sso_browser.py."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from audit.models import AuditEvent
from people.models import Role
from people.tests.factories import TEST_PASSWORD, UserFactory
from people.tests.sso_setup import use_provider

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.7"


def sign_in_through(client, provider, *, next_url: str = ""):
    """The browser's round trip: the portal's start page, the provider's authorization
    endpoint (which answers at once with a code), the portal's callback."""
    start = reverse("people:sso-start") + (f"?next={next_url}" if next_url else "")
    to_provider = client.get(start, REMOTE_ADDR=ADDRESS)
    assert to_provider.status_code == 302
    asked = parse_qs(urlsplit(to_provider.url).query)
    back = requests.get(to_provider.url, allow_redirects=False, timeout=5)
    callback = urlsplit(back.headers["Location"])
    response = client.get(f"{callback.path}?{callback.query}", REMOTE_ADDR=ADDRESS)
    return asked, callback, response


def refusals():
    return AuditEvent.objects.filter(action="auth.sso_refused").order_by("id")


def test_a_person_in_the_directory_is_signed_in_with_pkce_state_and_nonce(client, forged_provider):
    person = UserFactory(email="dana.director@example.gov.uk")
    forged_provider.email = "Dana.Director@EXAMPLE.gov.uk"  # matched in any letter case

    asked, _callback, response = sign_in_through(client, forged_provider, next_url="/guidance/")

    assert response.status_code == 302 and response.url == "/guidance/"
    assert client.get(reverse("home")).context["user"] == person
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"] and asked["state"]
    assert asked["scope"] == ["openid email"]
    [token_request] = forged_provider.token_requests
    assert len(token_request["code_verifier"]) >= 43  # PKCE: the verifier goes with the code
    event = AuditEvent.objects.get(action="auth.signed_in")
    assert event.actor == person and event.client_address == ADDRESS
    assert event.changes == {"method": "single sign-on"}
    assert not refusals().exists()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("other_key", "bad_signature"),
        ("unknown_key_id", "bad_signature"),
        ("unsigned", "bad_signature"),
        ("wrong_issuer", "wrong_issuer"),
        ("wrong_audience", "wrong_audience"),
        ("expired", "token_expired"),
        ("no_expiry", "claims_missing"),
        ("wrong_nonce", "bad_nonce"),
        ("userinfo_about_someone_else", "userinfo_mismatch"),
    ],
)
def test_a_forged_or_stale_id_token_signs_no_one_in(client, forged_provider, mode, reason):
    UserFactory(email="dana.director@example.gov.uk")
    forged_provider.mode = mode

    _asked, _callback, response = sign_in_through(client, forged_provider)

    assert response.status_code == 400
    assert "Sorry, we could not sign you in" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(action="auth.signed_in").exists()
    [event] = refusals()
    assert event.changes["reason"] == reason
    assert event.client_address == ADDRESS and event.actor is None
    assert "forged-access-token" not in str(event.changes)  # no token in the trail


@pytest.mark.parametrize(
    ("email", "verified", "active", "reason", "says"),
    [
        ("", True, True, "email_missing", "did not give the portal an email address"),
        (
            "dana.director@example.gov.uk",
            False,
            True,
            "email_unverified",
            "has not been confirmed by your organisation",
        ),
        ("someone.new@example.gov.uk", True, True, "unknown_person", "Nobody in the portal"),
        ("dana.director@example.gov.uk", True, False, "switched_off", "has been switched off"),
    ],
)
def test_a_person_the_directory_does_not_know_or_has_switched_off_is_refused(
    client, forged_provider, email, verified, active, reason, says
):
    UserFactory(email="dana.director@example.gov.uk", is_active=active)
    forged_provider.email, forged_provider.email_verified = email, verified
    people_before = set(UserFactory._meta.model.objects.values_list("pk", flat=True))

    _asked, _callback, response = sign_in_through(client, forged_provider)

    page = response.content.decode()
    assert response.status_code == 403
    assert "You cannot sign in with this account" in page and says in page
    assert "_auth_user_id" not in client.session
    # Nobody is ever created by signing in.
    assert set(UserFactory._meta.model.objects.values_list("pk", flat=True)) == people_before
    [event] = refusals()
    assert event.changes["reason"] == reason
    assert event.changes["email"] == email.lower()


def test_an_answer_with_a_state_this_browser_did_not_ask_for_is_refused(client, forged_provider):
    UserFactory(email="dana.director@example.gov.uk")
    client.get(reverse("people:sso-start"))  # a state of its own in the session

    response = client.get(
        reverse("people:sso-callback"), {"code": "code-0", "state": "forged"}, REMOTE_ADDR=ADDRESS
    )

    assert response.status_code == 400
    assert "Sorry, we could not sign you in" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert forged_provider.token_requests == []  # the code was never exchanged
    assert [e.changes["reason"] for e in refusals()] == ["bad_state"]


def test_an_answer_used_once_cannot_be_used_again(client, forged_provider):
    UserFactory(email="dana.director@example.gov.uk")
    _asked, callback, _response = sign_in_through(client, forged_provider)
    client.post(reverse("sign-out"))

    again = client.get(f"{callback.path}?{callback.query}", REMOTE_ADDR=ADDRESS)

    assert again.status_code == 400
    assert "_auth_user_id" not in client.session
    assert [e.changes["reason"] for e in refusals()] == ["bad_state"]


def test_the_provider_answering_with_an_error_signs_no_one_in(client, forged_provider):
    to_provider = client.get(reverse("people:sso-start"))
    state = parse_qs(urlsplit(to_provider.url).query)["state"][0]

    response = client.get(
        reverse("people:sso-callback"),
        {"error": "access_denied", "state": state},
        REMOTE_ADDR=ADDRESS,
    )

    assert response.status_code == 400
    assert "permission to sign in to the portal was not given" in response.content.decode()
    assert [e.changes["reason"] for e in refusals()] == ["provider_error"]


def test_a_provider_that_cannot_be_reached_gives_a_clear_page(client, settings, caplog):
    use_provider(
        settings, issuer="http://127.0.0.1:9", client_id="sns-portal", client_secret="s3cret"
    )
    response = client.get(reverse("people:sso-start"))
    assert response.status_code == 503
    assert "you cannot sign in with your account at the moment" in response.content.decode()
    assert "http://127.0.0.1:9/.well-known/openid-configuration could not be read" in caplog.text


def test_a_discovery_document_for_another_issuer_is_not_used(
    client, settings, forged_provider, caplog
):
    # The document at the configured address names another issuer: its endpoints are not used.
    settings.OIDC_ISSUER = forged_provider.issuer + "/"
    response = client.get(reverse("people:sso-start"))
    assert response.status_code == 503
    assert "not OIDC_ISSUER" in caplog.text


def test_refusals_from_one_address_are_counted_once_past_the_limit(
    client, settings, forged_provider
):
    settings.SNS_SIGNIN_ADDRESS_FAILURE_LIMIT = 3
    for _ in range(8):
        response = client.get(
            reverse("people:sso-callback"), {"code": "x", "state": "forged"}, REMOTE_ADDR=ADDRESS
        )
        assert response.status_code == 400
    # The first three, then the 4th and the 8th, each with the count so far.
    assert [e.changes["refused_from_address"] for e in refusals()] == [1, 2, 3, 4, 8]


def test_without_oidc_settings_there_is_no_single_sign_on(client):
    assert client.get(reverse("people:sso-start")).status_code == 404
    assert (
        client.get(reverse("people:sso-callback"), {"code": "x", "state": "y"}).status_code == 404
    )
    page = client.get(reverse("sign-in")).content.decode()
    assert "Sign in with your Home Office account" not in page
    assert 'name="password"' in page


def test_a_person_signed_in_this_way_has_their_roles_permissions_until_switched_off(
    client, forged_provider
):
    auditor = UserFactory(email="dana.director@example.gov.uk", role=Role.AUDITOR)
    sign_in_through(client, forged_provider)
    assert client.get(reverse("oversight:audit-trail")).status_code == 200
    assert client.get(reverse("access_requests:case-start")).status_code == 403

    auditor.is_active = False
    auditor.save(update_fields=["is_active"])
    response = client.get(reverse("oversight:audit-trail"))
    assert response.status_code == 302 and response.url.startswith(reverse("sign-in"))


def test_signing_out_offers_the_providers_sign_out_only_after_single_sign_on(
    client, forged_provider
):
    person = UserFactory(email="dana.director@example.gov.uk")
    sign_in_through(client, forged_provider)
    page = client.post(reverse("sign-out"), follow=True).content.decode()
    assert "You have signed out" in page
    offer = f"{forged_provider.issuer}/logout?client_id=sns-portal&amp;post_logout_redirect_uri="
    assert offer + "http%3A%2F%2Ftestserver%2Fsign-in%2F" in page
    assert offer not in client.get(reverse("sign-in")).content.decode()  # offered once

    client.post(reverse("sign-in"), {"username": person.email, "password": TEST_PASSWORD})
    page = client.post(reverse("sign-out"), follow=True).content.decode()
    assert "You have signed out" in page and offer not in page
