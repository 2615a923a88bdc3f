"""Pointing the portal at a test provider (the real one in tests/oidc_provider, or the
forged one) through settings, as the environment would."""

from people.sso import discovery


def use_provider(settings, *, issuer, client_id, client_secret, local_passwords=True) -> None:
    settings.OIDC_ISSUER = issuer
    settings.OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = client_id
    settings.OIDC_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = client_secret
    settings.SSO_ENABLED = True
    settings.LOCAL_PASSWORDS = local_passwords
    discovery.forget()
