"""The provider's discovery document (`<issuer>/.well-known/openid-configuration`).

mozilla-django-oidc takes its endpoints as settings; the portal takes them from the provider,
read when they are first needed and kept for an hour, so that the provider may move an
endpoint or add a key without the portal being reconfigured. The document must name the
issuer the portal was configured with (OpenID Connect Discovery 1.0, section 4.3): otherwise
another provider's document could send the portal to its endpoints.
"""

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

KEPT_SECONDS = 3600
REQUIRED = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")


class ProviderUnavailable(Exception):
    """The discovery document could not be read, or does not describe OIDC_ISSUER."""


@dataclass(frozen=True)
class ProviderConfiguration:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


_kept: dict[str, tuple[float, ProviderConfiguration]] = {}
_lock = threading.Lock()


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def provider_configuration() -> ProviderConfiguration:
    """The configured provider's endpoints. Raises ProviderUnavailable, saying why."""
    issuer = settings.OIDC_ISSUER
    with _lock:
        kept = _kept.get(issuer)
    if kept and kept[0] > time.monotonic():
        return kept[1]
    configuration = _read(issuer)
    with _lock:
        _kept[issuer] = (time.monotonic() + KEPT_SECONDS, configuration)
    return configuration


def forget() -> None:
    """Read the document afresh next time (tests start providers on new ports)."""
    with _lock:
        _kept.clear()


def _read(issuer: str) -> ProviderConfiguration:
    url = discovery_url(issuer)
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnavailable(
            f"The single sign-on provider's discovery document {url} could not be read "
            f"({type(error).__name__}): check OIDC_ISSUER and that the provider can be reached"
        ) from None
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"{url} is not a discovery document")
    if document.get("issuer") != issuer:
        raise ProviderUnavailable(
            f"{url} names the issuer {str(document.get('issuer'))[:200]!r}, not OIDC_ISSUER "
            f"{issuer!r}: set OIDC_ISSUER to the provider's issuer exactly"
        )
    missing = [name for name in REQUIRED if not _usable_url(document.get(name), issuer)]
    if missing:
        raise ProviderUnavailable(
            f"{url} has no usable {', '.join(missing)} (https, or http on this machine only)"
        )
    end_session = document.get("end_session_endpoint")
    return ProviderConfiguration(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        userinfo_endpoint=document["userinfo_endpoint"],
        jwks_uri=document["jwks_uri"],
        end_session_endpoint=end_session if _usable_url(end_session, issuer) else None,
    )


def _usable_url(value, issuer: str) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return True
    # http only where the issuer itself is http on this machine (settings allows no other).
    return (
        parts.scheme == "http"
        and urlsplit(issuer).scheme == "http"
        and parts.hostname in {"127.0.0.1", "localhost", "::1"}
    )
