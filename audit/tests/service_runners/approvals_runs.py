"""Runners for the approval services: sending, deciding, reminders, lapse, deputies."""

import datetime

from django.db import transaction
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase
from access_requests.services import (
    business_cases as case_services,
)
from access_requests.tests.factories import (
    BusinessCaseFactory,
    grant_in_status,
    requester_with_director,
)
from approvals import services as approval_services
from approvals.models import ApprovalRequest, Delegation
from approvals.tests.factories import (
    DelegationFactory,
    requester_and_director,
    submitted_case,
)
from people.models import Role
from people.tests.factories import DirectorateFactory, UserFactory, director_of

from .common import CLIENT, Expected, NoEvent, _days, _status

# --- approvals.services -----------------------------------------------------------------------

APPROVALS = "approvals.services"


def run_case_submit(run):
    requester, director = requester_and_director()
    case = BusinessCaseFactory(requester=requester)
    run.service_starts()
    approval_services.case_submit(case=case, actor=requester, client=CLIENT)
    return [
        Expected(
            "case.submitted", case, requester.email, CLIENT.address, _status("draft", "submitted")
        ),
        Expected("approval.sent", case, requester.email, CLIENT.address),
    ]


def run_grant_revoke_closing_renewals(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE)
    draft = BusinessCaseFactory(requester=grant.holder, renewal_of=grant)
    admin = UserFactory(role=Role.ADMIN)
    run.service_starts()
    approval_services.grant_revoke_closing_renewals(
        grant=grant, actor=admin, reason="Misuse", client=CLIENT
    )
    return [
        Expected(
            "grant.revoked",
            grant,
            admin.email,
            CLIENT.address,
            {**_status("active", "revoked"), "reason": "Misuse"},
        ),
        # Its renewal under way goes in the same transaction.
        Expected("case.draft_deleted", draft, admin.email, CLIENT.address, _status("draft", None)),
    ]


def run_grant_choose_lapse_closing_renewals(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE)
    draft = BusinessCaseFactory(requester=grant.holder, renewal_of=grant)
    run.service_starts()
    approval_services.grant_choose_lapse_closing_renewals(
        grant=grant, actor=grant.holder, client=CLIENT
    )
    grant.refresh_from_db()
    holder = grant.holder.email
    return [
        Expected("grant.lapse_chosen", grant, holder, CLIENT.address),
        Expected("case.draft_deleted", draft, holder, CLIENT.address, _status("draft", None)),
    ]


def run_grant_surrender_closing_renewals(run):
    requester, _ = requester_and_director()
    grant = grant_in_status(AccessGrant.Status.ACTIVE, business_case__requester=requester)
    renewal = submitted_case(requester=requester, renewal_of=grant)
    run.service_starts()
    approval_services.grant_surrender_closing_renewals(grant=grant, actor=requester, client=CLIENT)
    return [
        Expected(
            "grant.surrendered",
            grant,
            requester.email,
            CLIENT.address,
            _status("active", "surrendered"),
        ),
        Expected(
            "case.withdrawn",
            renewal,
            requester.email,
            CLIENT.address,
            _status("submitted", "withdrawn"),
        ),
        Expected(
            "approval.superseded",
            renewal,
            requester.email,
            CLIENT.address,
            {"approval_status": ["open", "superseded"]},
        ),
    ]


def run_case_withdraw(run):
    case = submitted_case()
    run.service_starts()
    approval_services.case_withdraw(
        case=case, actor=case.requester, reason="No longer needed", client=CLIENT
    )
    return [
        Expected(
            "case.withdrawn",
            case,
            case.requester.email,
            CLIENT.address,
            {**_status("submitted", "withdrawn"), "reason": "No longer needed"},
        ),
        # The case's open approval request closes in the same transaction.
        Expected(
            "approval.superseded",
            case,
            case.requester.email,
            CLIENT.address,
            {"approval_status": ["open", "superseded"]},
        ),
    ]


