"""Business rules for the business case: drafting, and every change of its status.

Each answer page saves the draft at once (closing the browser loses nothing), through
`business_case_save_answers`, `business_case_set_sites` and `business_case_save_identity`.
Only a draft's answers change.

The status is assigned here and nowhere else (`access_requests/tests/
test_business_case_status_owner.py` checks): `business_case_submit`, `business_case_withdraw`,
`business_case_decide`, `business_case_ask_more_information`, `business_case_send_again`
and `business_case_lapse` each take the case locked by their caller,
the approvals app (`approvals.services`), which routes, decides and closes its approval
requests in the same transaction. These services never import approvals; the pages that
send and withdraw a case call up into `approvals.services`.
"""

import calendar
import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from access_requests.errors import (
    AnswerRefused,
    BusinessCaseIncomplete,
    BusinessCaseNotEditable,
    NotRenewable,
    TransitionNotAllowed,
    transition_check,
)
from access_requests.models import AccessTier, BusinessCase, ReferenceCounter, Site, SiteIdentity
from access_requests.selectors.business_cases import business_unit_is_chargeable_by
from access_requests.selectors.grants import grant_not_renewable_reason
from audit.services import record
from core.client import Client
from notifications.rendering import email_date
from notifications.services import email_queue

REFERENCE_PREFIX = "SNS"

# The answers a draft's question pages may change (status and lifecycle fields never).
ANSWER_FIELDS = frozenset(
    {
        "tier",
        "paying_business_unit",
        "budget_holder",
        "budget_holder_name",
        "pc_choice",
        "pc_asset_tag",
        "purpose",
        "audience",
        "integration",
        "start_date",
        "end_date",
        "declared_read_guidance",
        "declared_civil_service_code",
        "declared_no_protected_information",
        "declared_media_to_press_office",
        "declared_separate_identities",
    }
)
ACTIVE_ONLY_FIELDS = (
    "paying_business_unit",
    "budget_holder",
    "budget_holder_name",
    "pc_choice",
    "pc_asset_tag",
)
DECLARATION_FIELDS = (
    "declared_read_guidance",
    "declared_civil_service_code",
    "declared_no_protected_information",
    "declared_media_to_press_office",
    "declared_separate_identities",
)


def _audit(*, actor, action: str, case: BusinessCase, changes: dict, client: Client | None):
    record(
        actor=actor,
        action=action,
        obj=case,
        changes=changes,
        client=client,
    )


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, or the month's last day if it has no such day."""
    year, month_index = divmod(day.month - 1 + months, 12)
    year += day.year
    month = month_index + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def max_months_for_tier(tier: str) -> int:
    if tier == AccessTier.ACTIVE:
        return settings.SNS_MAX_MONTHS_ACTIVE
    return settings.SNS_MAX_MONTHS_PASSIVE


def business_case_dates_problems(
    *,
    tier: str,
    start_date: datetime.date,
    end_date: datetime.date,
    today: datetime.date | None = None,
) -> dict[str, str]:
    """The date rules, as {"start_date"|"end_date": message in the page's words}."""
    today = today or timezone.localdate()
    problems = {}
    if start_date < today:
        problems["start_date"] = "The start date must be today or in the future"
    if end_date < today:
        problems["end_date"] = "The end date must be today or in the future"
    elif end_date < start_date:
        problems["end_date"] = "The end date must be the same as or after the start date"
    else:
        months = max_months_for_tier(tier)
        latest = add_months(start_date, months)
        if end_date > latest:
            tier_words = (
                "active participation" if tier == AccessTier.ACTIVE else "passive monitoring"
            )
            problems["end_date"] = (
                f"The end date must be no more than {months} months after the start date "
                f"for {tier_words} (on or before {latest:%-d %B %Y})"
            )
    return problems


def business_case_may_withdraw(*, case: BusinessCase) -> bool:
    """Whether the transitions table lets this case be withdrawn now (until a decision)."""
    return BusinessCase.Status.WITHDRAWN in BusinessCase.TRANSITIONS.get(case.status, set())


