"""The staff journey: start, question pages, check answers, send, and the person's cases.

Every page finds the case through `business_case_for_requester`, so another person's
case (a draft too) is 404. Question pages save the draft on each "Continue"; a `?change=1`
link from "Check your answers" comes back there once the answers are complete.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from access_requests.errors import (
    AnswerRefused,
    BusinessCaseIncomplete,
    BusinessCaseNotEditable,
    NotAskableAgain,
    NotRenewable,
    TransitionNotAllowed,
)
from access_requests.forms.business_cases import (
    DECLARATIONS,
    DatesForm,
    DeclarationsForm,
    IdentityForm,
    NeedForm,
    SitesForm,
    StandalonePcForm,
    SubmitCaseForm,
    TierForm,
    WithdrawForm,
)
from access_requests.models import AccessTier, BusinessCase
from access_requests.selectors import business_cases as selectors, case_page
from access_requests.services import business_cases as services, case_copies
from access_requests.views.task_list import draft_task_list

# Sending and withdrawing a case call up into approvals, which changes the case's status
# (through this app's services) together with its approval requests.
from approvals import selectors as approval_selectors, services as approval_services
from approvals.errors import NoApproverAvailable
from core.client import client_of

CASES_PER_PAGE = 25


def _case_or_404(request, pk: int) -> BusinessCase:
    case = selectors.business_case_for_requester(user=request.user, pk=pk)
    if case is None:
        raise Http404("No such request")
    return case


# --- The journey's steps -------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    url: str
    complete: bool
    key: str  # which question: sites, tier, pc, need, dates, identity, declarations
    title: str  # the task's name on the draft's task list


def journey_steps(case: BusinessCase) -> list[Step]:
    """The question pages this case needs, in order, and whether each is answered."""

    def url(name, **kwargs):
        return reverse(f"access_requests:{name}", kwargs={"pk": case.pk, **kwargs})

    identities = list(case.site_identities.all())
    steps = [
        # A site retired since it was chosen must be taken off before the case is sent.
        Step(
            url("case-sites"),
            bool(identities) and all(i.site.is_active for i in identities),
            "sites",
            "Which sites you need",
        ),
        Step(url("case-tier"), bool(case.tier), "tier", "What kind of access you need"),
    ]
    if case.tier == AccessTier.ACTIVE:
        steps.append(
            Step(
                url("case-standalone-pc"),
                bool(
                    case.paying_business_unit_id
                    and case.budget_holder_id
                    and case.pc_choice
                    and (case.pc_choice != BusinessCase.PcChoice.EXISTING or case.pc_asset_tag)
                ),
                "pc",
                "Who pays for the standalone PC",
            )
        )
    steps += [
        Step(
            url("case-need"),
            bool(case.purpose and case.audience and case.integration),
            "need",
            "Your business need",
        ),
        Step(
            url("case-dates"),
            services.business_case_dates_are_valid(case=case),
            "dates",
            "When you need access",
        ),
    ]
    steps += [
        Step(
            url("case-identity", site_pk=identity.site_id),
            services.identity_is_complete(identity),
            "identity",
            f"Your identity on {identity.site.name}",
        )
        for identity in identities
    ]
    steps.append(
        Step(
            url("case-declarations"),
            all(getattr(case, name) for name in DECLARATIONS),
            "declarations",
            "Declarations",
        )
    )
    return steps


def _check_url(case):
    return reverse("access_requests:case-check", kwargs={"pk": case.pk})


def next_url(case: BusinessCase, current: str, changing: bool) -> str:
    """After a step: the next page in order; when changing an answer, back to "Check your
    answers" unless a page the change opened (a new site, the active tier) is unanswered."""
    steps = journey_steps(case)
    if changing:
        first_open = next((step.url for step in steps if not step.complete), None)
        return (first_open + "?change=1") if first_open else _check_url(case)
    urls = [step.url for step in steps]
    if current in urls and urls.index(current) + 1 < len(urls):
        return urls[urls.index(current) + 1]
    return _check_url(case)


def previous_url(case: BusinessCase, current: str, changing: bool) -> str:
    if changing:
        return _check_url(case)
    urls = [step.url for step in journey_steps(case)]
    if current in urls and urls.index(current) > 0:
        return urls[urls.index(current) - 1]
    return reverse("access_requests:case-start")


