"""Access review pages: the reviewer's page (Keep or End for each grant, and "Keep all that
are not marked" after a confirmation), and the admins' and auditors' pages (start a review,
the list of reviews, a review's progress by directorate and its CSV)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from core.client import client_of
from oversight.csv_export import csv_response

from . import selectors, services
from .errors import (
    AlreadyReviewed,
    GrantEndedMeanwhile,
    NothingToReview,
    ReviewClosed,
    ReviewPassedOn,
)
from .forms import (
    REASON_LABEL,
    KeepUnmarkedForm,
    ReviewDecisionsForm,
    StartReviewForm,
    decision_label,
)
from .models import AccessReview


def _require(request, permission: str) -> None:
    if not (request.user.is_active and request.user.has_perm(permission)):
        raise PermissionDenied


@require_safe
def review_list(request):
    _require(request, selectors.VIEW_PERMISSION)
    return render(
        request,
        "reviews/review_list.html",
        {
            "reviews": selectors.reviews_listed()[:100],
            "may_start": request.user.has_perm(selectors.START_PERMISSION),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def review_start(request):
    _require(request, selectors.START_PERMISSION)
    form = StartReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            review = services.access_review_start(
                actor=request.user,
                directorates=list(form.cleaned_data["directorates"]),
                tiers=form.cleaned_data["tiers"],
                due_on=form.cleaned_data["due_on"],
                client=client_of(request),
            )
        except NothingToReview as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, f"Review started: {review.items.count()} grants sent to their reviewers"
            )
            return redirect("reviews:progress", pk=review.pk)
    return render(request, "reviews/start.html", {"form": form})


def _review_for_reviewer(request, pk: int) -> AccessReview:
    review = get_object_or_404(AccessReview, pk=pk)
    if not request.user.is_active or not (
        selectors.may_decide_any(request.user)
        or selectors.items_for(review=review, user=request.user).exists()
        or selectors.items_passed_on(review=review, user=request.user).exists()
    ):
        raise PermissionDenied("Only the review's reviewers and admins can see this page")
    return review


def _cards(lines, form=None) -> list[dict]:
    """Each card's grant and its Keep/End question as plain values: the names, ids, label,
    what was chosen and typed, and the first error of each (from `form` when the page
    shows a posted form again)."""
    cards = []
    for line in lines:
        decision, reason = f"decision_{line.item_id}", f"reason_{line.item_id}"
        card = {
            "line": line,
            "decision_name": decision,
            "reason_name": reason,
            "label": decision_label(line.holder),
            "reason_label": REASON_LABEL,
            "decision": None,
            "reason": "",
            "decision_error": "",
            "reason_error": "",
        }
        if form is not None:
            if decision not in form.fields:
                continue
            card["decision"] = form[decision].value()
            card["reason"] = form[reason].value() or ""
            card["decision_error"] = next(iter(form.errors.get(decision, [])), "")
            card["reason_error"] = next(iter(form.errors.get(reason, [])), "")
        cards.append(card)
    return cards


def _review_page(request, review, page, form=None, status=200):
    return render(
        request,
        "reviews/review.html",
        {
            "review": review,
            "form": form,
            "page": page,
            "cards": _cards(page.outstanding, form),
            "passed_on": selectors.passed_on_count(review=review, user=request.user),
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def review(request, pk: int):
    review = get_object_or_404(AccessReview, pk=pk)
    if not request.user.is_active:
        raise PermissionDenied("Only the review's reviewers and admins can see this page")
    page = selectors.review_page(
        review=review,
        user=request.user,
        yearly_pc_cost=settings.SNS_STANDALONE_PC_YEARLY_COST,
    )
    # The page's counts say whether the person reviews anything here (admins see every item).
    if not (
        page.total
        or selectors.may_decide_any(request.user)
        or selectors.items_passed_on(review=review, user=request.user).exists()
    ):
        raise PermissionDenied("Only the review's reviewers and admins can see this page")
    if request.method != "POST":
        return _review_page(request, review, page)
    if not review.is_open:
        return render(request, "reviews/closed.html", {"review": review}, status=409)
    posted = {item.pk: item for item in _posted_items(request, review)}
    holders = {pk: item.grant.holder.display_name for pk, item in posted.items()}
    for line in page.outstanding:
        holders.setdefault(line.item_id, line.holder)
    form = ReviewDecisionsForm(request.POST, holders=holders)
    if not form.is_valid():
        return _review_page(request, review, page, form)
    refused = []
    saved = 0
    # A grant marked on the page is one of `posted`: the page's grants are the person's own.
    for item_id, decision, reason in form.decisions():
        try:
            services.review_item_decide(
                item=posted[item_id],
                actor=request.user,
                decision=decision,
                reason=reason,
                client=client_of(request),
            )
            saved += 1
        except (AlreadyReviewed, GrantEndedMeanwhile, ReviewPassedOn) as error:
            refused.append(error)
        except ReviewClosed:
            return render(request, "reviews/closed.html", {"review": review}, status=409)
    if refused:
        return render(
            request,
            "reviews/refused.html",
            {"review": review, "refused": refused, "saved": saved},
            status=409,
        )
    messages.success(request, f"{saved} {'decision' if saved == 1 else 'decisions'} saved")
    return redirect("reviews:review", pk=review.pk)


def _posted_items(request, review):
    """The items whose choices the form posted and this person reviews, decided or not, or
    that escalation passed on meanwhile: a decision that lost a race is then reported, not
    silently dropped."""
    ids = []
    for name in request.POST:
        if name.startswith("decision_") and name[len("decision_") :].isdigit():
            ids.append(int(name[len("decision_") :]))
    return list(
        (
            selectors.items_for(review=review, user=request.user)
            | review.items.filter(escalated=True)
        )
        .filter(pk__in=ids)
        .select_related("grant__holder__profile")
        .order_by("pk")
    )


@require_http_methods(["GET", "HEAD", "POST"])
def review_keep_unmarked(request, pk: int):
    review = _review_for_reviewer(request, pk)
    if not review.is_open:
        return render(request, "reviews/closed.html", {"review": review}, status=409)
    outstanding = (
        selectors.items_for(review=review, user=request.user)
        .filter(decision="", grant__status__in=selectors.CURRENT)
        .count()
    )
    form = KeepUnmarkedForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            kept = services.review_keep_unmarked(
                review=review, actor=request.user, client=client_of(request)
            )
        except ReviewClosed:
            return render(request, "reviews/closed.html", {"review": review}, status=409)
        messages.success(request, f"{kept} {'grant' if kept == 1 else 'grants'} kept")
        return redirect("reviews:review", pk=review.pk)
    return render(
        request,
        "reviews/keep_unmarked.html",
        {"review": review, "form": form, "outstanding": outstanding},
    )


@require_safe
def review_progress(request, pk: int):
    _require(request, selectors.VIEW_PERMISSION)
    review = get_object_or_404(
        AccessReview.objects.select_related("started_by__profile").prefetch_related("directorates"),
        pk=pk,
    )
    rows = selectors.review_progress(review)
    return render(
        request,
        "reviews/progress.html",
        {
            "review": review,
            "rows": rows,
            "totals": selectors.progress_totals(rows),
            "closes_on": services.access_review_closes_on(review),
            "default": settings.SNS_ACCESS_REVIEW_DEFAULT,
        },
    )


@require_safe
def review_export(request, pk: int):
    _require(request, selectors.VIEW_PERMISSION)
    review = get_object_or_404(AccessReview, pk=pk)
    return csv_response(
        filename=f"access-review-{review.pk}.csv",
        header=selectors.CSV_HEADER,
        rows=selectors.review_csv_rows(review),
    )
