"""Grant pages: ICT's provisioning queue, the holder's grant page and its actions, revoking.

Thin: check who may act, bind a form, call one service, turn a domain error into a message,
redirect. Another person's grant is 404; a grant someone may see but not change is 403.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from access_requests.errors import AssetTagRequired, NotRenewable, TransitionNotAllowed
from access_requests.forms.grants import ProvisionForm, ReasonForm
from access_requests.models import AccessGrant, AccessTier
from access_requests.selectors import grants as selectors
from access_requests.services import grants as lifecycle
from access_requests.services.grant_renewal import grant_renewal_start
from access_requests.services.grant_safe_use import safe_use_confirm
from approvals import services as approval_services
from core.client import client_of

PROVISION_PERMISSION = "access_requests.provision_accessgrant"

QUEUE_PER_PAGE = 50  # grants on one page of the ICT queue, both tiers together


def _holder_grant(request, pk: int) -> AccessGrant:
    return get_object_or_404(selectors.grants_for_holder(user=request.user), pk=pk)


def _not_now(request, grant: AccessGrant, text: str):
    messages.error(request, text)
    return redirect("access_requests:grant-detail", pk=grant.pk)


# --- ICT ---------------------------------------------------------------------------------------


@permission_required(PROVISION_PERMISSION, raise_exception=True)
@require_safe
def provisioning_queue(request):
    page = Paginator(selectors.grants_awaiting_provisioning(), QUEUE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    grants = list(page.object_list)
    return render(
        request,
        "access_requests/grant/provisioning_queue.html",
        {
            "page": page,
            "passive": [g for g in grants if g.tier == AccessTier.PASSIVE],
            "active": [g for g in grants if g.tier == AccessTier.ACTIVE],
            "count": page.paginator.count,
            "today": timezone.localdate(),
        },
    )


def _queued_grant(request, pk: int) -> AccessGrant | None:
    grant = get_object_or_404(selectors.grant_visible_to(user=request.user), pk=pk)
    if grant.status != AccessGrant.Status.AWAITING_PROVISIONING:
        messages.info(
            request,
            f"{grant.business_case.reference} is no longer waiting: it is "
            f"{grant.get_status_display().lower()}.",
        )
        return None
    return grant


@permission_required(PROVISION_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def provisioning_grant(request, pk: int):
    grant = _queued_grant(request, pk)
    if grant is None:
        return redirect("access_requests:provisioning-queue")
    form = ProvisionForm(
        request.POST if request.method == "POST" else None,
        tier=grant.tier,
        initial={"asset_tag": grant.pc_asset_tag},  # the existing PC named in the case
    )
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.grant_provision(
                grant=grant,
                actor=request.user,
                asset_tag=form.cleaned_data.get("asset_tag", ""),
                client=client_of(request),
            )
        except AssetTagRequired as error:
            form.add_error("asset_tag", str(error))
        except TransitionNotAllowed:
            messages.info(request, f"{grant.business_case.reference} was already dealt with.")
            return redirect("access_requests:provisioning-queue")
        else:
            messages.success(
                request,
                f"{grant.business_case.reference} is provisioned. "
                f"{grant.holder.display_name} has been told their access is ready.",
            )
            return redirect("access_requests:provisioning-queue")
    return render(
        request,
        "access_requests/grant/provision.html",
        {"grant": grant, "form": form, "today": timezone.localdate()},
    )


@permission_required(PROVISION_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def provisioning_send_back(request, pk: int):
    grant = _queued_grant(request, pk)
    if grant is None:
        return redirect("access_requests:provisioning-queue")
    form = ReasonForm(
        request.POST if request.method == "POST" else None,
        label="Why can this access not be provisioned?",
        hint="The holder sees this reason in their email and on their home page.",
        submit="Send back",
        warning=True,
    )
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.grant_return(
                grant=grant,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                client=client_of(request),
            )
        except TransitionNotAllowed:
            messages.info(request, f"{grant.business_case.reference} was already dealt with.")
        else:
            messages.success(
                request,
                f"{grant.business_case.reference} was sent back. "
                f"{grant.holder.display_name} has been told why.",
            )
        return redirect("access_requests:provisioning-queue")
    return render(request, "access_requests/grant/send_back.html", {"grant": grant, "form": form})


# --- the grant page ---------------------------------------------------------------------------


@require_safe
def grant_detail(request, pk: int):
    grant = get_object_or_404(selectors.grant_visible_to(user=request.user), pk=pk)
    is_holder = grant.holder_id == request.user.pk
    today = timezone.localdate()
    return render(
        request,
        "access_requests/grant/detail.html",
        {
            "grant": grant,
            "is_holder": is_holder,
            "next_step": selectors.grant_next_step(grant, today) if is_holder else None,
            "usable": selectors.grant_is_usable(grant, today),
            "may_revoke": grant.status in AccessGrant.Status.current()
            and selectors.grant_may_revoke(user=request.user, grant=grant),
            "may_surrender": selectors.grant_may_surrender(user=request.user, grant=grant),
            "may_renew": is_holder
            and selectors.grant_is_renewable(grant=grant, today=today)
            and not selectors.grant_has_renewal(grant),
            "may_lapse": is_holder
            and grant.status == AccessGrant.Status.ACTIVE
            and grant.lapse_chosen_at is None
            and selectors.grant_is_renewable(grant=grant, today=today),
            "notices": list(grant.expiry_notices.order_by("sent_at")),
            "reminders": list(grant.safe_use_reminders.order_by("-period")[:5]),
            "renewal_cases": list(grant.renewal_cases.order_by("-created_at")),
            "today": today,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def grant_renew(request, pk: int):
    grant = _holder_grant(request, pk)
    if request.method == "POST":
        try:
            case = grant_renewal_start(grant=grant, actor=request.user, client=client_of(request))
        except NotRenewable as error:
            return _not_now(request, grant, str(error))
        messages.success(
            request,
            "We have copied your answers into a new request. Check them, change what has "
            "changed, and send it to your director.",
        )
        # The renewal is a draft pre-filled from the grant: continue at its first open question.
        return redirect("access_requests:case-continue", pk=case.pk)
    not_renewable = selectors.grant_not_renewable_reason(grant=grant)
    if not_renewable:
        return _not_now(request, grant, not_renewable)
    if not selectors.grant_is_renewable(grant=grant):
        return _not_now(request, grant, "You can renew access from 30 days before it ends.")
    return render(request, "access_requests/grant/renew.html", {"grant": grant})


@require_http_methods(["GET", "HEAD", "POST"])
def grant_let_lapse(request, pk: int):
    grant = _holder_grant(request, pk)
    if grant.status not in AccessGrant.Status.current():
        return _not_now(request, grant, "This access has already ended.")
    if request.method != "POST":
        renewal = selectors.grant_renewal_under_way(grant=grant)
        return render(
            request, "access_requests/grant/lapse.html", {"grant": grant, "renewal": renewal}
        )
    try:
        # Through approvals: a renewal under way is closed too, and its approvers told.
        approval_services.grant_choose_lapse_closing_renewals(
            grant=grant, actor=request.user, client=client_of(request)
        )
    except TransitionNotAllowed:
        return _not_now(request, grant, "This access has already ended.")
    messages.success(
        request,
        f"We will not remind you again. Your access ends on {grant.end_date:%-d %B %Y}.",
    )
    return redirect("access_requests:grant-detail", pk=grant.pk)


@require_http_methods(["GET", "HEAD", "POST"])
def grant_surrender(request, pk: int):
    grant = _holder_grant(request, pk)
    if grant.status != AccessGrant.Status.ACTIVE:
        return _not_now(request, grant, "Only access you hold now can be given up.")
    if request.method == "POST":
        try:
            # Through approvals: a renewal under way is closed too, and its approvers told.
            approval_services.grant_surrender_closing_renewals(
                grant=grant, actor=request.user, client=client_of(request)
            )
        except TransitionNotAllowed:
            return _not_now(request, grant, "Only access you hold now can be given up.")
        messages.success(request, "You have given up this access. ICT will withdraw it.")
        return redirect("access_requests:grant-detail", pk=grant.pk)
    renewal = selectors.grant_renewal_under_way(grant=grant)
    return render(
        request, "access_requests/grant/surrender.html", {"grant": grant, "renewal": renewal}
    )


@require_http_methods(["GET", "HEAD", "POST"])
def grant_revoke(request, pk: int):
    grant = get_object_or_404(selectors.grant_visible_to(user=request.user), pk=pk)
    if not selectors.grant_may_revoke(user=request.user, grant=grant):
        raise PermissionDenied
    if grant.status not in AccessGrant.Status.current():
        return _not_now(request, grant, "This access has already ended.")
    form = ReasonForm(
        request.POST if request.method == "POST" else None,
        label="Why are you revoking this access?",
        hint="The holder sees this reason. ICT is asked to withdraw the access.",
        submit="Revoke access",
        warning=True,
    )
    if request.method == "POST" and form.is_valid():
        try:
            # Through approvals: a renewal under way is closed too, and its approvers told.
            approval_services.grant_revoke_closing_renewals(
                grant=grant,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                client=client_of(request),
            )
        except TransitionNotAllowed:
            return _not_now(request, grant, "This access has already ended.")
        messages.success(
            request,
            f"{grant.business_case.reference} is revoked. "
            f"{grant.holder.display_name} and ICT have been told.",
        )
        return redirect("access_requests:grant-detail", pk=grant.pk)
    return render(request, "access_requests/grant/revoke.html", {"grant": grant, "form": form})


@require_http_methods(["GET", "HEAD", "POST"])
def grant_safe_use(request, pk: int):
    grant = _holder_grant(request, pk)
    reminder = grant.safe_use_reminders.order_by("-period").first()
    if reminder is None:
        raise Http404("No safe-use reminder for this grant")
    if request.method == "POST":
        confirmed = safe_use_confirm(grant=grant, actor=request.user, client=client_of(request))
        if confirmed is not None:
            messages.success(
                request, "Thank you. We have recorded that you reviewed your settings."
            )
        return redirect("access_requests:grant-detail", pk=grant.pk)
    return render(
        request, "access_requests/grant/safe_use.html", {"grant": grant, "reminder": reminder}
    )