class QuestionView(View):
    """One question page: GET shows the saved answers, POST validates and saves the draft."""

    template_name = "access_requests/business_case/question.html"
    title = ""
    caption = "Ask for access to social networking sites"
    heading_in_form = False
    intro_template = None

    def dispatch(self, request, pk, **kwargs):
        self.case = _case_or_404(request, pk)
        if not self.case.is_editable:
            messages.info(request, "This request has been sent, so its answers cannot change.")
            return redirect("access_requests:case-detail", pk=self.case.pk)
        self.changing = request.GET.get("change") == "1"
        return super().dispatch(request, pk, **kwargs)

    def get_form_kwargs(self) -> dict:
        return {}

    def initial(self) -> dict:
        return {}

    def save(self, form) -> None:
        raise NotImplementedError

    def get_title(self) -> str:
        return self.title

    def render_page(self, form):
        return render(
            self.request,
            self.template_name,
            {
                "case": self.case,
                "form": form,
                "title": self.get_title(),
                "caption": self.caption,
                "heading_in_form": self.heading_in_form,
                "intro_template": self.intro_template,
                "back_url": previous_url(self.case, self.request.path, self.changing),
            },
        )

    def get(self, request, *args, **kwargs):
        return self.render_page(self.form_class(initial=self.initial(), **self.get_form_kwargs()))

    def post(self, request, *args, **kwargs):
        form = self.form_class(request.POST, initial=self.initial(), **self.get_form_kwargs())
        if not form.is_valid():
            return self.render_page(form)
        try:
            self.save(form)
        except BusinessCaseNotEditable:
            return redirect("access_requests:case-detail", pk=self.case.pk)
        except AnswerRefused as refused:
            form.add_error(refused.field, refused.message)
            return self.render_page(form)
        case = selectors.business_case_for_requester(user=request.user, pk=self.case.pk)
        return HttpResponseRedirect(next_url(case, request.path, self.changing))

    def save_answers(self, answers: dict) -> None:
        services.business_case_save_answers(
            case=self.case,
            actor=self.request.user,
            answers=answers,
            client=client_of(self.request),
        )


class SitesView(QuestionView):
    form_class = SitesForm
    title = "Which social networking sites do you need?"
    heading_in_form = True

    def initial(self):
        return {"sites": [str(i.site_id) for i in self.case.site_identities.all()]}

    def get(self, request, *args, **kwargs):
        retired = sorted(
            i.site.name for i in self.case.site_identities.all() if not i.site.is_active
        )
        if retired:
            messages.info(
                request,
                f"{', '.join(retired)} {'are' if len(retired) > 1 else 'is'} no longer offered "
                "and will be taken off your request when you continue.",
            )
        return super().get(request, *args, **kwargs)

    def save(self, form):
        services.business_case_set_sites(
            case=self.case,
            actor=self.request.user,
            sites=form.cleaned_data["sites"],
            client=client_of(self.request),
        )


class TierView(QuestionView):
    form_class = TierForm
    title = "What kind of access do you need?"
    heading_in_form = True

    def initial(self):
        return {"tier": self.case.tier or None}

    def save(self, form):
        self.save_answers({"tier": form.cleaned_data["tier"]})


class StandalonePcView(QuestionView):
    form_class = StandalonePcForm
    title = "Who will pay for the standalone PC?"
    intro_template = "access_requests/business_case/intro_standalone_pc.html"

    def get(self, request, *args, **kwargs):
        if not self.case.is_active_tier:
            return redirect("access_requests:case-tier", pk=self.case.pk)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if not self.case.is_active_tier:
            return redirect("access_requests:case-tier", pk=self.case.pk)
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {"requester": self.request.user}

    def initial(self):
        profile = getattr(self.request.user, "profile", None)
        return {
            "paying_business_unit": self.case.paying_business_unit_id
            or (profile.business_unit_id if profile else None),
            "budget_holder_email": self.case.budget_holder.email
            if self.case.budget_holder_id
            else "",
            "pc_choice": self.case.pc_choice or None,
            "pc_asset_tag": self.case.pc_asset_tag,
        }

    def save(self, form):
        data = form.cleaned_data
        self.save_answers(
            {
                "paying_business_unit": data["paying_business_unit"],
                "budget_holder": data["budget_holder"],
                "budget_holder_name": data["budget_holder"].display_name,
                "pc_choice": data["pc_choice"],
                "pc_asset_tag": data["pc_asset_tag"],
            }
        )


