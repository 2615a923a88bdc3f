"""Read queries for approval requests and delegations. Who may see what is decided here."""

import datetime
import hashlib
import hmac
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, Q, QuerySet, Window
from django.shortcuts import get_object_or_404
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase, Site, SiteIdentity
from access_requests.selectors.business_cases import site_names_by_case
from core.lookups import ids_any
from core.prepared import PreparedQuery
from core.sweeping import after_keyset
from people.models import display_name_of

from ..models import ApprovalRequest, Delegation
from .authority import (
    NOT_AN_APPROVER,
    Authority,
    approval_authority,
    approvals_with_authority,
    approvals_with_authority_among,
    approver_may_name_deputy,
    case_budget_holder,
    delegation_scope_for,
    delegation_too_long,
    deputy_refused_because,
    person_may_open_deputies,
    who_decides_now,
)
from .case_stage import CaseApproval, CaseStage, case_approvals, case_stage

__all__ = [
    "NOT_AN_APPROVER",
    "Authority",
    "approval_authority",
    "approvals_with_authority",
    "approvals_with_authority_among",
    "approver_may_name_deputy",
    "case_budget_holder",
    "CaseApproval",
    "CaseStage",
    "case_approvals",
    "case_director_approval",
    "case_stage",
    "delegation_scope_for",
    "delegation_too_long",
    "deputy_refused_because",
    "person_may_open_deputies",
    "who_decides_now",
]


def token_digest(token: str) -> str:
    """The SHA-256 of an emailed token: only this is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def approval_request_for_token(*, token: str) -> ApprovalRequest | None:
    """The approval request an emailed link belongs to, or None (unknown or tampered).

    Looked up by the hash (a hash of a random secret leaks nothing useful through timing),
    then compared in constant time as well.
    """
    if not token or len(token) > 100:
        return None
    digest = token_digest(token)
    approval = (
        ApprovalRequest.objects.select_related(
            "approver__profile", "on_behalf_of__profile", "business_case"
        )
        .filter(token_hash=digest)
        .first()
    )
    if approval is None or not hmac.compare_digest(approval.token_hash, digest):
        return None
    return approval


def approval_requests_open_ids(*, user) -> QuerySet:
    """The ids of the cases waiting for this person's decision, oldest first: page through
    these, then load a page's rows with `cases_to_decide_rows` (the home page reads its
    lines with `cases_to_decide_first`).

    A case withdrawn by its requester is left out even if its approval request is still
    open (the reminder sweep closes such a request), and so is a request whose approver no
    longer holds the authority it was sent for (`approvals_with_authority`: a director
    replaced, a delegation ended).

    Ids first: as one query, PostgreSQL joins the case's requester and profile for every
    open request before keeping the page's; the ids alone are read from
    approval_to_decide_idx in order, stopping at the page.
    """
    return _open_ids(approver_id=user.pk, on=timezone.localdate())


def _open_ids(*, approver_id: int, on: datetime.date) -> QuerySet:
    return (
        ApprovalRequest.objects.filter(
            approver_id=approver_id,
            status=ApprovalRequest.Status.OPEN,
            business_case__status=BusinessCase.Status.SUBMITTED,
        )
        .filter(approvals_with_authority(on=on))
        .order_by("created_at", "id")
        .values_list("id", flat=True)
    )


@dataclass(frozen=True)
class CaseToDecide:
    """A line of the home page's "Cases to decide"."""

    approval_id: int
    reference: str
    requester_name: str
    decide_by: datetime.date


# The home page's first cases to decide, with the four values it shows of each: built once
# per process and planned once per connection (`core.prepared`). The authority condition
# costs Django about 3 ms to build and PostgreSQL more to plan than to run, on every
# director's home page; planned once, the requester's name is joined in the same query.
HOME_CASES_TO_DECIDE = 10
_HOME_LINES = PreparedQuery(
    "approvals_home_lines",
    lambda approver_id, on: _open_ids(approver_id=approver_id, on=on).values_list(
        "id",
        "business_case__reference",
        "business_case__requester__profile__commonly_used_name",
        "business_case__requester__first_name",
        "business_case__requester__last_name",
        "business_case__requester__email",
        "decide_by",
    )[:HOME_CASES_TO_DECIDE],
    approver_id=-(2**62) + 7,
    on=datetime.date(1, 1, 2),
)


