"""Whether an approver may still decide a case: the one place that says who holds that
authority today, and, when someone lost it, why and who decides instead.

A request keeps the reason it was sent (`routed_because`); the authority it gave must still
hold when the approver acts, since the directory changes under open cases (a new director,
a person who moved directorate, a fallback approver replaced, an admin no longer admin, a
delegation ended):

- director: the approver is the director of the requester's current directorate;
- deputy: the delegation is in force that day (not cancelled, between its dates), and the
  person it deputises for is active and still decides the requester's cases (the director
  of their directorate, or their organisation's fallback approver) and the delegation's
  scope covers cases (not one named by a budget holder, which covers costs only), or, for
  the cost, is still the case's budget holder (`case_budget_holder`);
- fallback and escalation: the approver is the organisation's fallback approver, or an
  active admin (a case with no fallback approver is sent to every admin);

and always: the approver is active and is not the requester.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from access_requests.models import BusinessCase
from core.lookups import ids_any
from core.prepared import PreparedQuery
from people.models import Role

from ..models import ApprovalRequest, Delegation

User = get_user_model()

_DIRECTORATE = "business_case__requester__profile__business_unit__directorate"
_DIRECTOR = f"{_DIRECTORATE}__director"
_FALLBACK = f"{_DIRECTORATE}__organisation__fallback_approver"
_UNIT_HOLDER = "business_case__paying_business_unit__budget_holder"


def _is_active_admin(user_field: str) -> Exists:
    return Exists(
        User.groups.through.objects.filter(
            user_id=OuterRef(user_field), group__name=Role.ADMIN, user__is_active=True
        )
    )


def approvals_with_authority(*, on: datetime.date) -> Q:
    """The condition on approval requests whose approver may decide them on `on` (the
    rules in this module's docstring), for lists and sweeps to filter by."""
    reason = ApprovalRequest.Reason
    as_director = Q(routed_because=reason.DIRECTOR, approver=F(_DIRECTOR))
    stage = ApprovalRequest.Stage
    as_deputy = (
        Q(
            routed_because=reason.DEPUTY,
            delegation__cancelled_at__isnull=True,
            delegation__starts_on__lte=on,
            delegation__ends_on__gte=on,
            on_behalf_of__is_active=True,
        )
        & ~Q(on_behalf_of=F("business_case__requester"))
        & (
            Q(stage=stage.DIRECTOR, delegation__scope=Delegation.Scope.CASES)
            & (Q(on_behalf_of=F(_DIRECTOR)) | Q(on_behalf_of=F(_FALLBACK)))
            | Q(stage=stage.BUDGET_HOLDER)
            & (
                Q(on_behalf_of=F(_UNIT_HOLDER))
                | Q(
                    **{f"{_UNIT_HOLDER}__isnull": True},
                    on_behalf_of=F("business_case__budget_holder"),
                )
            )
        )
    )
    as_fallback = Q(routed_because__in=[reason.FALLBACK, reason.ESCALATION]) & (
        Q(approver=F(_FALLBACK)) | Q(_is_active_admin("approver_id"))
    )
    as_budget_holder = Q(routed_because=reason.BUDGET_HOLDER) & (
        Q(approver=F(_UNIT_HOLDER))
        | Q(**{f"{_UNIT_HOLDER}__isnull": True}, approver=F("business_case__budget_holder"))
    )
    return (
        Q(approver__is_active=True)
        & ~Q(approver=F("business_case__requester"))
        & (as_director | as_deputy | as_fallback | as_budget_holder)
    )


def _with_authority_among(ids: list[int], on: datetime.date):
    return (
        ApprovalRequest.objects.filter(ids_any(ApprovalRequest, "id", ids))
        .filter(approvals_with_authority(on=on))
        .order_by()
        .values_list("pk", "approver__email")
    )


# The reminder sweep asks this of every batch: the condition costs Django about 5 ms to
# build and PostgreSQL more to plan than to run (it joins ten tables), so it is built once
# per process and planned once per connection (`core.prepared`).
_WITH_AUTHORITY_AMONG = PreparedQuery(
    "approvals_with_authority_among",
    _with_authority_among,
    ids=[-(2**62) + 11],
    on=datetime.date(1, 1, 3),
)


def approvals_with_authority_among(*, ids: list[int], on: datetime.date) -> dict[int, str]:
    """Which of these approval requests' approvers may decide them on `on`
    (`approvals_with_authority`): their ids, each with its approver's email address (the
    reminder sweep's recipients; the condition joins the approver already)."""
    return dict(_WITH_AUTHORITY_AMONG.run(ids=list(ids), on=on))


def case_budget_holder(*, case: BusinessCase):
    """Who agrees to the cost of an active-tier case: its paying unit's budget holder, or,
    when the unit names none, the budget holder the requester named on the case; None for
    the passive tier or when nobody is named."""
    if not case.is_active_tier or case.paying_business_unit_id is None:
        return None
    unit = case.paying_business_unit
    if unit.budget_holder_id is not None:
        return unit.budget_holder
    return case.budget_holder


@dataclass(frozen=True)
class Authority:
    """May this approver decide this request today; if not, why, and who decides now (in
    words for the approver's page)."""

    ok: bool
    reason: str = ""
    now_decides: str = ""


def approval_authority(*, approval: ApprovalRequest, on: datetime.date | None = None) -> Authority:
    """Whether `approval`'s approver may decide it on `on` (today unless told), read from
    the database as it stands now (call it after locking the case and the request)."""
    on = on or timezone.localdate()
    if (
        ApprovalRequest.objects.filter(pk=approval.pk)
        .filter(approvals_with_authority(on=on))
        .exists()
    ):
        return Authority(ok=True)
    case = BusinessCase.objects.select_related(
        "requester__profile__business_unit__directorate__organisation__fallback_approver__profile",
        "requester__profile__business_unit__directorate__director__profile",
    ).get(pk=approval.business_case_id)
    approver = User.objects.select_related("profile").get(pk=approval.approver_id)
    now_decides = who_decides_now(case=case)
    if approval.stage == ApprovalRequest.Stage.BUDGET_HOLDER:
        holder = case_budget_holder(case=case)
        if holder is not None and holder.is_active and holder.pk != case.requester_id:
            unit = case.paying_business_unit
            now_decides = f"{holder.display_name}, budget holder for {unit.name}"
    return Authority(
        ok=False,
        reason=_why_not(approval=approval, case=case, approver=approver, on=on),
        now_decides=now_decides,
    )


def _requester_directorate(case: BusinessCase):
    profile = getattr(case.requester, "profile", None)
    return profile.business_unit.directorate if profile is not None else None


def _why_not(*, approval: ApprovalRequest, case: BusinessCase, approver, on) -> str:
    reason = ApprovalRequest.Reason
    if not approver.is_active:
        return "Your account is no longer active."
    if approver.pk == case.requester_id:
        return "Nobody may decide their own case."
    directorate = _requester_directorate(case)
    requester = case.requester.display_name
    if approval.routed_because == reason.BUDGET_HOLDER:
        unit = case.paying_business_unit
        return f"You are no longer the budget holder for {unit.name} ({unit.cost_centre})."
    if approval.routed_because == reason.DIRECTOR:
        if directorate is None:
            return f"{requester} is no longer in a directorate you lead."
        return f"You are no longer the director of {directorate.name}, where {requester} works."
    if approval.routed_because == reason.DEPUTY:
        delegation = Delegation.objects.select_related("director__profile").get(
            pk=approval.delegation_id
        )
        director = delegation.director.display_name
        if delegation.cancelled_at is not None:
            return (
                f"{director} cancelled your delegation on "
                f"{timezone.localdate(delegation.cancelled_at):%-d %B %Y}."
            )
        if delegation.ends_on < on:
            return f"Your delegation from {director} ended on {delegation.ends_on:%-d %B %Y}."
        if delegation.starts_on > on:
            return f"Your delegation from {director} starts on {delegation.starts_on:%-d %B %Y}."
        if approval.stage == ApprovalRequest.Stage.BUDGET_HOLDER:
            unit = case.paying_business_unit
            return f"{director} is no longer the budget holder for {unit.name}, so you cannot agree for them."
        if delegation.scope != Delegation.Scope.CASES:
            return (
                f"{director} named you to agree to costs as their budget holder, "
                "not to decide cases for them."
            )
        return f"{director} no longer decides cases from {requester}, so you cannot for them."
    organisation = directorate.organisation if directorate is not None else None
    if organisation is not None and organisation.fallback_approver_id is not None:
        return f"You are no longer the fallback approver for {organisation.name}."
    return "You are no longer one of the service's administrators."


def who_decides_now(*, case: BusinessCase) -> str:
    """Who the case would be sent to today, in words: its requester's director, else their
    organisation's fallback approver, else the service's administrators."""
    directorate = _requester_directorate(case)
    director = directorate.director if directorate is not None else None
    if director is not None and director.is_active and director.pk != case.requester_id:
        return f"{director.display_name}, director of {directorate.name}"
    organisation = directorate.organisation if directorate is not None else None
    fallback = organisation.fallback_approver if organisation is not None else None
    if fallback is not None and fallback.is_active and fallback.pk != case.requester_id:
        return f"{fallback.display_name}, the fallback approver for {organisation.name}"
    return "the service's administrators"


NOT_AN_APPROVER = (
    "You can name a deputy only while you are the director of a directorate, an "
    "organisation's fallback approver or a business unit's budget holder"
)


def delegation_too_long(starts_on: datetime.date, ends_on: datetime.date) -> str | None:
    """The error for a delegation longer than `SNS_MAX_DELEGATION_DAYS` (first and last
    days counted), or None."""
    most = settings.SNS_MAX_DELEGATION_DAYS
    if (ends_on - starts_on).days + 1 <= most:
        return None
    last = starts_on + datetime.timedelta(days=most - 1)
    return (
        f"A deputy can be named for at most {most} days: enter an end date on or before "
        f"{last:%-d %B %Y}"
    )


def person_may_open_deputies(user) -> bool:
    """Who may open the deputies pages: directors and admins (the role), and budget holders
    (a business unit names them). Naming a deputy is checked again by
    approver_may_name_deputy, against what the person leads now."""
    return (
        user.has_role(Role.DIRECTOR)
        or user.has_role(Role.ADMIN)
        or (user.is_active and user.business_units_budget_held.exists())
    )


def approver_may_name_deputy(*, user) -> bool:
    """Only someone who decides cases (or their cost) in their own right names a deputy: an
    active person who is a directorate's director, an organisation's fallback approver or a
    business unit's budget holder now."""
    if not user.is_active:
        return False
    return (
        user.directorates_led.exists()
        or user.fallback_for_organisations.exists()
        or user.business_units_budget_held.exists()
    )


def decides_cases(user) -> bool:
    """A directorate's director or an organisation's fallback approver now."""
    return user.directorates_led.exists() or user.fallback_for_organisations.exists()


def delegation_scope_for(*, director) -> str:
    """What a deputy named now by `director` may do: decide cases (and agree to costs) when
    the giver decides cases now; agree to costs only when they act only as a budget holder
    (`deputy_refused_because` lets them name someone who may not decide cases)."""
    return Delegation.Scope.CASES if decides_cases(director) else Delegation.Scope.COSTS


def deputy_refused_because(*, director, deputy) -> str | None:
    """Why `deputy` may not deputise for `director`, as the form's error; None if they may.

    A deputy is an active person who could approve in their own right (a director, a
    fallback approver, an admin) or holds the deputy role; never the director themself,
    an auditor or ICT (whose roles keep them apart from deciding). A budget holder who does
    not decide cases may name anyone else who can sign in: their deputy agrees to costs
    only (the delegation's scope, `delegation_scope_for`), and routing and authority keep
    it to costs should that budget holder later decide cases."""
    if deputy.pk == director.pk:
        return "Enter someone else's email address"
    if not deputy.is_active:
        return "Enter the email address of someone who can sign in"
    roles = set(deputy.groups.values_list("name", flat=True))
    if roles & {Role.AUDITOR, Role.ICT}:
        return "Enter the email address of someone who may decide cases: not an auditor or ICT"
    if (
        roles & {Role.DIRECTOR, Role.ADMIN, Role.DEPUTY}
        or deputy.directorates_led.exists()
        or deputy.fallback_for_organisations.exists()
    ):
        return None
    if not decides_cases(director) and director.business_units_budget_held.exists():
        return None
    return (
        "Enter the email address of a director, a deputy director or an administrator: "
        f"{deputy.display_name} cannot decide cases"
    )
