"""The single sign-on pages: starting a sign-in, the provider's answer, and the refusals.

Only the provider's answer signs anyone in, and only when its state is one this browser's
session asked for (used once), and the backend accepts the tokens and the person. Every
answer that signs no one in shows a page saying so and is recorded
(`people.services.sso_sign_in_refuse`).
"""

import logging
import re
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, login
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from core.client import client_of

from .. import services
from . import SSO_BACKEND
from .backend import PERSON_REASONS, SignInRefused, SingleSignOnBackend
from .discovery import ProviderUnavailable, provider_configuration

logger = logging.getLogger(__name__)

# The session key holding the provider's sign-out address for the page after signing out.
PROVIDER_SIGN_OUT = "sso_provider_sign_out"


def provider_unavailable_page(request, error: ProviderUnavailable):
    logger.error("Single sign-on is unavailable: %s", error)
    return render(
        request,
        "people/sso_unavailable.html",
        {"label": settings.OIDC_SIGN_IN_LABEL, "local_passwords": settings.LOCAL_PASSWORDS},
        status=503,
    )


@method_decorator([login_not_required, never_cache], name="dispatch")
class SingleSignOnStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider with a new state, nonce and PKCE challenge (the
    library's view), the endpoint read from the discovery document."""

    def __init__(self, **kwargs):
        # The library reads the endpoint from settings here; it is read per request instead.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request):
        if not settings.SSO_ENABLED:
            raise Http404("Single sign-on is not configured")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_configuration().authorization_endpoint
        except ProviderUnavailable as error:
            return provider_unavailable_page(request, error)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


@method_decorator([login_not_required, never_cache], name="dispatch")
class SingleSignOnCallbackView(View):
    """The provider's answer: signs the person in, or shows why not and records it."""

    http_method_names = ["get"]  # not HEAD: the answer is used once, by the browser's GET

    def get(self, request):
        if not settings.SSO_ENABLED:
            raise Http404("Single sign-on is not configured")
        states = request.session.get("oidc_states") or {}
        state = request.GET.get("state", "")
        entry = states.pop(state, None) if isinstance(state, str) else None
        if entry is not None:
            # Each state is used once, whatever the answer.
            request.session["oidc_states"] = states
        if request.GET.get("error"):
            return self.refused(request, SignInRefused("provider_error"))
        if entry is None or not request.GET.get("code"):
            return self.refused(request, SignInRefused("bad_state"))
        next_url = request.session.pop("oidc_login_next", None)
        try:
            # The backend itself rather than `django.contrib.auth.authenticate`: the password
            # lock-out (django-axes) counts guessed passwords, and here there is none to
            # guess; refusals are counted and recorded by `sso_sign_in_refuse`.
            person = SingleSignOnBackend().authenticate(
                request,
                sso_nonce=entry.get("nonce"),
                sso_code_verifier=entry.get("code_verifier"),
            )
        except SignInRefused as refusal:
            return self.refused(request, refusal)
        login(request, person, backend=SSO_BACKEND)
        return HttpResponseRedirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))

    def refused(self, request, refusal: SignInRefused):
        services.sso_sign_in_refuse(
            reason=refusal.reason,
            email=refusal.email,
            person=refusal.person,
            client=client_of(request),
        )
        about_person = refusal.reason in PERSON_REASONS
        return render(
            request,
            "people/sso_refused.html" if about_person else "people/sso_failed.html",
            {
                "reason": refusal.reason,
                "email": refusal.email,
                "label": settings.OIDC_SIGN_IN_LABEL,
                "provider_error": _provider_error(request),
            },
            status=403 if about_person else 400,
        )


def _provider_error(request) -> str:
    """The provider's `error` code, shown only if it is one (letters and underscores)."""
    error = request.GET.get("error", "")
    return error if re.fullmatch(r"[a-z_]{1,40}", error) else ""


def provider_sign_out_offer(request) -> str | None:
    """Where a person who signed in through the provider may sign out of it too: the
    provider's end-session endpoint (OpenID Connect RP-Initiated Logout 1.0), coming back to
    the sign-in page, or None when the person signed in with a password or the provider
    publishes no such endpoint. Read before the portal's session ends."""
    if not settings.SSO_ENABLED or request.session.get(BACKEND_SESSION_KEY) != SSO_BACKEND:
        return None
    try:
        endpoint = provider_configuration().end_session_endpoint
    except ProviderUnavailable:
        return None
    if not endpoint:
        return None
    back = request.build_absolute_uri(reverse("sign-in"))
    query = urlencode({"client_id": settings.OIDC_RP_CLIENT_ID, "post_logout_redirect_uri": back})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
