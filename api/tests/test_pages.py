"""The admins' pages: list, create (the token shown once, on a confirmation panel) and
revoke service tokens, and the read API's reference drawn from its OpenAPI document."""

import datetime
import hashlib

import pytest
from django.urls import reverse
from django.utils import timezone

from api.models import ServiceToken
from audit.models import AuditEvent
from people.models import Role
from people.tests.factories import UserFactory

from .factories import bearer, token_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    user = UserFactory(role=Role.ADMIN, email="ada.admin@example.gov.uk")
    client.force_login(user)
    return user


def _create(client, meta=None, **changes):
    expires = timezone.localdate() + datetime.timedelta(days=90)
    data = {
        "name": "Security monitoring",
        "owner_email": "ada.admin@example.gov.uk",
        "scopes": ["audit:read"],
        "expires_on_0": expires.day,
        "expires_on_1": expires.month,
        "expires_on_2": expires.year,
        **changes,
    }
    return client.post(reverse("api:token-create"), data, **(meta or {}))


def test_an_admin_creates_a_token_and_sees_it_once(client, admin):
    response = _create(client, {"HTTP_USER_AGENT": "Firefox", "REMOTE_ADDR": "203.0.113.4"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "govuk-panel--confirmation" in html and "shown only on this page" in html
    assert "no-store" in response["Cache-Control"]
    token = ServiceToken.objects.get()
    [secret] = [word for word in html.split('"') if word.startswith("sns_")]
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.owner == admin and token.scope == "audit:read"
    # Works at once, and the list never shows it again.
    assert client.get(reverse("api-v1:audit-events"), **bearer(secret)).status_code == 200
    listing = client.get(reverse("api:token-list")).content.decode()
    assert "Security monitoring" in listing and secret not in listing
    assert secret[:8] in listing
    event = AuditEvent.objects.get(action="service_token.created")
    assert event.actor == admin and event.client_address == "203.0.113.4"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter a name for the token"),
        ({"owner_email": "nobody@example.gov.uk"}, "someone in the staff directory"),
        ({"scopes": []}, "Select what the token may read"),
        ({"scopes": ["cases:reasons"]}, "Select reading the register too"),
        ({"expires_on_2": timezone.localdate().year + 2}, "within a year"),
        ({"expires_on_0": "", "expires_on_1": "", "expires_on_2": ""}, "Enter the expiry date"),
        ({"expires_on_0": "31", "expires_on_1": "2"}, "Enter a real date"),
    ],
)
def test_a_bad_answer_shows_a_govuk_error_and_creates_nothing(client, admin, changes, message):
    response = _create(client, **changes)
    html = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in html and message in html
    assert "<title>Error: " in html
    assert not ServiceToken.objects.exists()


def test_revoking_asks_first_then_the_token_is_refused(client, admin):
    token, secret = token_with("audit:read", name="Old SIEM")
    url = reverse("api:token-revoke", args=[token.pk])
    page = client.get(url).content.decode()
    assert "Revoke the API token" in page and "Old SIEM" in page
    token.refresh_from_db()
    assert token.revoked_at is None  # the question changes nothing
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("api:token-list")
    listing = client.get(reverse("api:token-list")).content.decode()
    assert "You revoked the token" in listing and "Revoked" in listing
    assert client.get(reverse("api-v1:audit-events"), **bearer(secret)).status_code == 401
    assert AuditEvent.objects.filter(action="service_token.revoked", actor=admin).count() == 1


@pytest.mark.parametrize("role", [Role.STAFF, Role.DIRECTOR, Role.ICT, Role.AUDITOR])
def test_only_admins_manage_tokens(client, role):
    token, _ = token_with("audit:read")
    client.force_login(UserFactory(role=role))
    for url in (
        reverse("api:token-list"),
        reverse("api:token-create"),
        reverse("api:token-revoke", args=[token.pk]),
        reverse("api:reference"),
    ):
        assert client.get(url).status_code == 403
    assert client.post(reverse("api:token-revoke", args=[token.pk])).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_reference_page_draws_the_openapi_document_without_script(client, admin):
    html = client.get(reverse("api:reference")).content.decode()
    for text in ("/api/v1/grants/", "/api/v1/audit-events/", "after_id", "AuditEventItem"):
        assert text in html
    assert "<script" not in html.split("</header>", 1)[-1].split("<footer", 1)[0]


def test_the_token_list_costs_the_same_queries_however_many_tokens(
    client, admin, django_assert_max_num_queries
):
    for n in range(15):
        token_with("audit:read", name=f"token {n}")
    with django_assert_max_num_queries(8):
        assert client.get(reverse("api:token-list")).status_code == 200