def business_case_dates_are_valid(*, case: BusinessCase) -> bool:
    """Both dates given and within the rules today (a draft's start date can slip into the past)."""
    return bool(
        case.start_date
        and case.end_date
        and not business_case_dates_problems(
            tier=case.tier, start_date=case.start_date, end_date=case.end_date
        )
    )


def identity_is_complete(identity: SiteIdentity) -> bool:
    if not identity.display_name:
        return False
    if identity.uses_pseudonym and not identity.pseudonym_reason:
        return False
    return identity.identifies_as_official or bool(identity.not_official_reason)


def business_case_missing_answers(
    *, case: BusinessCase, today: datetime.date | None = None
) -> list[str]:
    """What still has to be answered (or put right) before the case can be sent,
    in the page's words."""
    missing = []
    identities = list(case.site_identities.select_related("site"))
    if not identities:
        missing.append("which sites")
    retired = sorted(i.site.name for i in identities if not i.site.is_active)
    if retired:
        missing.append(
            f"which sites (take off {', '.join(retired)}: "
            f"{'they are' if len(retired) > 1 else 'it is'} no longer offered)"
        )
    if not case.tier:
        missing.append("the access tier")
    if case.tier == AccessTier.ACTIVE and not (
        case.paying_business_unit_id
        and case.budget_holder_id
        and case.pc_choice
        and (case.pc_choice != BusinessCase.PcChoice.EXISTING or case.pc_asset_tag)
    ):
        missing.append("who pays for the standalone PC")
    if not (case.purpose and case.audience and case.integration):
        missing.append("the business need")
    if not (case.start_date and case.end_date):
        missing.append("the dates")
    elif business_case_dates_problems(
        tier=case.tier, start_date=case.start_date, end_date=case.end_date, today=today
    ):
        missing.append("the dates (change them: they no longer meet the rules)")
    for identity in identities:
        if not identity_is_complete(identity):
            missing.append(f"your identity on {identity.site.name}")
    if not all(getattr(case, name) for name in DECLARATION_FIELDS):
        missing.append("the declarations")
    return missing


def _lock_draft(case: BusinessCase) -> BusinessCase:
    """The case locked, if its answers may change: a draft, or a case sent back to the
    requester for more information."""
    locked = BusinessCase.objects.select_for_update().get(pk=case.pk)
    if not locked.is_editable:
        raise BusinessCaseNotEditable(locked)
    return locked


def business_case_start(*, requester, client: Client | None = None) -> BusinessCase:
    """A new, empty draft for the person asking for access."""
    with transaction.atomic():
        case = BusinessCase.objects.create(requester=requester)
        _audit(
            actor=requester,
            action="case.started",
            case=case,
            changes={"status": [None, case.status]},
            client=client,
        )
    return case