def run_approval_request_send(run):
    case = BusinessCaseFactory(requester=requester_with_director(), submitted=True)
    run.service_starts()
    approval_services.approval_request_send(case=case, actor=case.requester, client=CLIENT)
    return Expected("approval.sent", case, case.requester.email, CLIENT.address)


def run_approval_opened(run):
    case = submitted_case()
    approval = case.approval_requests.get()
    run.service_starts()
    approval_services.approval_opened(approval_request=approval, actor=None, client=CLIENT)
    approval.refresh_from_db()
    assert approval.first_opened_at is not None
    return Expected(
        "approval.opened", case, "anonymous", CLIENT.address, {"approval_request": approval.pk}
    )


def run_approval_decide_approve(run):
    case = submitted_case()
    approval = case.approval_requests.get()
    run.service_starts()
    approval_services.approval_decide(
        approval_request=approval, decision="approve", actor=approval.approver, client=CLIENT
    )
    return [
        Expected(
            "approval.decided",
            case,
            approval.approver.email,
            CLIENT.address,
            {**_status("submitted", "approved"), "decision": "approve"},
        ),
        Expected(
            "grant.created", AccessGrant.objects.get(business_case=case), approval.approver.email
        ),
    ]


def run_approval_decide_reject(run):
    case = submitted_case()
    approval = case.approval_requests.get()
    run.service_starts()
    approval_services.approval_decide(
        approval_request=approval,
        decision="reject",
        reason="Not needed for the role",
        actor=approval.approver,
        client=CLIENT,
    )
    return Expected(
        "approval.decided",
        case,
        approval.approver.email,
        CLIENT.address,
        {**_status("submitted", "rejected"), "reason": "Not needed for the role"},
    )


def _active_case_with_budget_holder():
    requester, _ = requester_and_director()
    unit = requester.profile.business_unit
    unit.budget_holder = UserFactory(profile__business_unit=unit)
    unit.save()
    case = submitted_case(requester=requester, active=True, budget_holder=unit.budget_holder)
    return case, unit.budget_holder


def run_approval_decide_budget_holder_asked(run):
    case, holder = _active_case_with_budget_holder()
    approval = case.approval_requests.get()
    run.service_starts()
    approval_services.approval_decide(
        approval_request=approval, decision="approve", actor=approval.approver, client=CLIENT
    )
    return [
        Expected(
            "approval.budget_holder_asked",
            case,
            approval.approver.email,
            CLIENT.address,
            {"approver": holder.email, "stage": "budget_holder"},
        ),
        Expected(
            "approval.decided",
            case,
            approval.approver.email,
            CLIENT.address,
            {**_status("submitted", "submitted"), "stage": "director"},
        ),
    ]


def run_approval_decide_budget_holder_agrees(run):
    case, holder = _active_case_with_budget_holder()
    director_approval = case.approval_requests.get()
    approval_services.approval_decide(
        approval_request=director_approval, decision="approve", actor=director_approval.approver
    )
    asked = case.approval_requests.get(approver=holder)
    run.service_starts()
    approval_services.approval_decide(
        approval_request=asked, decision="approve", actor=holder, client=CLIENT
    )
    return [
        Expected(
            "approval.decided",
            case,
            holder.email,
            CLIENT.address,
            {**_status("submitted", "approved"), "stage": "budget_holder"},
        ),
        Expected(
            "grant.created",
            AccessGrant.objects.get(business_case=case),
            holder.email,
            changes={"cost_agreed_by": holder.email},
        ),
    ]


def run_approval_ask_more_information(run):
    case = submitted_case()
    approval = case.approval_requests.get()
    run.service_starts()
    approval_services.approval_ask_more_information(
        approval_request=approval,
        question="Which accounts will you follow?",
        actor=approval.approver,
        client=CLIENT,
    )
    return Expected(
        "approval.more_information_asked",
        case,
        approval.approver.email,
        CLIENT.address,
        {
            **_status("submitted", "more_information"),
            "question": "Which accounts will you follow?",
        },
    )