class NeedView(QuestionView):
    form_class = NeedForm
    title = "Your business need"
    intro_template = "access_requests/business_case/intro_need.html"

    def initial(self):
        return {name: getattr(self.case, name) for name in ("purpose", "audience", "integration")}

    def save(self, form):
        self.save_answers(form.cleaned_data)


class DatesView(QuestionView):
    form_class = DatesForm
    title = "When do you need access?"

    def get_form_kwargs(self):
        return {"tier": self.case.tier}

    def initial(self):
        return {"start_date": self.case.start_date, "end_date": self.case.end_date}

    def save(self, form):
        self.save_answers(
            {
                "start_date": form.cleaned_data["start_date"],
                "end_date": form.cleaned_data["end_date"],
            }
        )


class IdentityView(QuestionView):
    form_class = IdentityForm
    intro_template = "access_requests/business_case/intro_identity.html"

    def dispatch(self, request, pk, site_pk, **kwargs):
        self.site_pk = site_pk
        return super().dispatch(request, pk, **kwargs)

    def setup_identity(self):
        for identity in self.case.site_identities.all():
            if identity.site_id == self.site_pk:
                return identity
        raise Http404("That site is not part of this request")

    def get(self, request, *args, **kwargs):
        self.identity = self.setup_identity()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.identity = self.setup_identity()
        return super().post(request, *args, **kwargs)

    def get_title(self):
        return f"How you will identify yourself on {self.identity.site.name}"

    def get_form_kwargs(self):
        return {"site": self.identity.site, "user": self.request.user}

    def initial(self):
        return IdentityForm.initial_from(self.identity, user=self.request.user)

    def save(self, form):
        data = form.cleaned_data
        services.business_case_save_identity(
            case=self.case,
            site=self.identity.site,
            actor=self.request.user,
            display_name=data["display_name"],
            uses_pseudonym=data["uses_pseudonym"],
            pseudonym_reason=data["pseudonym_reason"],
            identifies_as_official=data["identifies_as_official"],
            not_official_reason=data["not_official_reason"],
            client=client_of(self.request),
        )


class DeclarationsView(QuestionView):
    form_class = DeclarationsForm
    title = "Declarations"
    intro_template = "access_requests/business_case/intro_declarations.html"

    def initial(self):
        return {name: getattr(self.case, name) for name in DECLARATIONS}

    def save(self, form):
        self.save_answers({name: form.cleaned_data[name] for name in DECLARATIONS})


# --- Start, check answers, send, confirmation -----------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def case_start(request):
    """GET: the start page (rules, risks, what happens next). POST "Start now": a draft."""
    if request.method == "POST":
        case = services.business_case_start(requester=request.user, client=client_of(request))
        return redirect("access_requests:case-sites", pk=case.pk)
    drafts = selectors.business_cases_for_requester(user=request.user).filter(
        status=BusinessCase.Status.DRAFT
    )
    return render(
        request,
        "access_requests/business_case/start.html",
        {"latest_draft": drafts.first(), "draft_count": drafts.count()},
    )


def _summary_context(case: BusinessCase) -> dict:
    return {
        "case": case,
        "identities": list(case.site_identities.all()),
        "declarations": _declarations(case),
    }


def _declarations(case: BusinessCase) -> list[tuple[str, bool]]:
    return [(label, getattr(case, name)) for name, (label, _) in DECLARATIONS.items()]


@require_http_methods(["GET", "HEAD", "POST"])
def case_check(request, pk):
    """Check your answers; POST "Accept and send" hands the case to the approval step."""
    case = _case_or_404(request, pk)
    if not case.is_editable:
        # A second tab or the back button after sending: show the case, not an error.
        return redirect("access_requests:case-detail", pk=case.pk)
    form = SubmitCaseForm(request.POST if request.method == "POST" else None, case=case)
    missing = services.business_case_missing_answers(case=case)
    if request.method == "POST" and form.is_valid():
        # A case sent back for more information goes again to the approver who asked.
        send = approval_services.case_submit if case.is_draft else approval_services.case_send_again
        try:
            send(case=case, actor=request.user, client=client_of(request))
        except TransitionNotAllowed:
            return redirect("access_requests:case-detail", pk=case.pk)
        except (BusinessCaseIncomplete, NoApproverAvailable, NotRenewable) as error:
            # The draft stays as it was: nothing was sent.
            form.add_error(None, str(error))
        else:
            return redirect("access_requests:case-confirmation", pk=case.pk)
    return render(
        request,
        "access_requests/business_case/check.html",
        {
            **_summary_context(case),
            "form": form,
            "missing": missing,
            "change": True,
            "steps": journey_steps(case),
        },
    )


