"""Service tokens: creating, revoking and using one. Each owns its transaction and records
its audit event in it."""

import datetime
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import record
from core.client import Client, ip_or_none

from .errors import RateLimited, ServiceTokenInvalid, TokenRefused
from .models import Scope, ServiceToken

# A recognisable prefix, so that a token pasted where it should not be (a ticket, a
# repository) is easy to find and to scan for.
TOKEN_PREFIX = "sns_"  # noqa: S105  # nosec B105 - a public marker, not a secret
LONGEST_LIFE = datetime.timedelta(days=365)
RATE_WINDOW = datetime.timedelta(minutes=1)
# Longer than any token this service issues: anything longer is refused before hashing.
MAX_TOKEN_LENGTH = 100


def token_digest(secret: str) -> str:
    """The SHA-256 of a token: only this is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def service_token_create(
    *,
    name: str,
    owner,
    scopes: list[str],
    expires_at: datetime.datetime,
    actor,
    client: Client | None = None,
) -> tuple[ServiceToken, str]:
    """A new token and its secret, which is returned here once and never stored."""
    now = timezone.now()
    name = name.strip()
    if not name:
        raise ServiceTokenInvalid("name", "Enter a name for the token")
    chosen = sorted(set(scopes))
    if not chosen or not set(chosen) <= set(Scope.values):
        raise ServiceTokenInvalid("scopes", "Select what the token may read")
    if Scope.CASE_REASONS in chosen and Scope.REGISTER_READ not in chosen:
        raise ServiceTokenInvalid(
            "scopes", "Select reading the register too: free text comes with business cases"
        )
    if expires_at <= now:
        raise ServiceTokenInvalid("expires_on", "The expiry date must be in the future")
    if expires_at > now + LONGEST_LIFE:
        raise ServiceTokenInvalid("expires_on", "The expiry date must be within a year")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ServiceToken.objects.create(
            name=name,
            owner=owner,
            scope=" ".join(chosen),
            token_hash=token_digest(secret),
            token_hint=secret[:8],
            expires_at=expires_at,
            created_by=actor,
        )
        record(
            actor=actor,
            action="service_token.created",
            obj=token,
            changes={
                "name": token.name,
                "owner": owner.email,
                "scope": token.scope,
                "expires_at": token.expires_at,
            },
            client=client,
        )
    return token, secret


def service_token_revoke(
    *, token: ServiceToken, actor, client: Client | None = None
) -> ServiceToken:
    """Revoke a token: it answers 401 from now on. Revoking it again changes nothing."""
    with transaction.atomic():
        token = ServiceToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            return token
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
        record(
            actor=actor,
            action="service_token.revoked",
            obj=token,
            changes={"revoked_at": [None, token.revoked_at]},
            client=client,
        )
    return token


@dataclass(frozen=True)
class TokenUse:
    """The token a request was let through with, and its scopes."""

    token_id: int
    name: str
    scopes: frozenset[str]


def service_token_use(
    *, secret: str, client: Client | None = None, now: datetime.datetime | None = None
) -> TokenUse:
    """Let one request through with this token, or refuse it.

    Refuses an unknown, expired or revoked token (`TokenRefused`) and a request past the
    token's `SNS_API_RATE_PER_MINUTE` in the current minute (`RateLimited`, a fixed window
    kept in the token's row, so every web worker counts the same requests). Otherwise records
    when and from where it was last used, and, when that address differs from the last one,
    an audit event (`service_token.used_from_new_address`): a token used from somewhere new
    is what a security team asks about, and an event per request would drown the trail.
    """
    if not secret or len(secret) > MAX_TOKEN_LENGTH or not secret.startswith(TOKEN_PREFIX):
        raise TokenRefused("The token is not recognised")
    digest = token_digest(secret)
    now = now or timezone.now()
    address = ip_or_none(client.address) if client else None
    connection = transaction.get_connection()
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        token = ServiceToken.objects.select_for_update().filter(token_hash=digest).first()
        if token is None or not hmac.compare_digest(token.token_hash, digest):
            raise TokenRefused("The token is not recognised")
        if token.revoked_at is not None:
            raise TokenRefused("The token has been revoked")
        if token.expires_at <= now:
            raise TokenRefused("The token has expired")
        window_open = (
            token.window_started_at is not None
            and token.window_started_at <= now < token.window_started_at + RATE_WINDOW
        )
        if window_open and token.window_requests >= settings.SNS_API_RATE_PER_MINUTE:
            left = (token.window_started_at + RATE_WINDOW - now).total_seconds()
            raise RateLimited(max(1, math.ceil(left)))
        if window_open:
            token.window_requests += 1
        else:
            token.window_started_at, token.window_requests = now, 1
        previous_address = token.last_used_address
        token.last_used_at = now
        token.last_used_address = address
        token.save(
            update_fields=[
                "last_used_at",
                "last_used_address",
                "window_started_at",
                "window_requests",
                "updated_at",
            ]
        )
        if address != previous_address:
            record(
                actor=None,
                action="service_token.used_from_new_address",
                obj=token,
                changes={"address": [previous_address, address]},
                client=client,
            )
        elif own_transaction and connection.vendor == "postgresql":
            # Every API request writes its token's counters, and waiting for that commit's
            # WAL flush (several milliseconds on a busy disk) holds a web worker and the
            # token's row. A crash can lose only the last fraction of a second's counts and
            # times of use: never an audit event (the branch above commits as usual).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
    return TokenUse(token_id=token.pk, name=token.name, scopes=frozenset(token.scopes))
