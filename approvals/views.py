"""Deciding cases: the emailed link, the signed-in list and page, and delegations.

The emailed link works without signing in: its token is the credential for one approver
and one case. GET and HEAD only show the case (GET records "opened" for the audit trail);
only the POST of the decision form decides. When someone is signed in as a different
person, the link is refused ("This link was sent to NAME"): a shared computer must not
let one person's session decide, or even be mistaken as deciding, as someone else.
"""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.client import client_of
from notifications.delivery import ReceiptInvalid, callback_token_valid, delivery_receipt_parse
from people.roles import load_roles

from . import selectors, services
from .errors import (
    ApprovalClosed,
    ApprovalLinkExpired,
    ApprovalLostAuthority,
    DecisionInvalid,
    DelegationInvalid,
)
from .forms import ASK_MORE_INFORMATION, CostDecisionForm, DecisionForm, DelegationForm
from .models import ApprovalRequest


def _no_referrer(response):
    # The page's address holds the token: never send it to another site. Not
    # "no-referrer": Chromium then sends "Origin: null" with the form, failing CSRF.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _closed_page(request, approval, case, why):
    if why == "decided":
        # A director's approval waiting for the budget holder is this request's own.
        decided = (
            approval
            if approval.status == ApprovalRequest.Status.DECIDED
            else selectors.decided_approval_for_case(case=case)
        )
        decided_by_you = decided is not None and decided.pk == approval.pk
        # A decision posted to a decided case (a race lost, a second post) conflicts with
        # the case's state: 409, and the page says nothing was recorded. Reading the page
        # afterwards (the redirect after one's own decision) is no conflict.
        conflict = request.method == "POST"
        return render(
            request,
            "approvals/already_decided.html",
            {
                "approval": approval,
                "case": case,
                "decided": decided,
                "decided_by_you": decided_by_you,
                "conflict": conflict,
                "grant": selectors.grant_for_case(case=case)
                if decided_by_you and not conflict
                else None,
            },
            status=409 if conflict else 200,
        )
    return render(
        request,
        "approvals/link_closed.html",
        {"approval": approval, "case": case, "why": why},
        status=410,
    )


def _no_longer_yours_page(request, approval, case, authority):
    """410: the approver lost the authority the request was sent for; nothing changes."""
    return render(
        request,
        "approvals/no_longer_yours.html",
        {"approval": approval, "case": case, "authority": authority},
        status=410,
    )


def _decision_page(request, approval, *, via: str, actor):
    case = selectors.case_for_decision(case_id=approval.business_case_id)
    # An expired link says only that it has expired, whatever became of the case: the
    # "already decided" page shows the case, and a forwarded or leaked email must not keep
    # it readable once the link's life is over.
    if via == services.VIA_LINK and selectors.approval_link_expired(
        approval=approval, now=timezone.now()
    ):
        return _closed_page(request, approval, case, "expired")
    why = selectors.approval_closed_reason(approval=approval, case=case)
    if why is not None:
        return _closed_page(request, approval, case, why)
    # Shown, not recorded as opened: the case is no longer this person's to read.
    authority = selectors.approval_authority(approval=approval)
    if not authority.ok:
        return _no_longer_yours_page(request, approval, case, authority)

    for_budget_holder = approval.stage == ApprovalRequest.Stage.BUDGET_HOLDER
    form_class = CostDecisionForm if for_budget_holder else DecisionForm
    if request.method == "POST":
        form = form_class(request.POST, case=case)
        if form.is_valid():
            try:
                if form.cleaned_data["decision"] == ASK_MORE_INFORMATION:
                    services.approval_ask_more_information(
                        approval_request=approval,
                        question=form.cleaned_data["question"],
                        actor=actor,
                        client=client_of(request),
                        via=via,
                    )
                else:
                    services.approval_decide(
                        approval_request=approval,
                        decision=form.cleaned_data["decision"],
                        reason=form.cleaned_data["reason"],
                        end_date=form.cleaned_data["end_date"],
                        actor=actor,
                        client=client_of(request),
                        via=via,
                    )
            except ApprovalClosed as closed:
                case.refresh_from_db()
                return _closed_page(request, approval, case, closed.why)
            except ApprovalLinkExpired:
                return _closed_page(request, approval, case, "expired")
            except ApprovalLostAuthority as lost:
                return _no_longer_yours_page(request, approval, case, lost.authority)
            except DecisionInvalid as invalid:
                form.add_error(invalid.field, invalid.message)
            else:
                # Shows "decided by you", or "sent back" with the question asked.
                return redirect(request.path)
    else:
        form = form_class(case=case)
        if request.method == "GET":
            # An audit event only: no case or approval state changes (a mail scanner
            # opening the link must never decide anything). HEAD records nothing.
            services.approval_opened(
                approval_request=approval,
                actor=request.user if request.user.is_authenticated else None,
                client=client_of(request),
            )
    context = {
        "approval": approval,
        "case": case,
        "form": form,
        "identities": list(case.site_identities.all()),
        "via_link": via == services.VIA_LINK,
    }
    if for_budget_holder:
        context["yearly_cost"] = f"£{settings.SNS_STANDALONE_PC_YEARLY_COST:,}"
        context["director_approval"] = selectors.case_director_approval(case=case)
        return render(request, "approvals/decide_cost.html", context)
    context["history"] = selectors.requester_history(case=case)
    context["pc_yearly_cost"] = settings.SNS_STANDALONE_PC_YEARLY_COST
    return render(request, "approvals/decide.html", context)


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def decide(request, token):
    approval = selectors.approval_request_for_token(token=token)
    if approval is None:
        return _no_referrer(render(request, "approvals/link_not_recognised.html", status=404))
    if request.user.is_authenticated and request.user.pk != approval.approver_id:
        return _no_referrer(
            render(
                request, "approvals/link_for_someone_else.html", {"approval": approval}, status=403
            )
        )
    # The token stands for its approver: they are the one who decides, signed in or not.
    response = _decision_page(request, approval, via=services.VIA_LINK, actor=approval.approver)
    return _no_referrer(response)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def decide_signed_in(request, pk):
    approval = selectors.approval_request_of_approver(user=request.user, pk=pk)
    return _decision_page(request, approval, via=services.VIA_SIGNED_IN, actor=request.user)