def cases_to_decide_first(*, user) -> list[CaseToDecide]:
    """The first `HOME_CASES_TO_DECIDE` of `approval_requests_open_ids`, as the home page
    lists them: only the four values it shows, not the case's and requester's rows."""
    return [
        CaseToDecide(pk, reference, display_name_of(common, first, last, email), decide_by)
        for pk, reference, common, first, last, email, decide_by in _HOME_LINES.run(
            approver_id=user.pk, on=timezone.localdate()
        )
    ]


CASES_TO_DECIDE_PER_PAGE = 25

# A page of the ids and the count of all, prepared (`core.prepared`): the authority
# condition costs Django more to build and PostgreSQL more to plan than the page costs to
# run, so it is built once per process and planned once per connection, the page's offset
# an argument.
_OPEN_PAGE = PreparedQuery(
    "approvals_open_page",
    lambda approver_id, on, offset: (
        _open_ids(approver_id=approver_id, on=on)
        .annotate(total=Window(Count("id")))
        .values_list("id", "total")[offset : offset + CASES_TO_DECIDE_PER_PAGE]
    ),
    approver_id=-(2**62) + 37,
    on=datetime.date(1, 1, 8),
    offset=2**61 + 41,
)


def approval_requests_open_page_ids(*, user, offset: int) -> tuple[list[int], int | None]:
    """A page (`CASES_TO_DECIDE_PER_PAGE` from `offset`) of `approval_requests_open_ids`
    and how many there are in all, in one query: the count is a window over the same rows,
    so the authority condition is compiled and planned once, not again for a separate
    COUNT. The count is None when the page is past the end (no row carries it)."""
    rows = _OPEN_PAGE.run(approver_id=user.pk, on=timezone.localdate(), offset=offset)
    return [pk for pk, _ in rows], (rows[0][1] if rows else None)


# The furthest page looked for: past it, OFFSET would overflow PostgreSQL's bigint. Any
# page past the end shows the last, as Paginator.get_page does.
_FURTHEST_PAGE = 2**62 // CASES_TO_DECIDE_PER_PAGE


def _page_number(asked: str | None) -> int:
    """The page asked for in the address, as a number from 1: not a number, or below 1,
    is the first page."""
    try:
        number = int(asked or 1)
    except ValueError:
        return 1
    return min(max(1, number), _FURTHEST_PAGE)


def cases_to_decide_page(*, user, page: str | None) -> Page:
    """A page of "Cases to decide" (`approval_requests_open_ids`) as `CaseToDecideRow`s,
    for the page number in the address (`page`, as given: not a number is the first page,
    past the end the last).

    The page's ids and the list's count come from one query
    (`approval_requests_open_page_ids`), so the paginator does not count again; only a page
    past the end (or an empty list) costs a COUNT and a second read of the last page."""
    per_page = CASES_TO_DECIDE_PER_PAGE
    number = _page_number(page)
    ids, total = approval_requests_open_page_ids(user=user, offset=(number - 1) * per_page)
    if total is not None:
        # The page is within the list: its rows are read by id below.
        paginator = Paginator([], per_page)
        paginator.count = total
        shown = paginator.get_page(number)
    else:
        # Past the end (or an empty list): the last page, as get_page gives it.
        paginator = Paginator(approval_requests_open_ids(user=user), per_page)
        shown = paginator.get_page(number)
        ids = list(shown.object_list)
    shown.object_list = cases_to_decide_rows(ids)
    return shown


def approver_has_cases_to_decide(*, user) -> bool:
    """Whether this person has any case to decide now: the navigation and the home page
    show "Cases to decide" to a deputy, a fallback approver or anyone else with one. One
    query, remembered on the user object for the rest of the request."""
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_has_cases_to_decide", None)
    if cached is None:
        cached = bool(_ANY_OPEN_ID.run(approver_id=user.pk, on=timezone.localdate()))
        user._has_cases_to_decide = cached
    return cached


# Whether there is one: asked on every page a deputy, a fallback approver or a member of
# staff opens (the navigation and the home page), so prepared as the home page's list is.
_ANY_OPEN_ID = PreparedQuery(
    "approvals_any_open_id",
    lambda approver_id, on: _open_ids(approver_id=approver_id, on=on).order_by()[:1],
    approver_id=-(2**62) + 11,
    on=datetime.date(1, 1, 3),
)


@dataclass(frozen=True)
class CaseToDecideRow:
    """A row of the "Cases to decide" page: plain values, no models."""

    pk: int
    reference: str
    requester_name: str
    on_behalf_of_name: str | None  # the person approved for, when the case is for another
    created_at: datetime.datetime
    decide_by: datetime.date
    site_names: list[str]


