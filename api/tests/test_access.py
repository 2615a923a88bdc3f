"""Every endpoint of the read API × every kind of token: the right scope gets 200; no token,
an unknown, expired or revoked one 401; a token without the endpoint's scope 403; and past
the token's rate 429 with Retry-After."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from api.models import Scope
from api.services import service_token_revoke
from people.models import Role
from people.tests.factories import UserFactory

from .factories import bearer, token_with

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "api-v1:grants": Scope.REGISTER_READ,
    "api-v1:business-cases": Scope.REGISTER_READ,
    "api-v1:audit-events": Scope.AUDIT_READ,
}


def _expired(scope):
    token, secret = token_with(scope, days=1)
    type(token).objects.filter(pk=token.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3),
        expires_at=timezone.now() - datetime.timedelta(days=1),
    )
    return secret


def _revoked(scope):
    token, secret = token_with(scope)
    service_token_revoke(token=token, actor=UserFactory(role=Role.ADMIN))
    return secret


KINDS = {
    "no token": (lambda scope: None, 401),
    "unknown token": (lambda scope: "sns_" + "A" * 43, 401),
    "another scheme": (lambda scope: token_with(scope)[1], 401),
    "expired": (_expired, 401),
    "revoked": (_revoked, 401),
    "wrong scope": (
        lambda scope: token_with(*(set(Scope.values) - {scope, Scope.CASE_REASONS}))[1],
        403,
    ),
    "right scope": (lambda scope: token_with(scope)[1], 200),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_answers_each_kind_of_token(client, endpoint, kind):
    make, status = KINDS[kind]
    secret = make(ENDPOINTS[endpoint])
    if secret is None:
        headers = {}
    elif kind == "another scheme":
        headers = {"HTTP_AUTHORIZATION": f"Token {secret}"}
    else:
        headers = bearer(secret)
    response = client.get(reverse(endpoint), **headers)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    if status != 200:
        assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_past_its_rate_a_token_gets_429_with_retry_after(client, settings, endpoint):
    settings.SNS_API_RATE_PER_MINUTE = 2
    _token, secret = token_with(ENDPOINTS[endpoint])
    statuses = [client.get(reverse(endpoint), **bearer(secret)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.get(reverse(endpoint), **bearer(secret))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_a_signed_in_admin_without_a_token_gets_401(client):
    client.force_login(UserFactory(role=Role.ADMIN))
    assert client.get(reverse("api-v1:grants")).status_code == 401


def test_the_openapi_document_is_published(client):
    document = client.get(reverse("api-v1:openapi-json")).json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/grants/", "/api/v1/business-cases/", "/api/v1/audit-events/"} <= set(
        document["paths"]
    )
