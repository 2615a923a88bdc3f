"""ICT's pages beside the provisioning queue: access to withdraw (and confirming it is
withdrawn), and the standalone PCs people hold."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from access_requests.errors import NothingToWithdraw
from access_requests.selectors import ict as selectors
from access_requests.services.grant_withdrawal import grant_withdrawal_confirm
from core.client import client_of

from .grants import PROVISION_PERMISSION, QUEUE_PER_PAGE


@permission_required(PROVISION_PERMISSION, raise_exception=True)
@require_safe
def access_to_withdraw(request):
    page = Paginator(selectors.grants_to_withdraw(), QUEUE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "access_requests/ict/access_to_withdraw.html",
        {"page": page, "count": page.paginator.count},
    )


@permission_required(PROVISION_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "HEAD", "POST"])
def withdrawal_confirm(request, pk: int):
    grant = selectors.grant_to_withdraw(pk)
    if grant is None:
        messages.info(request, "That access is not waiting to be withdrawn.")
        return redirect("access_requests:access-to-withdraw")
    if request.method == "POST":
        try:
            grant_withdrawal_confirm(grant=grant, actor=request.user, client=client_of(request))
        except NothingToWithdraw:
            messages.info(request, "Someone else has already recorded that access as withdrawn.")
            return redirect("access_requests:access-to-withdraw")
        messages.success(
            request,
            f"{grant.business_case.reference}: the access of {grant.holder.display_name} is "
            "recorded as withdrawn.",
        )
        return redirect("access_requests:access-to-withdraw")
    return render(request, "access_requests/ict/withdrawal_confirm.html", {"grant": grant})


@permission_required(PROVISION_PERMISSION, raise_exception=True)
@require_safe
def standalone_pcs(request):
    page = Paginator(selectors.standalone_pcs_issued(), QUEUE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "access_requests/ict/standalone_pcs.html",
        {"page": page, "count": page.paginator.count},
    )
