"""Service tokens: created with only a hash stored, revoked for good, used with a rate limit,
and every creation, revocation and use from a new address in the audit trail."""

import datetime
import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.errors import RateLimited, ServiceTokenInvalid, TokenRefused
from api.models import Scope, ServiceToken
from api.services import (
    service_token_create,
    service_token_revoke,
    service_token_use,
)
from audit.models import AuditEvent
from core.client import Client
from people.models import Role
from people.tests.factories import UserFactory

from .factories import token_with

pytestmark = pytest.mark.django_db

HERE = Client(address="203.0.113.5", user_agent="siem/1.0")
THERE = Client(address="198.51.100.7", user_agent="siem/1.0")


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored():
    admin = UserFactory(role=Role.ADMIN)
    token, secret = service_token_create(
        name="  SIEM  ",
        owner=admin,
        scopes=[Scope.AUDIT_READ],
        expires_at=timezone.now() + datetime.timedelta(days=365),
        actor=admin,
        client=HERE,
    )
    assert secret.startswith("sns_") and len(secret) == 4 + 43
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = ServiceToken.objects.filter(pk=token.pk).values()[0]
    assert all(secret not in str(value) for value in stored.values())
    assert token.name == "SIEM" and token.scope == "audit:read"
    event = AuditEvent.objects.get(action="service_token.created")
    assert event.object_id == str(token.pk) and event.actor == admin
    assert event.changes["scope"] == "audit:read" and secret not in str(event.changes)
    assert event.client_address == HERE.address


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["everything"]}, "scopes"),
        ({"scopes": [Scope.CASE_REASONS]}, "scopes"),
        ({"expires_at": timezone.now() - datetime.timedelta(seconds=1)}, "expires_on"),
        ({"expires_at": timezone.now() + datetime.timedelta(days=366)}, "expires_on"),
    ],
)
def test_a_token_is_refused_without_a_name_a_known_scope_or_an_expiry_within_a_year(changes, field):
    admin = UserFactory(role=Role.ADMIN)
    arguments = {
        "name": "SIEM",
        "owner": admin,
        "scopes": [Scope.REGISTER_READ],
        "expires_at": timezone.now() + datetime.timedelta(days=30),
        "actor": admin,
        **changes,
    }
    with pytest.raises(ServiceTokenInvalid) as refused:
        service_token_create(**arguments)
    assert refused.value.field == field
    assert not ServiceToken.objects.exists()


def test_a_revoked_token_is_refused_and_revoking_again_changes_nothing():
    token, secret = token_with(Scope.AUDIT_READ)
    admin = UserFactory(role=Role.ADMIN)
    service_token_revoke(token=token, actor=admin, client=HERE)
    service_token_revoke(token=token, actor=admin, client=HERE)
    assert AuditEvent.objects.filter(action="service_token.revoked").count() == 1
    with pytest.raises(TokenRefused, match="revoked"):
        service_token_use(secret=secret, client=HERE)


def test_an_expired_unknown_or_altered_token_is_refused():
    token, secret = token_with(Scope.AUDIT_READ, days=1)
    with pytest.raises(TokenRefused, match="expired"):
        service_token_use(secret=secret, now=timezone.now() + datetime.timedelta(days=2))
    for wrong in (
        "",
        "sns_",
        secret[:-1],
        secret + "x",
        secret.replace("sns_", "abc_"),
        "sns_" + "a" * 200,
    ):
        with pytest.raises(TokenRefused, match="not recognised"):
            service_token_use(secret=wrong)


def test_each_use_is_remembered_and_a_new_address_is_audited_once():
    token, secret = token_with(Scope.AUDIT_READ)
    service_token_use(secret=secret, client=HERE)
    service_token_use(secret=secret, client=HERE)
    service_token_use(secret=secret, client=THERE)
    service_token_use(secret=secret, client=THERE)
    token.refresh_from_db()
    assert token.last_used_address == THERE.address and token.last_used_at is not None
    events = AuditEvent.objects.filter(action="service_token.used_from_new_address").order_by("id")
    assert [e.changes["address"] for e in events] == [
        [None, HERE.address],
        [HERE.address, THERE.address],
    ]
    assert all(e.object_id == str(token.pk) for e in events)


@pytest.mark.django_db(transaction=True)
def test_a_use_from_the_known_address_does_not_wait_for_the_disk_but_a_new_address_does():
    token, secret = token_with(Scope.REGISTER_READ)
    asynchronous = "SET LOCAL synchronous_commit = off"
    with CaptureQueriesContext(connection) as new_address:
        service_token_use(secret=secret, client=HERE)
    with CaptureQueriesContext(connection) as same_address:
        service_token_use(secret=secret, client=HERE)
    # The audit event of a new address is committed as every event is: flushed to disk.
    assert not any(asynchronous in query["sql"] for query in new_address.captured_queries)
    assert any(asynchronous in query["sql"] for query in same_address.captured_queries)
    token.refresh_from_db()
    assert token.window_requests == 2 and token.last_used_address == HERE.address
    assert AuditEvent.objects.filter(action="service_token.used_from_new_address").count() == 1


def test_past_its_rate_a_token_waits_for_the_next_minute(settings):
    settings.SNS_API_RATE_PER_MINUTE = 3
    token, secret = token_with(Scope.AUDIT_READ)
    start = timezone.now()
    for second in range(3):
        service_token_use(secret=secret, now=start + datetime.timedelta(seconds=second))
    with pytest.raises(RateLimited) as limited:
        service_token_use(secret=secret, now=start + datetime.timedelta(seconds=20))
    assert limited.value.retry_after == 40
    service_token_use(secret=secret, now=start + datetime.timedelta(seconds=61))