def _rows_by_ids(ids: list[int]):
    return (
        ApprovalRequest.objects.filter(ids_any(ApprovalRequest, "id", ids))
        .order_by()
        .values_list(
            "id",
            "business_case_id",
            "business_case__reference",
            "business_case__requester__profile__commonly_used_name",
            "business_case__requester__first_name",
            "business_case__requester__last_name",
            "business_case__requester__email",
            "on_behalf_of_id",
            "on_behalf_of__profile__commonly_used_name",
            "on_behalf_of__first_name",
            "on_behalf_of__last_name",
            "on_behalf_of__email",
            "created_at",
            "decide_by",
        )
    )


_ROWS_BY_IDS = PreparedQuery("approvals_case_list_rows", _rows_by_ids, ids=[-(2**62) + 43])


def cases_to_decide_rows(ids: list[int]) -> list[CaseToDecideRow]:
    """These approval requests, in this order, as "Cases to decide" lists them: the case's
    reference, the requester's and the person approved for's names, the dates and the
    case's sites (A to Z). Two queries, whatever their number; none for no ids."""
    if not ids:
        return []
    rows = {row[0]: row for row in _ROWS_BY_IDS.run(ids=list(ids))}
    sites = site_names_by_case([row[1] for row in rows.values()])
    lines = []
    for pk in ids:
        if pk not in rows:
            continue
        _, case_id, reference, common, first, last, email = rows[pk][:7]
        for_id, for_common, for_first, for_last, for_email, created_at, decide_by = rows[pk][7:]
        lines.append(
            CaseToDecideRow(
                pk,
                reference,
                display_name_of(common, first, last, email),
                display_name_of(for_common, for_first, for_last, for_email)
                if for_id is not None
                else None,
                created_at,
                decide_by,
                sites.get(case_id, []),
            )
        )
    return lines


def approval_request_of_approver(*, user, pk: int) -> ApprovalRequest:
    """One of this person's approval requests (any status); 404 for anyone else's."""
    return get_object_or_404(
        ApprovalRequest.objects.select_related(
            "approver__profile", "on_behalf_of__profile", "business_case"
        ),
        pk=pk,
        approver=user,
    )


def case_for_decision(*, case_id: int) -> BusinessCase:
    """The whole case, as the approver reads it before deciding."""
    return (
        BusinessCase.objects.select_related(
            "requester__profile__business_unit__directorate__organisation",
            "paying_business_unit",
            "budget_holder__profile",
            "renewal_of__business_case",
        )
        .prefetch_related(
            Prefetch(
                "site_identities",
                queryset=SiteIdentity.objects.select_related("site").order_by("site__name"),
            )
        )
        .get(pk=case_id)
    )


# The decision page lists at most this many of the requester's earlier cases.
EARLIER_CASES_SHOWN = 10


@dataclass(frozen=True)
class RequesterHistory:
    """What the approver sees of the requester besides this case: their current access
    (awaiting provisioning or active, with its sites) and their earlier sent cases, newest
    first, each with its outcome (and its grant, if approved)."""

    current_grants: list[AccessGrant]
    earlier_cases: list[BusinessCase]
    more_earlier_cases: bool


def requester_history(*, case: BusinessCase) -> RequesterHistory:
    """The requester's current grants and earlier cases for the decision page: three
    queries (grants, their sites, cases with their grants), whatever their number."""
    grants = list(
        AccessGrant.objects.filter(
            holder_id=case.requester_id, status__in=AccessGrant.Status.current()
        )
        .prefetch_related(Prefetch("sites", queryset=Site.objects.order_by("name")))
        .order_by("end_date", "pk")
    )
    earlier = list(
        BusinessCase.objects.filter(requester_id=case.requester_id)
        .exclude(pk=case.pk)
        .exclude(status=BusinessCase.Status.DRAFT)
        .select_related("grant")
        .order_by("-submitted_at", "-pk")[: EARLIER_CASES_SHOWN + 1]
    )
    return RequesterHistory(
        current_grants=grants,
        earlier_cases=earlier[:EARLIER_CASES_SHOWN],
        more_earlier_cases=len(earlier) > EARLIER_CASES_SHOWN,
    )


def grant_for_case(*, case: BusinessCase) -> AccessGrant | None:
    """The grant an approved case created, if any."""
    return AccessGrant.objects.filter(business_case=case).first()


