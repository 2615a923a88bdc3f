"""Admins switch one person off (with a reason) or back on. Switching off has a leaver's
effects: their access ends, ICT is told, their cases and approval requests move on."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from approvals.errors import NoApproverAvailable
from approvals.services import person_switch_off as switch_off, person_switch_on as switch_on
from core.client import client_of
from people.models import User

from .forms import SwitchOffForm
from .selectors import grant_line, people_access

# Switching off revokes grants and changes people: both permissions, which admins hold.
PERMISSIONS = ("people.change_user", "access_requests.revoke_accessgrant")


def _person_for_admin(request, pk: int) -> User:
    if not request.user.has_perms(PERMISSIONS):
        raise PermissionDenied
    return get_object_or_404(
        User.objects.select_related("profile__business_unit__directorate").prefetch_related(
            "groups"
        ),
        pk=pk,
    )


def _summary(person: User) -> dict:
    access = people_access(user_ids=[person.pk]).get(person.pk)
    return {
        "person": person,
        "roles": ", ".join(sorted(group.name for group in person.groups.all())) or "None",
        "grants": [grant_line(grant) for grant in access.grants] if access else [],
        "open_cases": access.open_cases if access else [],
        "approvals_held": access.approvals_held if access else [],
    }


@require_http_methods(["GET", "HEAD"])
def person(request, pk: int):
    return render(request, "staffing/person.html", _summary(_person_for_admin(request, pk)))


@require_http_methods(["GET", "HEAD", "POST"])
def person_switch_off(request, pk: int):
    target = _person_for_admin(request, pk)
    if not target.is_active:
        return redirect("staffing:person", pk=target.pk)
    if target.pk == request.user.pk:
        raise PermissionDenied  # an admin cannot lock themselves out
    form = SwitchOffForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            switch_off(
                person=target,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                client=client_of(request),
            )
        except NoApproverAvailable:
            form.add_error(
                None, "Nobody else could decide the cases waiting for this person: add an admin"
            )
        else:
            messages.success(
                request, f"{target.display_name} is switched off. Their access has ended."
            )
            return redirect("staffing:person", pk=target.pk)
    return render(request, "staffing/switch_off.html", {**_summary(target), "form": form})


@require_POST
def person_switch_on(request, pk: int):
    target = _person_for_admin(request, pk)
    switch_on(person=target, actor=request.user, client=client_of(request))
    messages.success(request, f"{target.display_name} is switched on and may sign in again.")
    return redirect("staffing:person", pk=target.pk)
