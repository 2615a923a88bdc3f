from django.contrib.auth.decorators import login_not_required
from django.urls import path

from core.replica import reads_from_replica

from . import views
from .endpoints import api

app_name = "api"

urlpatterns = [
    path("", views.token_list, name="token-list"),
    path("new/", views.token_create, name="token-create"),
    path("<int:service_token>/revoke/", views.token_revoke, name="token-revoke"),
    path("reference/", views.reference, name="reference"),
]


def read_api_urls():
    """The read API's URLs (`/api/v1/`). They answer to service tokens, not sessions: each is
    exempt from the sign-in the rest of the portal needs (LoginRequiredMiddleware), and
    refuses a request without a token with 401 itself (`api.auth`). Each reads from the
    database replica when one is configured and up to date (`core.replica`); the token's
    own check and "last used" run in a transaction, on the primary."""
    patterns, app, namespace = api.urls
    for pattern in patterns:
        pattern.callback = login_not_required(reads_from_replica(pattern.callback))
    return patterns, app, namespace
