import pytest

from people.sso import discovery
from people.tests.sso_setup import use_provider
from tests.oidc_provider.forged import CLIENT_ID, CLIENT_SECRET, ForgedProvider


@pytest.fixture
def forged_provider(settings):
    """The forged provider on a loopback port, and the portal pointed at it."""
    provider = ForgedProvider()
    use_provider(settings, issuer=provider.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    yield provider
    provider.stop()
    discovery.forget()