@require_safe
def case_list(request):
    page = selectors.cases_to_decide_page(user=request.user, page=request.GET.get("page"))
    load_roles(request.user)  # one read of the groups for this check and the navigation's
    may_delegate = selectors.person_may_open_deputies(request.user)
    return render(request, "approvals/case_list.html", {"page": page, "may_delegate": may_delegate})


def _director_only(user):
    if not selectors.person_may_open_deputies(user):
        raise PermissionDenied("Only directors and budget holders name deputies")


@require_safe
def delegation_list(request):
    _director_only(request.user)
    today = timezone.localdate()
    delegations = list(selectors.delegations_given_by(director=request.user))
    for delegation in delegations:
        delegation.in_force = (
            delegation.cancelled_at is None and delegation.starts_on <= today <= delegation.ends_on
        )
        delegation.finished = delegation.cancelled_at is not None or delegation.ends_on < today
    return render(request, "approvals/delegation_list.html", {"delegations": delegations})


@require_http_methods(["GET", "HEAD", "POST"])
def delegation_create(request):
    _director_only(request.user)
    if request.method == "POST":
        form = DelegationForm(request.POST, director=request.user)
        if form.is_valid():
            try:
                delegation = services.delegation_create(
                    director=request.user,
                    deputy=form.deputy,
                    starts_on=form.cleaned_data["starts_on"],
                    ends_on=form.cleaned_data["ends_on"],
                    actor=request.user,
                    client=client_of(request),
                )
            except DelegationInvalid as invalid:
                form.add_error(invalid.field, invalid.message)
            else:
                messages.success(
                    request,
                    f"{delegation.deputy.display_name} is your deputy from "
                    f"{delegation.starts_on:%-d %B %Y} to {delegation.ends_on:%-d %B %Y}",
                )
                return redirect("approvals:delegation-list")
    else:
        form = DelegationForm(director=request.user)
    return render(
        request,
        "approvals/delegation_form.html",
        {
            "form": form,
            "may_name_deputy": selectors.approver_may_name_deputy(user=request.user),
            "max_days": settings.SNS_MAX_DELEGATION_DAYS,
        },
    )


@require_POST
def delegation_cancel(request, pk):
    _director_only(request.user)
    delegation = get_object_or_404(selectors.delegations_given_by(director=request.user), pk=pk)
    services.delegation_cancel(delegation=delegation, actor=request.user, client=client_of(request))
    messages.success(request, f"You cancelled {delegation.deputy.display_name}'s delegation")
    return redirect(reverse("approvals:delegation-list"))


# GOV.UK Notify's delivery receipts. The callback lives here, not in `notifications`, because
# a permanent failure to an approver escalates the case, which only `approvals` may do.
# CSRF-exempt: Notify's servers post it, authenticated by the bearer token configured in
# Notify; no cookie or session authenticates it, so a forged cross-site post has nothing to
# ride on, and Notify could never send a CSRF token.
@csrf_exempt
@login_not_required
@require_POST
def notify_callback(request):
    if not settings.NOTIFY_CALLBACK_TOKEN:
        raise Http404("Delivery receipts are not configured")
    if not callback_token_valid(request.headers.get("Authorization")):
        return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
    try:
        receipt = delivery_receipt_parse(json.loads(request.body))
    # JSONDecodeError and UnicodeDecodeError are ValueErrors; RecursionError is deep nesting.
    except (ValueError, RecursionError, ReceiptInvalid):
        return HttpResponseBadRequest("Not a delivery receipt")
    services.delivery_receipt_apply(receipt=receipt, client=client_of(request))
    # An unknown email is answered the same: Notify would only retry it.
    return HttpResponse(status=204)