def _sent_back_case():
    case = submitted_case()
    approval = case.approval_requests.get()
    approval_services.approval_ask_more_information(
        approval_request=approval, question="Which accounts?", actor=approval.approver
    )
    case.refresh_from_db()
    return case, approval


def run_case_send_again(run):
    case, asked = _sent_back_case()
    run.service_starts()
    approval_services.case_send_again(case=case, actor=case.requester, client=CLIENT)
    return [
        Expected(
            "case.sent_again",
            case,
            case.requester.email,
            CLIENT.address,
            _status("more_information", "submitted"),
        ),
        Expected(
            "approval.sent",
            case,
            case.requester.email,
            CLIENT.address,
            {"approver": asked.approver.email},
        ),
    ]


def run_business_case_send_again(run):
    case, _ = _sent_back_case()
    run.service_starts()
    case_services.business_case_send_again(case=case, actor=case.requester, client=CLIENT)
    return Expected(
        "case.sent_again",
        case,
        case.requester.email,
        CLIENT.address,
        _status("more_information", "submitted"),
    )


def _reminder_due(case, **fields):
    ApprovalRequest.objects.filter(business_case=case).update(
        next_reminder_at=timezone.now() - datetime.timedelta(minutes=1), **fields
    )
    return case.approval_requests.get()


def run_approval_remind_one(run):
    case = submitted_case()
    approval = _reminder_due(case)
    run.service_starts()
    assert approval_services.approval_remind_one(approval_id=approval.pk, case_id=case.pk)
    return Expected(
        "approval.reminded", case, "system:approval_remind_due", changes={"reminder": 1}
    )


def run_approval_remind_one_escalates(run):
    admin = UserFactory(role=Role.ADMIN)
    case = submitted_case()
    approval = _reminder_due(case, reminders_sent=run.settings.SNS_MAX_REMINDERS)
    run.service_starts()
    assert approval_services.approval_remind_one(approval_id=approval.pk, case_id=case.pk)
    assert case.approval_requests.filter(approver=admin).exists()
    return Expected(
        "approval.escalated",
        case,
        "system:approval_remind_due",
        changes={"approver": admin.email, "escalated_from": approval.approver.email},
    )


def run_approval_remind_one_nobody_to_escalate_to(run):
    case = submitted_case()  # and no admin or fallback approver to escalate to
    approval = _reminder_due(case, reminders_sent=run.settings.SNS_MAX_REMINDERS)
    run.service_starts()
    assert not approval_services.approval_remind_one(approval_id=approval.pk, case_id=case.pk)
    approval.refresh_from_db()
    assert approval.next_reminder_at is None
    return Expected(
        "approval.reminders_stopped",
        case,
        "system:approval_remind_due",
        changes={"approval_request": approval.pk},
    )


def run_approval_remind_one_closes_a_withdrawn_cases_request(run):
    case = submitted_case()
    approval = _reminder_due(case)
    BusinessCase.objects.filter(pk=case.pk).update(status=BusinessCase.Status.WITHDRAWN)
    run.service_starts()
    assert not approval_services.approval_remind_one(approval_id=approval.pk, case_id=case.pk)
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.SUPERSEDED
    return Expected(
        "approval.superseded",
        case,
        "system:approval_remind_due",
        changes={"approval_status": ["open", "superseded"]},
    )


def run_approval_requests_withdraw(run):
    case = submitted_case()
    approval = case.approval_requests.get()
    BusinessCase.objects.filter(pk=case.pk).update(
        status=BusinessCase.Status.WITHDRAWN, withdrawn_at=timezone.now()
    )
    run.service_starts()
    assert approval_services.approval_requests_withdraw(
        case=case, actor=case.requester, client=CLIENT
    ) == [approval]
    return Expected(
        "approval.superseded",
        case,
        case.requester.email,
        CLIENT.address,
        {"approval_request": approval.pk, "approval_status": ["open", "superseded"]},
    )