@require_safe
def case_confirmation(request, pk):
    case = _case_or_404(request, pk)
    if case.is_editable:
        return redirect("access_requests:case-check", pk=case.pk)
    return render(request, "access_requests/business_case/confirmation.html", {"case": case})


@require_safe
def case_continue(request, pk):
    """Resume a draft (or a case sent back for more information) at its first unanswered
    page (or at "Check your answers")."""
    case = _case_or_404(request, pk)
    if not case.is_editable:
        return redirect("access_requests:case-detail", pk=case.pk)
    first_open = next((step.url for step in journey_steps(case) if not step.complete), None)
    return HttpResponseRedirect(first_open or _check_url(case))


# --- The person's cases ----------------------------------------------------------------


@require_safe
def case_list(request):
    paginator = Paginator(
        selectors.case_list_values_for_requester(user=request.user), CASES_PER_PAGE
    )
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = selectors.case_list_rows(page.object_list)
    return render(
        request,
        "access_requests/business_case/list.html",
        {"page": page, "cases": page.object_list},
    )


@require_safe
def case_detail(request, pk):
    """A draft's page is its task list; a sent case's page shows its answers and what has
    happened to it."""
    case = case_page.case_page_case(user=request.user, pk=pk)
    if case is None:
        raise Http404("No such request")
    if case.is_draft:
        case = _case_or_404(request, pk)
        return render(
            request,
            "access_requests/business_case/tasks.html",
            {"case": case, **draft_task_list(case, journey_steps(case))},
        )
    approvals = approval_selectors.case_approvals(case_id=case.pk)
    return render(
        request,
        "access_requests/business_case/detail.html",
        {
            "case": case,
            "identities": case_page.case_page_identities(case_id=case.pk),
            "declarations": _declarations(case),
            "timeline": case_page.business_case_timeline(
                case=case, approval_ids=[approval.id for approval in approvals]
            ),
            "may_withdraw": services.business_case_may_withdraw(case=case),
            "stage": approval_selectors.case_stage(case=case, approvals=approvals),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def case_delete(request, pk):
    case = _case_or_404(request, pk)
    if not case.is_draft:
        messages.info(request, "Only a draft can be deleted. You can withdraw a sent request.")
        return redirect("access_requests:case-detail", pk=case.pk)
    if request.method == "POST":
        try:
            services.business_case_delete_draft(
                case=case, actor=request.user, client=client_of(request)
            )
        except BusinessCaseNotEditable:
            return redirect("access_requests:case-detail", pk=case.pk)
        messages.success(request, "Your draft request has been deleted")
        return redirect("access_requests:case-list")
    return render(request, "access_requests/business_case/delete.html", {"case": case})


@require_http_methods(["GET", "HEAD", "POST"])
def case_withdraw(request, pk):
    case = _case_or_404(request, pk)
    if not services.business_case_may_withdraw(case=case):
        messages.info(request, "This request can no longer be withdrawn.")
        return redirect("access_requests:case-detail", pk=case.pk)
    form = WithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            approval_services.case_withdraw(
                case=case,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                client=client_of(request),
            )
        except TransitionNotAllowed:
            messages.info(request, "This request can no longer be withdrawn.")
            return redirect("access_requests:case-detail", pk=case.pk)
        messages.success(request, f"Your request {case.reference} has been withdrawn")
        return redirect("access_requests:case-detail", pk=case.pk)
    return render(
        request, "access_requests/business_case/withdraw.html", {"case": case, "form": form}
    )


@require_POST
def case_ask_again(request, pk):
    """Ask again with these answers, on a rejected, withdrawn or lapsed case: a new draft
    from its answers, shown as its task list."""
    case = _case_or_404(request, pk)
    try:
        draft = case_copies.business_case_ask_again(
            case=case, actor=request.user, client=client_of(request)
        )
    except NotAskableAgain as refused:
        messages.info(request, str(refused))
        return redirect("access_requests:case-detail", pk=case.pk)
    messages.success(
        request,
        f"Your new draft request has the answers of {case.reference}. "
        "Check each section, then send it.",
    )
    return redirect("access_requests:case-detail", pk=draft.pk)
