"""How a request to the read API shows who it is: `Authorization: Bearer sns_…`, a service
token (`api.services.service_token_use`), with the scope the endpoint needs."""

from ninja.errors import HttpError
from ninja.security import HttpBearer

from core.client import client_of

from .errors import TokenRefused
from .services import service_token_use


class ServiceTokenAuth(HttpBearer):
    """A service token holding `scope`. No token, or one that is unknown, expired or
    revoked: 401; a token without the scope: 403; past its rate: 429 (`RateLimited`)."""

    def __init__(self, scope: str):
        super().__init__()
        self.scope = scope

    def __call__(self, request):
        # Ninja's own reading logs a header of another scheme in DEBUG: a token pasted as
        # "Token sns_…" would reach the log. Read it here, logging nothing.
        scheme, _, token = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != self.openapi_scheme:
            return None
        return self.authenticate(request, token.strip())

    def authenticate(self, request, token):
        try:
            use = service_token_use(secret=token, client=client_of(request))
        except TokenRefused as refused:
            raise HttpError(401, refused.message) from None
        if self.scope not in use.scopes:
            raise HttpError(403, f"The token does not have the {self.scope} scope")
        request.service_token = use
        return use
