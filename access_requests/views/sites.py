"""Manage sites: the catalogue as GOV.UK pages for admins (list, add, rename, retire, offer
again); auditors see the list and change nothing.

Thin: check the permission, bind a form, call one service, turn a domain error into a form
error, redirect.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from access_requests.errors import SiteNameTaken
from access_requests.forms.sites import SiteAddForm, SiteRenameForm
from access_requests.models import Site
from access_requests.selectors.sites import site_current_grants, sites_with_use
from access_requests.services import sites as services
from core.client import client_of

VIEW = "access_requests.view_site"
ADD = "access_requests.add_site"
CHANGE = "access_requests.change_site"


@permission_required(VIEW, raise_exception=True)
@require_safe
def site_list(request):
    return render(
        request,
        "access_requests/site/list.html",
        {"sites": sites_with_use(), "may_change": request.user.has_perm(CHANGE)},
    )


@permission_required(ADD, raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def site_add(request):
    form = SiteAddForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            site = services.site_create(
                **form.cleaned_data, actor=request.user, client=client_of(request)
            )
        except SiteNameTaken as error:
            form.add_error("name", str(error))
        else:
            messages.success(request, f"{site.name} is added and offered to staff.")
            return redirect("access_requests:site-list")
    return render(
        request,
        "access_requests/site/form.html",
        {"form": form, "title": "Add a site", "caption": "Manage sites"},
    )


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def site_rename(request, pk: int):
    site = get_object_or_404(Site, pk=pk)
    form = SiteRenameForm(
        request.POST if request.method == "POST" else None, initial={"name": site.name}
    )
    if request.method == "POST" and form.is_valid():
        old = site.name
        try:
            site = services.site_rename(
                site=site,
                name=form.cleaned_data["name"],
                actor=request.user,
                client=client_of(request),
            )
        except SiteNameTaken as error:
            form.add_error("name", str(error))
        else:
            if site.name != old:
                messages.success(request, f"{old} is renamed {site.name}.")
            return redirect("access_requests:site-list")
    return render(
        request,
        "access_requests/site/form.html",
        {"form": form, "title": f"Rename {site.name}", "caption": "Manage sites", "site": site},
    )


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def site_retire(request, pk: int):
    site = get_object_or_404(Site, pk=pk)
    if not site.is_active:
        messages.info(request, f"{site.name} is already retired.")
        return redirect("access_requests:site-list")
    if request.method == "POST":
        services.site_retire(site=site, actor=request.user, client=client_of(request))
        messages.success(
            request,
            f"{site.name} is retired: staff can no longer ask for it. "
            "Access already given keeps it.",
        )
        return redirect("access_requests:site-list")
    return render(
        request,
        "access_requests/site/retire.html",
        {"site": site, "current_grants": site_current_grants(site=site)},
    )


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def site_unretire(request, pk: int):
    site = get_object_or_404(Site, pk=pk)
    if site.is_active:
        messages.info(request, f"{site.name} is already offered to staff.")
        return redirect("access_requests:site-list")
    if request.method == "POST":
        services.site_unretire(site=site, actor=request.user, client=client_of(request))
        messages.success(request, f"{site.name} is offered to staff again.")
        return redirect("access_requests:site-list")
    return render(request, "access_requests/site/unretire.html", {"site": site})