def business_case_save_answers(
    *, case: BusinessCase, actor, answers: dict, client: Client | None = None
) -> BusinessCase:
    """Save one question page's answers to a draft. Choosing passive monitoring clears
    the standalone PC answers, which only the active tier has."""
    unknown = set(answers) - ANSWER_FIELDS
    if unknown:
        raise ValueError(f"Not an answer: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = _lock_draft(case)
        answers = dict(answers)
        if answers.get("tier") == AccessTier.PASSIVE:
            answers.update(
                paying_business_unit=None,
                budget_holder=None,
                budget_holder_name="",
                pc_choice="",
                pc_asset_tag="",
            )
        _check_who_pays(case=locked, answers=answers)
        if answers.get("pc_choice") == BusinessCase.PcChoice.NEW:
            answers["pc_asset_tag"] = ""
        changes = {}
        for name, value in answers.items():
            old = getattr(locked, name)
            if old != value:
                changes[name] = [_plain(old), _plain(value)]
                setattr(locked, name, value)
        if changes:
            locked.save(update_fields=[*answers.keys(), "updated_at"])
            _audit(
                actor=actor,
                action="case.answers_saved",
                case=locked,
                changes=changes,
                client=client,
            )
    return locked


def _check_who_pays(*, case: BusinessCase, answers: dict) -> None:
    """The paying unit must be one the requester may charge, and the budget holder a person
    of that unit other than the requester: checked here as well as by the form, so that no
    caller can bill another cost centre."""
    unit = answers.get("paying_business_unit", case.paying_business_unit)
    if "paying_business_unit" in answers and unit is not None:
        if not business_unit_is_chargeable_by(user=case.requester, unit=unit):
            raise AnswerRefused("paying_business_unit", "Select a business unit from the list")
    holder = answers.get("budget_holder")
    if holder is not None:
        if holder.pk == case.requester_id:
            raise AnswerRefused(
                "budget_holder_email", "The budget holder must be someone other than you"
            )
        holder_unit = getattr(getattr(holder, "profile", None), "business_unit_id", None)
        if unit is None or holder_unit != unit.pk:
            raise AnswerRefused(
                "budget_holder_email", "The budget holder must work in the unit that will pay"
            )


def _plain(value):
    """An audit-friendly form of an answer (a business unit by its cost centre, a person by
    their email address)."""
    if hasattr(value, "cost_centre"):
        return value.cost_centre
    if hasattr(value, "email"):
        return value.email
    return value


def business_case_set_sites(
    *, case: BusinessCase, actor, sites: list[Site], client: Client | None = None
) -> BusinessCase:
    """Choose the draft's sites. A new site gets an unanswered identity; a site taken off
    loses its identity answers."""
    with transaction.atomic():
        locked = _lock_draft(case)
        wanted = {site.pk: site for site in sites}
        current = {i.site_id: i for i in locked.site_identities.select_related("site")}
        removed = [current[pk] for pk in current if pk not in wanted]
        added = [wanted[pk] for pk in wanted if pk not in current]
        if removed:
            SiteIdentity.objects.filter(pk__in=[i.pk for i in removed]).delete()
        # Unanswered until the person has seen the site's identity page (the page
        # offers their commonly used name).
        SiteIdentity.objects.bulk_create(
            [SiteIdentity(business_case=locked, site=site) for site in added]
        )
        if removed or added:
            _audit(
                actor=actor,
                action="case.sites_changed",
                case=locked,
                changes={
                    "sites": [
                        sorted(i.site.name for i in current.values()),
                        sorted(site.name for site in wanted.values()),
                    ]
                },
                client=client,
            )
    return locked


def business_case_save_identity(
    *,
    case: BusinessCase,
    site: Site,
    actor,
    display_name: str,
    uses_pseudonym: bool,
    pseudonym_reason: str,
    identifies_as_official: bool,
    not_official_reason: str,
    client: Client | None = None,
) -> SiteIdentity:
    """How the person will identify themselves on one of the draft's sites. A reason is
    kept only where it is needed (a pseudonym; not identifying as an official)."""
    with transaction.atomic():
        _lock_draft(case)
        identity = SiteIdentity.objects.select_for_update().get(business_case=case, site=site)
        new = {
            "display_name": display_name,
            "uses_pseudonym": uses_pseudonym,
            "pseudonym_reason": pseudonym_reason if uses_pseudonym else "",
            "identifies_as_official": identifies_as_official,
            "not_official_reason": "" if identifies_as_official else not_official_reason,
        }
        changes = {}
        for name, value in new.items():
            old = getattr(identity, name)
            if old != value:
                changes[name] = [old, value]
                setattr(identity, name, value)
        if changes:
            identity.save(update_fields=[*new.keys(), "updated_at"])
            _audit(
                actor=actor,
                action="case.identity_saved",
                case=case,
                changes={"site": site.name, **changes},
                client=client,
            )
    return identity


def business_case_delete_draft(*, case: BusinessCase, actor, client: Client | None = None) -> None:
    """Delete a draft the person no longer wants. A sent case cannot be deleted."""
    with transaction.atomic():
        locked = _lock_draft(case)
        if not locked.is_draft:
            raise BusinessCaseNotEditable(locked)
        _audit(
            actor=actor,
            action="case.draft_deleted",
            case=locked,
            changes={"status": [locked.status, None]},
            client=client,
        )
        locked.site_identities.all().delete()
        locked.delete()


def _next_reference(year: int) -> str:
    """SNS-<year>-<5 digits>, counting within the year, under the year's counter lock."""
    ReferenceCounter.objects.get_or_create(year=year)
    counter = ReferenceCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{REFERENCE_PREFIX}-{year}-{counter.last_number:05d}"


def business_case_submit(
    *, case: BusinessCase, actor, client: Client | None = None
) -> BusinessCase:
    """Draft → submitted: give the case its reference. `case` is locked by the caller, in
    its transaction (`approvals.services.case_submit` routes it in the same one).

    Raises TransitionNotAllowed if it was already sent (a double click, a second tab),
    NotRenewable if it renews a grant since revoked or given up, BusinessCaseIncomplete if
    a question is unanswered.
    """
    with transaction.atomic():
        transition_check(case, BusinessCase.Status.SUBMITTED)
        if case.status != BusinessCase.Status.DRAFT:
            # A case sent back for more information is sent again by
            # `business_case_send_again`, keeping its reference.
            raise TransitionNotAllowed(case, BusinessCase.Status.SUBMITTED)
        if case.renewal_of_id:
            # A renewal drafted before its grant was revoked or given up is not sent.
            not_renewable = grant_not_renewable_reason(grant=case.renewal_of)
            if not_renewable:
                raise NotRenewable(not_renewable)
        missing = business_case_missing_answers(case=case)
        if missing:
            raise BusinessCaseIncomplete(missing)
        now = timezone.now()
        case.reference = _next_reference(timezone.localdate(now).year)
        case.status = BusinessCase.Status.SUBMITTED
        case.submitted_at = now
        case.declarations_made_at = case.declarations_made_at or now
        case.save(
            update_fields=[
                "reference",
                "status",
                "submitted_at",
                "declarations_made_at",
                "updated_at",
            ]
        )
        record(
            actor=actor,
            action="case.submitted",
            obj=case,
            changes={"status": ["draft", "submitted"], "reference": case.reference},
            client=client,
        )
        if case.tier == AccessTier.ACTIVE and case.budget_holder_id:
            _budget_holder_tell(case)
    return case


def _budget_holder_tell(case: BusinessCase) -> None:
    """The budget holder learns that a case charging their unit was sent (whether they
    agree is asked for separately)."""
    holder = case.budget_holder
    unit = case.paying_business_unit
    email_queue(
        to=holder.email,
        template="case_budget_holder",
        context={
            "budget_holder_name": holder.display_name,
            "requester_name": case.requester.display_name,
            "reference": case.reference,
            "unit_name": unit.name,
            "cost_centre": unit.cost_centre,
            "start_date": email_date(case.start_date),
            "end_date": email_date(case.end_date),
            "yearly_cost": f"£{settings.SNS_STANDALONE_PC_YEARLY_COST:,}",
        },
        related=case,
        dedupe_key=f"case-{case.pk}-budget-holder",
    )


def business_case_withdraw(
    *, case: BusinessCase, actor, reason: str = "", client: Client | None = None
) -> BusinessCase:
    """Submitted → withdrawn, by the requester before a decision. `case` is locked by the
    caller, in its transaction: `approvals.services.case_withdraw`, which closes the case's
    open approval requests in the same one.

    Raises TransitionNotAllowed once the case is decided, lapsed or already withdrawn.
    """
    with transaction.atomic():
        transition_check(case, BusinessCase.Status.WITHDRAWN)
        old_status = case.status
        case.status = BusinessCase.Status.WITHDRAWN
        case.withdrawn_at = timezone.now()
        case.withdrawal_reason = reason
        case.save(update_fields=["status", "withdrawn_at", "withdrawal_reason", "updated_at"])
        _audit(
            actor=actor,
            action="case.withdrawn",
            case=case,
            changes={"status": [old_status, case.status], "reason": reason},
            client=client,
        )
    return case


def business_case_ask_more_information(
    *, case: BusinessCase, question: str, asked_at: datetime.datetime
) -> BusinessCase:
    """Submitted → more information needed: the approver's question goes back to the
    requester, who may change any answer and send the case again. `case` is locked by the
    caller, in its transaction: `approvals.services.approval_ask_more_information`, whose
    `approval.more_information_asked` event records this change with who asked (so this
    writes no event of its own).

    Raises TransitionNotAllowed unless the case is waiting for a decision.
    """
    transition_check(case, BusinessCase.Status.MORE_INFORMATION)
    case.status = BusinessCase.Status.MORE_INFORMATION
    case.more_information_question = question
    case.more_information_asked_at = asked_at
    case.save(
        update_fields=[
            "status",
            "more_information_question",
            "more_information_asked_at",
            "updated_at",
        ]
    )
    return case


def business_case_send_again(
    *, case: BusinessCase, actor, client: Client | None = None
) -> BusinessCase:
    """More information needed → submitted: the requester sends the case again, with the
    reference it has. `submitted_at` becomes now, so the lapse clock restarts from this
    send. `case` is locked by the caller, in its transaction
    (`approvals.services.case_send_again`, which sends it to the approver who asked).

    Raises TransitionNotAllowed unless the case was sent back, NotRenewable if it renews a
    grant since revoked or given up, BusinessCaseIncomplete if a question is unanswered.
    """
    with transaction.atomic():
        transition_check(case, BusinessCase.Status.SUBMITTED)
        if case.status != BusinessCase.Status.MORE_INFORMATION:
            raise TransitionNotAllowed(case, BusinessCase.Status.SUBMITTED)
        if case.renewal_of_id:
            not_renewable = grant_not_renewable_reason(grant=case.renewal_of)
            if not_renewable:
                raise NotRenewable(not_renewable)
        missing = business_case_missing_answers(case=case)
        if missing:
            raise BusinessCaseIncomplete(missing)
        case.status = BusinessCase.Status.SUBMITTED
        case.submitted_at = timezone.now()
        case.save(update_fields=["status", "submitted_at", "updated_at"])
        record(
            actor=actor,
            action="case.sent_again",
            obj=case,
            changes={"status": ["more_information", "submitted"]},
            client=client,
        )
    return case


def business_case_decide(
    *, case: BusinessCase, approved: bool, reason: str, decided_at: datetime.datetime
) -> BusinessCase:
    """Submitted → approved or rejected. `case` is locked by the caller, in its transaction:
    `approvals.services.approval_decide`, whose `approval.decided` event records this change
    together with who decided and how (so this writes no event of its own).

    Raises TransitionNotAllowed unless the case is waiting for a decision.
    """
    to_status = BusinessCase.Status.APPROVED if approved else BusinessCase.Status.REJECTED
    transition_check(case, to_status)
    case.status = to_status
    case.decided_at = decided_at
    case.decision_reason = reason
    case.save(update_fields=["status", "decided_at", "decision_reason", "updated_at"])
    return case


def business_case_lapse(
    *,
    case: BusinessCase,
    actor,
    lapsed_at: datetime.datetime,
    approval_requests_expired: list[int],
) -> BusinessCase:
    """Submitted → lapsed: nobody decided in time. `case` is locked by the caller, in its
    transaction (`approvals.services.case_lapse_one`, which expires the case's open
    approval requests and names them here for the audit trail).

    Raises TransitionNotAllowed unless the case is waiting for a decision.
    """
    transition_check(case, BusinessCase.Status.LAPSED)
    old_status = case.status
    case.status = BusinessCase.Status.LAPSED
    case.lapsed_at = lapsed_at
    case.save(update_fields=["status", "lapsed_at", "updated_at"])
    record(
        actor=actor,
        action="case.lapsed",
        obj=case,
        changes={
            "status": [old_status, case.status],
            "approval_requests_expired": approval_requests_expired,
        },
    )
    return case