def run_approval_remind_due(run):
    due = [submitted_case(), submitted_case()]
    for case in due:
        _reminder_due(case)
    not_due = submitted_case()
    run.service_starts()
    assert approval_services.approval_remind_due() == 2
    return [
        *(
            Expected(
                "approval.reminded", case, "system:approval_remind_due", changes={"reminder": 1}
            )
            for case in due
        ),
        NoEvent(not_due),
    ]


def _lapse_due(case):
    BusinessCase.objects.filter(pk=case.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(days=31)
    )
    return case


def run_case_lapse_one(run):
    run.settings.SNS_LAPSE_AFTER_DAYS = 30
    case = _lapse_due(submitted_case())
    run.service_starts()
    assert approval_services.case_lapse_one(case_id=case.pk)
    return Expected(
        "case.lapsed", case, "system:case_lapse_due", changes=_status("submitted", "lapsed")
    )


def run_case_lapse_due(run):
    run.settings.SNS_LAPSE_AFTER_DAYS = 30
    due = [_lapse_due(submitted_case()), _lapse_due(submitted_case())]
    not_due = submitted_case()
    run.service_starts()
    assert approval_services.case_lapse_due() == 2
    return [
        *(
            Expected(
                "case.lapsed", case, "system:case_lapse_due", changes=_status("submitted", "lapsed")
            )
            for case in due
        ),
        NoEvent(not_due),
    ]


def run_delegation_create(run):
    director = director_of(DirectorateFactory())
    deputy = UserFactory(role=Role.DEPUTY)
    run.service_starts()
    delegation = approval_services.delegation_create(
        director=director,
        deputy=deputy,
        starts_on=_days(0),
        ends_on=_days(14),
        actor=director,
        client=CLIENT,
    )
    return Expected(
        "delegation.created", delegation, director.email, CLIENT.address, {"deputy": deputy.email}
    )


def _ended_delegation_with_a_case():
    """A deputy's request through a delegation that ended yesterday, and one in force."""
    requester, director = requester_and_director()
    ended = DelegationFactory(director=director, deputy=UserFactory(role=Role.DEPUTY))
    in_force = DelegationFactory(director=director, deputy=UserFactory(role=Role.DEPUTY))
    case = submitted_case(requester=requester)
    Delegation.objects.filter(pk=ended.pk).update(starts_on=_days(-5), ends_on=_days(-1))
    return ended, in_force, case


def run_approvals_supersede_lost_authority(run):
    ended, _, case = _ended_delegation_with_a_case()
    run.service_starts()
    with transaction.atomic():
        locked = BusinessCase.objects.select_for_update().get(pk=case.pk)
        approval_services.approvals_supersede_lost_authority(
            case=locked, actor=ended.director, client=CLIENT
        )
    return Expected(
        "approval.authority_lost",
        case,
        ended.director.email,
        CLIENT.address,
        {"approver": ended.deputy.email, **_status("open", "superseded")},
    )


def run_delegation_end(run):
    ended, _, case = _ended_delegation_with_a_case()
    run.service_starts()
    approval_services.delegation_end(delegation_id=ended.pk)
    return [
        Expected("delegation.ended", ended, "system:delegations_end_due"),
        Expected("approval.authority_lost", case, "system:delegations_end_due"),
    ]


def run_delegations_end_due(run):
    ended, in_force, case = _ended_delegation_with_a_case()
    run.service_starts()
    assert approval_services.delegations_end_due() == 1
    return [
        Expected("delegation.ended", ended, "system:delegations_end_due"),
        NoEvent(in_force),
    ]


def run_delegation_cancel(run):
    delegation = DelegationFactory()
    run.service_starts()
    approval_services.delegation_cancel(
        delegation=delegation, actor=delegation.director, client=CLIENT
    )
    delegation.refresh_from_db()
    return Expected(
        "delegation.cancelled",
        delegation,
        delegation.director.email,
        CLIENT.address,
        {"deputy": delegation.deputy.email},
    )
