import pytest

from people.models import Role
from people.tests.factories import UserFactory


@pytest.fixture
def auditor(client):
    """An auditor, signed in."""
    user = UserFactory(role=Role.AUDITOR, email="auditor@example.gov.uk")
    client.force_login(user)
    return user
