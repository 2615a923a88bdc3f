"""The admins' pages for the read API: the service tokens (list, create, revoke) and the
API's reference, drawn from its OpenAPI document as GOV.UK tables (no script, so it works
under the strict CSP and without JavaScript)."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from core.client import client_of

from . import reference as api_reference, selectors, services
from .endpoints import api
from .errors import ServiceTokenInvalid
from .forms import ServiceTokenForm

MAY_SEE_TOKENS = "api.view_servicetoken"
MAY_CREATE_TOKENS = "api.add_servicetoken"
MAY_REVOKE_TOKENS = "api.change_servicetoken"


@require_safe
@permission_required(MAY_SEE_TOKENS, raise_exception=True)
def token_list(request):
    tokens = list(selectors.service_tokens())
    now = timezone.now()
    for token in tokens:
        token.is_live = token.revoked_at is None and token.expires_at > now
    return render(request, "api/token_list.html", {"tokens": tokens})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@permission_required(MAY_CREATE_TOKENS, raise_exception=True)
def token_create(request):
    form = ServiceTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = services.service_token_create(
                name=form.cleaned_data["name"],
                owner=form.owner,
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
                actor=request.user,
                client=client_of(request),
            )
        except ServiceTokenInvalid as invalid:
            form.add_error(invalid.field, invalid.message)
        else:
            # The secret is shown in this response only: it is not stored, so there is no
            # page to redirect to that could show it again (never_cache keeps it out of
            # the browser's cache).
            return render(request, "api/token_created.html", {"token": token, "secret": secret})
    return render(request, "api/token_form.html", {"form": form})


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required(MAY_REVOKE_TOKENS, raise_exception=True)
def token_revoke(request, service_token: int):
    token = get_object_or_404(selectors.service_tokens(), pk=service_token)
    if token.revoked_at is not None:
        return redirect("api:token-list")
    if request.method == "POST":
        services.service_token_revoke(token=token, actor=request.user, client=client_of(request))
        messages.success(request, f"You revoked the token “{token.name}”")
        return redirect("api:token-list")
    return render(request, "api/token_revoke.html", {"token": token})


@require_safe
@permission_required(MAY_SEE_TOKENS, raise_exception=True)
def reference(request):
    document = api.get_openapi_schema(path_prefix=reverse("api-v1:api-root"))
    return render(
        request,
        "api/reference.html",
        {"reference": api_reference.operations(document), "title": document["info"]["title"]},
    )
