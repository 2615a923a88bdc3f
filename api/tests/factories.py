import datetime

from django.utils import timezone

from api.models import Scope
from api.services import service_token_create
from people.models import Role
from people.tests.factories import UserFactory


def token_with(*scopes: str, owner=None, days: int = 30, name: str = "SIEM") -> tuple:
    """A live token with these scopes (all of them by default) and its secret."""
    admin = UserFactory(role=Role.ADMIN)
    return service_token_create(
        name=name,
        owner=owner or admin,
        scopes=list(scopes or Scope.values),
        expires_at=timezone.now() + datetime.timedelta(days=days),
        actor=admin,
    )


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