def approval_closed_reason(*, approval: ApprovalRequest, case: BusinessCase) -> str | None:
    """Why this approval request can no longer be decided, or None while it is open.

    "decided" (by anyone), "withdrawn", "lapsed", "sent_back" (this request asked for more
    information, or another did and the case is with the requester), "superseded".
    """
    if (
        case.status in BusinessCase.Status.decided()
        or approval.status == ApprovalRequest.Status.DECIDED
    ):
        return "decided"
    if (
        approval.stage == ApprovalRequest.Stage.DIRECTOR
        and approval.status == ApprovalRequest.Status.SUPERSEDED
        and case.status == BusinessCase.Status.SUBMITTED
        and case_director_approval(case=case) is not None
    ):
        # Another approver of the first stage approved: the case waits for its budget holder.
        return "decided"
    if case.status == BusinessCase.Status.WITHDRAWN:
        return "withdrawn"
    if (
        case.status == BusinessCase.Status.LAPSED
        or approval.status == ApprovalRequest.Status.EXPIRED
    ):
        return "lapsed"
    if (
        approval.status == ApprovalRequest.Status.SENT_BACK
        or case.status == BusinessCase.Status.MORE_INFORMATION
    ):
        return "sent_back"
    if (
        case.status != BusinessCase.Status.SUBMITTED
        or approval.status != ApprovalRequest.Status.OPEN
    ):
        return "superseded"
    return None


def approval_link_expired(*, approval: ApprovalRequest, now: datetime.datetime) -> bool:
    """Whether this request's emailed link is past its expiry, whatever its status."""
    return approval.token_expires_at <= now


def case_director_approval(*, case: BusinessCase) -> ApprovalRequest | None:
    """The director-stage approval of an active-tier case still waiting for its budget
    holder (or settled), or None while the director has not approved."""
    return (
        ApprovalRequest.objects.select_related("approver__profile", "on_behalf_of__profile")
        .filter(
            business_case=case,
            stage=ApprovalRequest.Stage.DIRECTOR,
            status=ApprovalRequest.Status.DECIDED,
            decision=ApprovalRequest.Decision.APPROVE,
        )
        .first()
    )


def decided_approval_for_case(*, case: BusinessCase) -> ApprovalRequest | None:
    """The approval request whose decision settled the case (the budget holder's, when
    the cost was agreed or refused after the director approved)."""
    return (
        ApprovalRequest.objects.select_related("approver__profile", "on_behalf_of__profile")
        .filter(business_case=case, status=ApprovalRequest.Status.DECIDED)
        .order_by("-decided_at", "-pk")
        .first()
    )


def delegations_given_by(*, director) -> QuerySet[Delegation]:
    return Delegation.objects.filter(director=director).select_related("deputy__profile")


def delegations_active(
    *, director, on: datetime.date, deciding_cases: bool = False
) -> QuerySet[Delegation]:
    """Delegations in force on a day: within their dates and not cancelled; only those
    whose scope covers deciding cases if `deciding_cases` (every scope covers costs)."""
    query = Delegation.objects.filter(
        director=director, starts_on__lte=on, ends_on__gte=on, cancelled_at__isnull=True
    )
    if deciding_cases:
        query = query.filter(scope=Delegation.Scope.CASES)
    return query.select_related("deputy__profile")


def provisioning_people() -> QuerySet:
    """Active people who may provision grants (ICT), through a group or directly."""
    permission = Permission.objects.get(
        content_type__app_label="access_requests", codename="provision_accessgrant"
    )
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__permissions=permission) | Q(user_permissions=permission))
        .distinct()
        .order_by("pk")
    )


def approvals_reminder_due(*, now, after: tuple | None, limit: int) -> list[tuple]:
    """(next_reminder_at, id, case id) of open requests whose reminder is due, in that
    order, after the keyset `after` = (next_reminder_at, id): one row comparison, so that
    PostgreSQL starts its scan of `approval_reminder_due_idx` there."""
    query = ApprovalRequest.objects.filter(
        status=ApprovalRequest.Status.OPEN, next_reminder_at__lte=now
    )
    if after is not None:
        query = query.filter(after_keyset(("next_reminder_at", "id"), after))
    return list(
        query.order_by("next_reminder_at", "id").values_list(
            "next_reminder_at", "pk", "business_case_id"
        )[:limit]
    )


def cases_lapse_due(*, cutoff, after: tuple | None, limit: int) -> list[tuple]:
    """(submitted_at, id) of cases still waiting for a decision that were sent by `cutoff`,
    in that order, after the keyset `after`."""
    query = BusinessCase.objects.filter(
        status=BusinessCase.Status.SUBMITTED, submitted_at__lte=cutoff
    )
    if after is not None:
        query = query.filter(after_keyset(("submitted_at", "id"), after))
    return list(query.order_by("submitted_at", "id").values_list("submitted_at", "pk")[:limit])
