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


# The real provider's people: (username, email as the provider holds it, verified).
PROVIDER_PASSWORD = "provider-pass-word-1"  # noqa: S105 - the test provider's
PROVIDER_PEOPLE = [
    ("dana", "Dana.Director@Example.gov.uk", True),
    ("stranger", "stranger@example.gov.uk", True),
    ("switched", "switched.off@example.gov.uk", True),
    ("unverified", "unverified@example.gov.uk", False),
    ("noemail", "", True),
]


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    """The real provider (tests/oidc_provider: django-oauth-toolkit) on a loopback port, for
    the whole session, with the live server's callback registered."""
    from tests.oidc_provider.launch import start_provider

    provider = start_provider(
        tmp_path_factory.mktemp("oidc-provider"),
        redirect_uri=f"{live_server.url}/sign-in/sso/callback/",
        post_logout_redirect_uri=f"{live_server.url}/sign-in/",
        people=[
            {"username": name, "password": PROVIDER_PASSWORD, "email": email, "verified": ok}
            for name, email, ok in PROVIDER_PEOPLE
        ],
    )
    yield provider
    provider.stop()


@pytest.fixture
def real_provider(oidc_provider, settings):
    """The portal pointed at the real provider for one test."""
    use_provider(
        settings,
        issuer=oidc_provider.issuer,
        client_id=oidc_provider.client_id,
        client_secret=oidc_provider.client_secret,
    )
    yield oidc_provider
    discovery.forget()
