"""Every service that changes state writes its audit event (and keeps the chain whole).

One entry in SERVICES per public state-changing service function (and per interesting
variant of one): a runner that builds the state it needs with the factories, runs the
service with an actor and a client, and returns what the trail must now hold: one event
per Expected (the action, the object it is about, who did it, from where, and the
before/after values of a status it changed). A sweep returns one Expected per item it
changed, with its `system:` actor, and `NoEvent` for an item that was not due.

`test_every_public_service_function_is_covered` lists the public functions of the service
modules: a function added later must be given a runner here or be put, with a reason, in
NOT_STATE_CHANGING (reads and rules) or AUDITED_BY_CALLER.
"""

import datetime
import inspect
from dataclasses import dataclass, field
from io import StringIO

import pytest
import time_machine
from axes.models import AccessLog
from django.contrib.auth import authenticate
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase, SafeUseReminder
from access_requests.selectors.grants import expiry_notice_due
from access_requests.services import (
    business_cases as case_services,
    case_copies,
    grant_emails,
    grant_expiry,
    grant_renewal,
    grant_safe_use,
    grant_withdrawal,
    grants as grant_services,
    retention as case_retention,
    sites as site_services,
)
from access_requests.tests.factories import (
    BusinessCaseFactory,
    SiteFactory,
    grant_in_status,
    requester_with_director,
)
from api import services as api_services
from api.models import Scope
from approvals import services as approval_services
from approvals.models import ApprovalRequest, Delegation
from approvals.tests.factories import (
    DelegationFactory,
    requester_and_director,
    submitted_case,
)
from audit import descriptions, retention as audit_retention
from audit.models import AuditEvent
from audit.services import CLIENT_FIELDS_CLEARED, SystemActor, audit_chain_verify, record
from core.client import Client
from notifications import (
    delivery as email_delivery,
    retention as email_retention,
    services as notification_services,
)
from notifications.delivery import DeliveryReceipt
from notifications.models import OutboundEmail
from people import (
    directory as people_directory,
    services as people_services,
    switching as people_switching,
)
from people.errors import PasswordLinkThrottled
from people.models import Role, User
from people.staff_csv import staff_rows_read
from people.tests.factories import TEST_PASSWORD, DirectorateFactory, UserFactory, director_of
from portal import tasks as portal_tasks
from reviews import services as review_services
from reviews.tests.factories import department, grant_held_in
from staffing import services as staffing_services

pytestmark = pytest.mark.django_db

CLIENT = Client(address="203.0.113.9", user_agent="Service test")

# The modules whose public functions the coverage test lists.
SERVICE_MODULES = [
    case_services,
    site_services,
    case_copies,
    grant_services,
    grant_expiry,
    grant_safe_use,
    grant_renewal,
    grant_emails,
    approval_services,
    notification_services,
    email_delivery,
    people_services,
    people_directory,
    staffing_services,
    review_services,
    email_retention,
    case_retention,
    portal_tasks,
    audit_retention,
    api_services,
]


@dataclass(frozen=True)
class Expected:
    action: str
    obj: object | None  # the model the event is about (None: no object)
    actor_label: str
    client_address: str | None = None  # and then the client's user agent too
    changes: dict = field(default_factory=dict)  # must be among the event's changes
    object_repr: str | None = None


@dataclass(frozen=True)
class NoEvent:
    """An item the run must leave alone (a sweep's item that was not due)."""

    obj: object


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


class Run:
    """What a runner gets: the test client, the settings, and `service_starts()`, called once
    the state is built, so that only what the service wrote is checked."""

    def __init__(self, client, settings):
        self.client = client
        self.settings = settings
        self.since = _last_event_id()

    def service_starts(self) -> None:
        self.since = _last_event_id()


def _status(old, new) -> dict:
    return {"status": [old, new]}


def _days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


# --- access_requests.services.business_cases --------------------------------------------------

CASES = "access_requests.services.business_cases"


def run_business_case_start(run):
    requester = UserFactory()
    run.service_starts()
    case = case_services.business_case_start(requester=requester, client=CLIENT)
    return Expected("case.started", case, requester.email, CLIENT.address, _status(None, "draft"))


def run_business_case_save_answers(run):
    case = BusinessCaseFactory()
    old_purpose = case.purpose
    run.service_starts()
    case_services.business_case_save_answers(
        case=case, actor=case.requester, answers={"purpose": "A new purpose."}, client=CLIENT
    )
    return Expected(
        "case.answers_saved",
        case,
        case.requester.email,
        CLIENT.address,
        {"purpose": [old_purpose, "A new purpose."]},
    )


def run_business_case_set_sites(run):
    case = BusinessCaseFactory(sites=[SiteFactory(name="LinkedIn")])
    run.service_starts()
    case_services.business_case_set_sites(
        case=case, actor=case.requester, sites=[SiteFactory(name="X")], client=CLIENT
    )
    return Expected(
        "case.sites_changed",
        case,
        case.requester.email,
        CLIENT.address,
        {"sites": [["LinkedIn"], ["X"]]},
    )


def run_business_case_save_identity(run):
    site = SiteFactory(name="LinkedIn")
    case = BusinessCaseFactory(sites=[site])
    old_name = case.requester.display_name
    run.service_starts()
    case_services.business_case_save_identity(
        case=case,
        site=site,
        actor=case.requester,
        display_name="Comms Team",
        uses_pseudonym=True,
        pseudonym_reason="A team account",
        identifies_as_official=True,
        not_official_reason="",
        client=CLIENT,
    )
    return Expected(
        "case.identity_saved",
        case,
        case.requester.email,
        CLIENT.address,
        {"display_name": [old_name, "Comms Team"], "uses_pseudonym": [False, True]},
    )


def run_business_case_delete_draft(run):
    case = BusinessCaseFactory()
    run.service_starts()
    case_services.business_case_delete_draft(case=case, actor=case.requester, client=CLIENT)
    assert not BusinessCase.objects.filter(pk=case.pk).exists()
    return Expected(
        "case.draft_deleted", case, case.requester.email, CLIENT.address, _status("draft", None)
    )


def run_business_case_submit(run):
    case = BusinessCaseFactory()
    run.service_starts()
    case_services.business_case_submit(case=case, actor=case.requester, client=CLIENT)
    return Expected(
        "case.submitted", case, case.requester.email, CLIENT.address, _status("draft", "submitted")
    )


def run_business_case_withdraw(run):
    case = submitted_case()
    run.service_starts()
    case_services.business_case_withdraw(
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
    ]


def run_business_case_lapse(run):
    case = submitted_case()
    run.service_starts()
    case_services.business_case_lapse(
        case=case,
        actor=SystemActor("case_lapse_due"),
        lapsed_at=timezone.now(),
        approval_requests_expired=[],
    )
    return Expected(
        "case.lapsed", case, "system:case_lapse_due", changes=_status("submitted", "lapsed")
    )


CASE_COPIES = "access_requests.services.case_copies"


def run_business_case_ask_again(run):
    old = submitted_case()
    approval_services.case_withdraw(case=old, actor=old.requester)
    run.service_starts()
    new = case_copies.business_case_ask_again(case=old, actor=old.requester, client=CLIENT)
    assert new.asked_again_from_id == old.pk
    return Expected(
        "case.asked_again",
        new,
        old.requester.email,
        CLIENT.address,
        {**_status(None, "draft"), "asked_again_from": old.reference},
    )


# --- access_requests.services.grants ---------------------------------------------------------

GRANTS = "access_requests.services.grants"
GRANT_EXPIRY = "access_requests.services.grant_expiry"
GRANT_SAFE_USE = "access_requests.services.grant_safe_use"
GRANT_RENEWAL = "access_requests.services.grant_renewal"
GRANT_EMAILS = "access_requests.services.grant_emails"


def run_grant_create_from_case(run):
    case = BusinessCaseFactory(
        submitted=True, status=BusinessCase.Status.APPROVED, decided_at=timezone.now()
    )
    director = UserFactory(role=Role.DIRECTOR)
    run.service_starts()
    grant = grant_services.grant_create_from_case(
        case=case, approved_by=director, approved_at=timezone.now()
    )
    return Expected("grant.created", grant, director.email, changes=_status(None, "awaiting"))


def run_grant_provision(run):
    grant = grant_in_status(AccessGrant.Status.AWAITING_PROVISIONING)
    ict = UserFactory(role=Role.ICT)
    run.service_starts()
    grant_services.grant_provision(grant=grant, actor=ict, client=CLIENT)
    return Expected(
        "grant.provisioned", grant, ict.email, CLIENT.address, _status("awaiting", "active")
    )


def run_grant_provision_active_tier(run):
    grant = grant_in_status(AccessGrant.Status.AWAITING_PROVISIONING, business_case__active=True)
    ict = UserFactory(role=Role.ICT)
    run.service_starts()
    grant_services.grant_provision(grant=grant, actor=ict, asset_tag="PC-0042", client=CLIENT)
    return Expected(
        "grant.provisioned",
        grant,
        ict.email,
        CLIENT.address,
        {**_status("awaiting", "active"), "pc_asset_tag": ["", "PC-0042"]},
    )


def run_grant_withdrawal_confirm(run):
    grant = grant_in_status(AccessGrant.Status.EXPIRED)
    ict = UserFactory(role=Role.ICT)
    run.service_starts()
    grant_withdrawal.grant_withdrawal_confirm(grant=grant, actor=ict, client=CLIENT)
    return Expected("grant.access_withdrawn", grant, ict.email, CLIENT.address)


def run_grant_return(run):
    grant = grant_in_status(AccessGrant.Status.AWAITING_PROVISIONING)
    ict = UserFactory(role=Role.ICT)
    run.service_starts()
    grant_services.grant_return(grant=grant, actor=ict, reason="No PC in stock", client=CLIENT)
    return Expected(
        "grant.returned",
        grant,
        ict.email,
        CLIENT.address,
        {**_status("awaiting", "returned"), "reason": "No PC in stock"},
    )


def run_grant_revoke(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE)
    admin = UserFactory(role=Role.ADMIN)
    run.service_starts()
    grant_services.grant_revoke(grant=grant, actor=admin, reason="Misuse", client=CLIENT)
    return Expected(
        "grant.revoked",
        grant,
        admin.email,
        CLIENT.address,
        {**_status("active", "revoked"), "reason": "Misuse"},
    )


def run_grant_revoke_before_provisioning(run):
    grant = grant_in_status(AccessGrant.Status.AWAITING_PROVISIONING)
    admin = UserFactory(role=Role.ADMIN)
    run.service_starts()
    grant_services.grant_revoke(grant=grant, actor=admin, reason="Moved post", client=CLIENT)
    return Expected(
        "grant.revoked", grant, admin.email, CLIENT.address, _status("awaiting", "revoked")
    )


def run_grant_surrender(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE)
    run.service_starts()
    grant_services.grant_surrender(grant=grant, actor=grant.holder, client=CLIENT)
    return Expected(
        "grant.surrendered",
        grant,
        grant.holder.email,
        CLIENT.address,
        _status("active", "surrendered"),
    )


def run_grant_choose_lapse(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE)
    run.service_starts()
    grant_services.grant_choose_lapse(grant=grant, actor=grant.holder, client=CLIENT)
    grant.refresh_from_db()
    assert grant.lapse_chosen_at is not None
    return Expected("grant.lapse_chosen", grant, grant.holder.email, CLIENT.address)


def run_grant_lapse_undo(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE, lapse_chosen_at=timezone.now())
    run.service_starts()
    with transaction.atomic():
        grant_services.grant_lapse_undo(grant=grant, actor=grant.holder, client=CLIENT)
    grant.refresh_from_db()
    assert grant.lapse_chosen_at is None
    return Expected("grant.lapse_undone", grant, grant.holder.email, CLIENT.address)


def _past_end_grant():
    return grant_in_status(AccessGrant.Status.ACTIVE, start_date=_days(-30), end_date=_days(-1))


def _expired(grant) -> Expected:
    return Expected(
        "grant.expired", grant, "system:grant_expiry_sweep", changes=_status("active", "expired")
    )


def run_grant_expire(run):
    grant = _past_end_grant()
    run.service_starts()
    assert grant_services.grant_expire(grant_id=grant.pk) is not None
    return _expired(grant)


def run_grants_expire(run):
    due = [_past_end_grant(), _past_end_grant()]
    run.service_starts()
    ids = [grant.pk for grant in due]
    assert len(grant_services.grants_expire(grant_ids=ids, today=_days(0), ict=None)) == 2
    return [_expired(grant) for grant in due]


def run_grant_expiry_sweep(run):
    due = [_past_end_grant(), _past_end_grant()]
    not_due = grant_in_status(AccessGrant.Status.ACTIVE)
    run.service_starts()
    assert grant_expiry.grant_expiry_sweep().done == 2
    return [*(_expired(grant) for grant in due), NoEvent(not_due)]


def run_expiry_notice_send(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE, end_date=_days(1))
    days_before = expiry_notice_due(grant=grant, today=timezone.localdate())
    run.service_starts()
    assert grant_expiry.expiry_notice_send(grant_id=grant.pk, days_before=days_before)
    return Expected(
        "grant.expiry_notice_sent",
        grant,
        "system:grant_expiry_notice_sweep",
        changes={"days_before": days_before},
    )


def run_grant_expiry_notice_sweep(run):
    due = [
        grant_in_status(AccessGrant.Status.ACTIVE, end_date=_days(1)),
        grant_in_status(AccessGrant.Status.ACTIVE, end_date=_days(20)),
    ]
    not_due = grant_in_status(AccessGrant.Status.ACTIVE, end_date=_days(80))
    run.service_starts()
    assert grant_expiry.grant_expiry_notice_sweep().done == 2
    return [
        *(
            Expected("grant.expiry_notice_sent", grant, "system:grant_expiry_notice_sweep")
            for grant in due
        ),
        NoEvent(not_due),
    ]


def _safe_use_due_grant():
    return grant_in_status(
        AccessGrant.Status.ACTIVE,
        business_case__active=True,
        provisioned_at=timezone.now() - datetime.timedelta(days=100),
        pc_asset_tag="PC-0042",
    )


def run_safe_use_reminder_send(run):
    grant = _safe_use_due_grant()
    run.service_starts()
    assert grant_safe_use.safe_use_reminder_send(grant_id=grant.pk) is not None
    return Expected(
        "grant.safe_use_reminded", grant, "system:grant_safe_use_sweep", changes={"period": 1}
    )


def run_grant_safe_use_sweep(run):
    due = [_safe_use_due_grant(), _safe_use_due_grant()]
    not_due = grant_in_status(AccessGrant.Status.ACTIVE, business_case__active=True)
    run.service_starts()
    assert grant_safe_use.grant_safe_use_sweep().done == 2
    return [
        *(
            Expected("grant.safe_use_reminded", grant, "system:grant_safe_use_sweep")
            for grant in due
        ),
        NoEvent(not_due),
    ]


def run_safe_use_confirm(run):
    grant = _safe_use_due_grant()
    SafeUseReminder.objects.create(grant=grant, period=1, confirm_by=_days(14))
    run.service_starts()
    assert grant_safe_use.safe_use_confirm(grant=grant, actor=grant.holder, client=CLIENT)
    return Expected(
        "grant.safe_use_confirmed", grant, grant.holder.email, CLIENT.address, {"period": 1}
    )


def run_grant_renewal_start(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE, end_date=_days(10))
    run.service_starts()
    renewal = grant_renewal.grant_renewal_start(grant=grant, actor=grant.holder, client=CLIENT)
    assert renewal.renewal_of_id == grant.pk
    return Expected(
        "case.renewal_started", renewal, grant.holder.email, CLIENT.address, _status(None, "draft")
    )


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


# --- notifications.services -------------------------------------------------------------------

NOTIFICATIONS = "notifications.services"


def _email(to="someone@example.gov.uk") -> OutboundEmail:
    return OutboundEmail.objects.create(
        to=to,
        subject="Subject",
        body_text="Body",
        template="test",
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1),
    )


def run_outbound_email_send(run):
    email = _email()
    run.service_starts()
    notification_services.outbound_email_send(email_id=email.pk)
    return Expected("email.sent", email, "system:outbox", changes=_status("pending", "sent"))


def _mail_server_down(settings):
    """Mail goes over SMTP to a port nothing listens on, so the connection is refused."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


def run_outbound_email_send_failing(run):
    email = _email()
    _mail_server_down(run.settings)
    run.service_starts()
    notification_services.outbound_email_send(email_id=email.pk)
    return Expected("email.send_failed", email, "system:outbox", changes={"attempts": [0, 1]})


def run_outbound_email_send_giving_up(run):
    run.settings.SNS_OUTBOX_MAX_ATTEMPTS = 1
    email = _email()
    _mail_server_down(run.settings)
    run.service_starts()
    notification_services.outbound_email_send(email_id=email.pk)
    return Expected("email.failed", email, "system:outbox", changes=_status("pending", "failed"))


def run_outbox_sweep(run):
    due = [_email("one@example.gov.uk"), _email("two@example.gov.uk")]
    not_due = _email("later@example.gov.uk")
    OutboundEmail.objects.filter(pk=not_due.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(hours=1)
    )
    run.service_starts()
    assert notification_services.outbox_sweep() == 2
    return [
        *(
            Expected("email.sent", email, "system:outbox", changes=_status("pending", "sent"))
            for email in due
        ),
        NoEvent(not_due),
    ]


# --- notifications.delivery and approvals' delivery receipts ---------------------------------

EMAIL_DELIVERY = "notifications.delivery"
RECEIPTS = SystemActor("notify_delivery_receipt").label


def run_email_delivery_record(run):
    email = _email()
    OutboundEmail.objects.filter(pk=email.pk).update(
        status="sent", sent_at=timezone.now(), sent_via="notify", provider_id="notify-id-1"
    )
    run.service_starts()
    email_delivery.email_delivery_record(
        receipt=DeliveryReceipt("notify-id-1", "", "delivered"), client=CLIENT
    )
    return Expected(
        "email.delivery_reported",
        email,
        RECEIPTS,
        CLIENT.address,
        {"delivery_status": ["", "delivered"]},
    )


def _approver_email_sent_through_notify():
    UserFactory(role=Role.ADMIN)  # asked when the director cannot be
    case = submitted_case()
    approval = case.approval_requests.get()
    email = OutboundEmail.objects.get(template="approval_request", object_id=str(approval.pk))
    OutboundEmail.objects.filter(pk=email.pk).update(sent_via="notify", provider_id="notify-id-2")
    return case, approval, email


def run_delivery_receipt_apply(run):
    case, approval, email = _approver_email_sent_through_notify()
    run.service_starts()
    approval_services.delivery_receipt_apply(
        receipt=DeliveryReceipt("notify-id-2", "", "permanent-failure"), client=CLIENT
    )
    return [
        Expected(
            "email.delivery_reported",
            email,
            RECEIPTS,
            CLIENT.address,
            {"delivery_status": ["", "permanent-failure"]},
        ),
        Expected("approval.email_undeliverable", case, RECEIPTS, changes={"escalated": True}),
        Expected("approval.escalated", case, RECEIPTS),
    ]


def run_approval_escalate_undeliverable(run):
    case, approval, email = _approver_email_sent_through_notify()
    run.service_starts()
    approval_services.approval_escalate_undeliverable(approval_id=approval.pk, email=email)
    return [
        Expected(
            "approval.email_undeliverable",
            case,
            RECEIPTS,
            changes={"approval_request": approval.pk, "escalated": True},
        ),
        Expected("approval.escalated", case, RECEIPTS),
    ]


# --- access_requests.services.sites ----------------------------------------------------------

SITES = "access_requests.services.sites"


def run_site_create(run):
    admin = UserFactory(role=Role.ADMIN)
    run.service_starts()
    site = site_services.site_create(
        name="Mastodon",
        url="https://mastodon.example/",
        allows_shared_display_names=False,
        actor=admin,
        client=CLIENT,
    )
    return Expected("site.created", site, admin.email, CLIENT.address, {"name": [None, "Mastodon"]})


def run_site_rename(run):
    admin = UserFactory(role=Role.ADMIN)
    site = SiteFactory(name="Twitter")
    run.service_starts()
    site_services.site_rename(site=site, name="X", actor=admin, client=CLIENT)
    return Expected("site.renamed", site, admin.email, CLIENT.address, {"name": ["Twitter", "X"]})


def run_site_retire(run):
    admin = UserFactory(role=Role.ADMIN)
    site = SiteFactory(name="Bebo")
    run.service_starts()
    site_services.site_retire(site=site, actor=admin, client=CLIENT)
    return Expected("site.retired", site, admin.email, CLIENT.address, {"offered": [True, False]})


def run_site_unretire(run):
    admin = UserFactory(role=Role.ADMIN)
    site = SiteFactory(name="Bebo", is_active=False)
    run.service_starts()
    site_services.site_unretire(site=site, actor=admin, client=CLIENT)
    return Expected("site.unretired", site, admin.email, CLIENT.address, {"offered": [False, True]})


# --- people.services --------------------------------------------------------------------------

PEOPLE = "people.services"
DIRECTORY = "people.directory"
STAFFING = "staffing.services"
STAFF_HEADER = "email,name,job_title,organisation,directorate,business_unit,cost_centre,role\n"


def run_staff_import(run):
    admin = UserFactory(role=Role.ADMIN)
    lines = StringIO(
        STAFF_HEADER
        + "new.person@example.gov.uk,New Person,Adviser,HQ,Borders,Visas,CC99001,staff\n"
    )
    run.service_starts()
    staffing_services.staff_directory_sync(rows=staff_rows_read(lines), actor=admin)
    return [
        Expected(
            "people.staff_created",
            User.objects.get(email="new.person@example.gov.uk"),
            admin.email,
            changes={"role": [None, "staff"]},
            object_repr="new.person@example.gov.uk",
        ),
        Expected("people.staff_imported", None, admin.email, changes={"created": 1, "updated": 0}),
    ]


def run_staff_import_updates(run):
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory(email="known.person@example.gov.uk", profile__job_title="Adviser")
    unit = person.profile.business_unit
    directorate = unit.directorate
    lines = StringIO(
        STAFF_HEADER
        + f"{person.email},{person.display_name},Senior Adviser,{directorate.organisation.name},"
        f"{directorate.name},{unit.name},{unit.cost_centre},staff\n"
    )
    run.service_starts()
    people_directory.staff_directory_apply(
        plan=people_directory.staff_directory_plan(rows=staff_rows_read(lines), full=False),
        actor=admin,
    )
    return Expected(
        "people.staff_updated",
        person,
        admin.email,
        changes={"job_title": ["Adviser", "Senior Adviser"]},
        object_repr=person.email,
    )


def run_staff_directory_sync_leaver(run):
    admin = UserFactory(role=Role.ADMIN)
    leaver = UserFactory()
    unit = admin.profile.business_unit
    directorate = unit.directorate
    lines = StringIO(
        STAFF_HEADER
        + f"{admin.email},Ada,Admin,{directorate.organisation.name},{directorate.name},"
        f"{unit.name},{unit.cost_centre},admin\n"
    )
    User.objects.exclude(pk__in=[admin.pk, leaver.pk]).update(is_active=False)
    run.service_starts()
    staffing_services.staff_directory_sync(
        rows=staff_rows_read(lines), actor=SystemActor("import_staff"), full=True
    )
    return Expected(
        "people.switched_off",
        leaver,
        "system:import_staff",
        changes={"is_active": [True, False]},
        object_repr=leaver.email,
    )


def run_person_deactivate(run):
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory()
    run.service_starts()
    people_switching.person_deactivate(person=person, actor=admin, reason="Left", client=CLIENT)
    return Expected("people.switched_off", person, admin.email, CLIENT.address, {"reason": "Left"})


def run_person_activate(run):
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory(is_active=False)
    run.service_starts()
    people_switching.person_activate(person=person, actor=admin, client=CLIENT)
    return Expected(
        "people.switched_on", person, admin.email, CLIENT.address, {"is_active": [False, True]}
    )


def run_case_reroute(run):
    requester, director = requester_and_director()
    case = submitted_case(requester=requester)
    successor = UserFactory(role=Role.DIRECTOR)
    directorate = requester.profile.business_unit.directorate
    directorate.director = successor
    directorate.save()
    run.service_starts()
    approval_services.case_reroute(case=case, actor=SystemActor("import_staff"), because="New")
    return [
        Expected("approval.superseded", case, "system:import_staff"),
        Expected(
            "approval.rerouted", case, "system:import_staff", changes={"approver": successor.email}
        ),
    ]


def run_person_leave(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE, business_case__reference="SNS-2020-00001")
    holder = grant.holder
    holder.is_active = False
    holder.save()
    run.service_starts()
    approval_services.person_leave(person=holder, actor=SystemActor("import_staff"))
    return Expected(
        "grant.revoked",
        grant,
        "system:import_staff",
        changes={**_status("active", "revoked"), "reason": "left the department"},
    )


def run_person_move(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE, business_case__reference="SNS-2020-00002")
    director_of(grant.holder.profile.business_unit.directorate)
    run.service_starts()
    approval_services.person_move(
        person=grant.holder, from_directorate="Old", actor=SystemActor("import_staff")
    )
    return Expected("grant.holder_moved", grant, "system:import_staff")


def run_directorate_director_change(run):
    requester, director = requester_and_director()
    case = submitted_case(requester=requester)
    directorate = requester.profile.business_unit.directorate
    directorate.director = UserFactory(role=Role.DIRECTOR)
    directorate.save()
    run.service_starts()
    approval_services.directorate_director_change(
        directorate=directorate, old_director=director, actor=SystemActor("import_staff")
    )
    return Expected("approval.rerouted", case, "system:import_staff")


def run_person_switch_off(run):
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory()
    run.service_starts()
    approval_services.person_switch_off(
        person=person, actor=admin, reason="Suspended", client=CLIENT
    )
    return Expected(
        "people.switched_off", person, admin.email, CLIENT.address, {"reason": "Suspended"}
    )


def run_person_switch_on(run):
    admin = UserFactory(role=Role.ADMIN)
    person = UserFactory(is_active=False)
    run.service_starts()
    approval_services.person_switch_on(person=person, actor=admin, client=CLIENT)
    return Expected("people.switched_on", person, admin.email, CLIENT.address)


def run_password_set(run):
    person = UserFactory()
    run.service_starts()
    people_services.password_set(
        user=person, password="a-new-password-2026", actor=SystemActor("load_demo_data")
    )
    return Expected(
        "people.password_set", person, "system:load_demo_data", object_repr=person.email
    )


def run_password_reset_request(run):
    person = UserFactory()
    run.service_starts()
    people_services.password_reset_request(email=person.email.upper(), client=CLIENT)
    assert OutboundEmail.objects.filter(template="password_link", to=person.email).exists()
    return Expected(
        "people.password_reset_requested",
        person,
        "anonymous",
        CLIENT.address,
        {"email": person.email, "outcome": "link emailed"},
        object_repr=person.email,
    )


def run_password_reset_request_unknown(run):
    run.service_starts()
    people_services.password_reset_request(email="nobody@example.gov.uk", client=CLIENT)
    return Expected(
        "people.password_reset_requested",
        None,
        "anonymous",
        CLIENT.address,
        {"email": "nobody@example.gov.uk", "outcome": "no active account"},
        object_repr="nobody@example.gov.uk",
    )


def run_password_reset_request_throttled(run):
    # The throttle is a step of `password_reset_request` (people.services'
    # `_password_reset_throttle`): its refusal is recorded through the public service.
    run.settings.SNS_PASSWORD_LINK_ADDRESS_LIMIT = 0
    run.settings.SNS_PASSWORD_LINK_EMAIL_LIMIT = 0
    person = UserFactory()
    run.service_starts()
    with pytest.raises(PasswordLinkThrottled):
        people_services.password_reset_request(email=person.email, client=CLIENT)
    assert not OutboundEmail.objects.filter(to=person.email).exists()
    return Expected(
        "people.password_reset_throttled",
        None,
        "anonymous",
        CLIENT.address,
        {"email": person.email, "requests_from_address": 1, "requests_for_email": 1},
        object_repr=person.email,
    )


def run_password_link_send(run):
    admin = UserFactory(role=Role.ADMIN)
    person = User.objects.create_user(email="new.person@example.gov.uk")
    run.service_starts()
    people_services.password_link_send(person=person, actor=admin, client=CLIENT)
    assert OutboundEmail.objects.filter(template="password_link", to=person.email).exists()
    return Expected(
        "people.password_link_sent",
        person,
        admin.email,
        CLIENT.address,
        {"email": person.email},
        object_repr=person.email,
    )


def run_password_reset_complete(run):
    from django.contrib.auth.tokens import default_token_generator

    person = UserFactory()
    token = default_token_generator.make_token(person)
    run.service_starts()
    people_services.password_reset_complete(
        user_id=person.pk, token=token, password="a-new-password-2026", client=CLIENT
    )
    return Expected(
        "people.password_set",
        person,
        person.email,
        CLIENT.address,
        {"via": "link", "first_password": False},
        object_repr=person.email,
    )


def run_sso_sign_in_refuse(run):
    person = UserFactory(is_active=False)
    run.service_starts()
    people_services.sso_sign_in_refuse(
        reason="switched_off", email=person.email.upper(), person=person, client=CLIENT
    )
    return Expected(
        "auth.sso_refused",
        person,
        "anonymous",
        CLIENT.address,
        {"reason": "switched_off", "email": person.email, "refused_from_address": 1},
        object_repr=person.email,
    )


def run_sso_sign_in_refuse_no_one(run):
    run.service_starts()
    people_services.sso_sign_in_refuse(reason="bad_state", client=CLIENT)
    return Expected(
        "auth.sso_refused",
        None,
        "anonymous",
        CLIENT.address,
        {"reason": "bad_state", "email": ""},
        object_repr="no email address",
    )


# --- signing in and out (people.receivers) ----------------------------------------------------


def run_sign_in(run):
    user = UserFactory()
    run.service_starts()
    run.client.post(
        reverse("sign-in"),
        {"username": user.email, "password": TEST_PASSWORD},
        REMOTE_ADDR=CLIENT.address,
        HTTP_USER_AGENT=CLIENT.user_agent,
    )
    return Expected("auth.signed_in", user, user.email, CLIENT.address)


def run_failed_sign_in(run):
    request = RequestFactory().post(
        "/sign-in/", REMOTE_ADDR=CLIENT.address, HTTP_USER_AGENT=CLIENT.user_agent
    )
    run.service_starts()
    assert authenticate(request, username="nobody@example.gov.uk", password="wrong") is None
    return Expected(
        "auth.sign_in_failed",
        None,
        "anonymous",
        CLIENT.address,
        {"email": "nobody@example.gov.uk"},
        object_repr="nobody@example.gov.uk",
    )


def run_sign_out(run):
    user = UserFactory()
    run.client.force_login(user)
    run.service_starts()
    run.client.post(
        reverse("sign-out"), REMOTE_ADDR=CLIENT.address, HTTP_USER_AGENT=CLIENT.user_agent
    )
    return Expected("auth.signed_out", user, user.email, CLIENT.address)


# --- the retention sweep's services -----------------------------------------------------------

EMAIL_RETENTION = "notifications.retention"
CASE_RETENTION = "access_requests.services.retention"
PORTAL_TASKS = "portal.tasks"
AUDIT_RETENTION = "audit.retention"
RETENTION_SWEEP = "system:retention sweep"


def _days_ago(n: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)


def run_outbound_email_bodies_purge(run):
    run.settings.SNS_RETENTION_EMAIL_BODY_DAYS = 90
    old = OutboundEmail.objects.create(
        to="sam@example.gov.uk",
        template="t",
        body_text="Dear Sam",
        status="sent",
        sent_at=_days_ago(91),
    )
    run.service_starts()
    assert email_retention.outbound_email_bodies_purge() == 1
    return Expected(
        "email.bodies_removed",
        None,
        RETENTION_SWEEP,
        changes={"emails": [old.pk], "count": 1},
        object_repr="1 email",
    )


def run_case_texts_purge_due(run):
    run.settings.SNS_RETENTION_CASE_TEXT_DAYS = 730
    case = BusinessCaseFactory(
        submitted=True,
        status=BusinessCase.Status.REJECTED,
        decided_at=_days_ago(731),
        decision_reason="Personal reasons",
    )
    run.service_starts()
    assert case_retention.case_texts_purge_due() == 1
    return Expected(
        "case.texts_removed",
        None,
        RETENTION_SWEEP,
        changes={"cases": [case.reference]},
        object_repr="1 closed case",
    )


def run_sign_in_records_purge(run):
    run.settings.SNS_RETENTION_SIGN_IN_DAYS = 90
    entry = AccessLog.objects.create(
        username="old@example.gov.uk", ip_address="203.0.113.9", user_agent="Firefox"
    )
    AccessLog.objects.filter(pk=entry.pk).update(attempt_time=_days_ago(91))
    run.service_starts()
    assert portal_tasks.sign_in_records_purge() == 1
    return Expected(
        "sign_in_records.removed",
        None,
        RETENTION_SWEEP,
        changes={"count": 1, "retention_days": 90},
        object_repr="1 sign-in record",
    )


def run_audit_client_fields_purge(run):
    run.settings.SNS_RETENTION_CLIENT_DAYS = 400
    with time_machine.travel(_days_ago(401), tick=False):
        old = record(actor=None, action="test.signed_in", client=CLIENT)
    run.service_starts()
    assert audit_retention.audit_client_fields_purge() == 1
    old = AuditEvent.objects.get(pk=old.pk)
    assert (old.client_address, old.user_agent) == (None, "")
    return Expected(
        CLIENT_FIELDS_CLEARED,
        None,
        RETENTION_SWEEP,
        changes={"count": 1, "up_to_id": old.pk, "retention_days": 400},
        object_repr="1 audit event",
    )


# --- the read API's service tokens ---------------------------------------------------------

API = "api.services"


def _service_token(admin=None):
    admin = admin or UserFactory(role=Role.ADMIN)
    return api_services.service_token_create(
        name="SIEM",
        owner=admin,
        scopes=[Scope.AUDIT_READ],
        expires_at=timezone.now() + datetime.timedelta(days=30),
        actor=admin,
    )


def run_service_token_create(run):
    admin = UserFactory(role=Role.ADMIN)
    run.service_starts()
    token, _secret = api_services.service_token_create(
        name="SIEM",
        owner=admin,
        scopes=[Scope.AUDIT_READ],
        expires_at=timezone.now() + datetime.timedelta(days=30),
        actor=admin,
        client=CLIENT,
    )
    return Expected(
        "service_token.created",
        token,
        admin.email,
        CLIENT.address,
        changes={"scope": "audit:read", "owner": admin.email},
    )


def run_service_token_revoke(run):
    admin = UserFactory(role=Role.ADMIN)
    token, _secret = _service_token(admin)
    run.service_starts()
    api_services.service_token_revoke(token=token, actor=admin, client=CLIENT)
    return Expected("service_token.revoked", token, admin.email, CLIENT.address)


def run_service_token_use(run):
    token, secret = _service_token()
    api_services.service_token_use(secret=secret, client=Client("198.51.100.1", "siem"))
    run.service_starts()
    api_services.service_token_use(secret=secret, client=CLIENT)
    return Expected(
        "service_token.used_from_new_address",
        token,
        "anonymous",
        CLIENT.address,
        changes={"address": ["198.51.100.1", CLIENT.address]},
    )


def run_service_token_use_same_address(run):
    token, secret = _service_token()
    api_services.service_token_use(secret=secret, client=CLIENT)
    run.service_starts()
    api_services.service_token_use(secret=secret, client=CLIENT)
    return NoEvent(token)


# Keyed by the service function's dotted path (a variant adds " (what)"); entries that are
# not a service module's function (signing in) are named in words. Admin edits:
# audit/tests/test_admin_edits.py.

# --- reviews.services -------------------------------------------------------------------------

REVIEWS = "reviews.services"


def _review_started():
    directorate, director = department()
    grant = grant_held_in(directorate)
    review = review_services.access_review_start(actor=director)
    return review, director, grant


def _on(day: datetime.date):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(12)), tick=False)


def run_access_review_start(run):
    directorate, director = department()
    grant_held_in(directorate)
    run.service_starts()
    review = review_services.access_review_start(actor=director, client=CLIENT)
    return Expected(
        "access_review.started",
        review,
        director.email,
        CLIENT.address,
        {"grants_to_review": 1, "reviewers": 1},
    )


def run_access_review_start_scheduled(run):
    run.settings.SNS_ACCESS_REVIEW_MONTHS = 6
    directorate, _ = department()
    grant_held_in(directorate)
    run.service_starts()
    review = review_services.access_review_start_scheduled()
    return Expected("access_review.started", review, "system:access_review_schedule")


def run_review_item_decide(run):
    review, director, grant = _review_started()
    run.service_starts()
    review_services.review_item_decide(
        item=review.items.get(), actor=director, decision="end", reason="Moved on", client=CLIENT
    )
    return [
        Expected(
            "access_review.decided",
            grant,
            director.email,
            CLIENT.address,
            {"review_decision": ["", "end"], "reason": "Moved on"},
        ),
        Expected("grant.revoked", grant, director.email, CLIENT.address),
    ]


def run_review_keep_unmarked(run):
    review, director, grant = _review_started()
    run.service_starts()
    review_services.review_keep_unmarked(review=review, actor=director, client=CLIENT)
    return Expected(
        "access_review.decided",
        grant,
        director.email,
        CLIENT.address,
        {"review_decision": ["", "keep"], "kept_with_all_unmarked": True},
    )


def run_access_review_remind_due(run):
    review, _, _ = _review_started()
    run.service_starts()
    with _on(review.due_on):
        review_services.access_review_remind_due()
    return Expected("access_review.reminded", review, "system:access_review_remind_due")


def run_access_review_escalate_due(run):
    review, _, _ = _review_started()
    run.service_starts()
    with _on(review.due_on + datetime.timedelta(days=1)):
        review_services.access_review_escalate_due()
    return Expected(
        "access_review.escalated",
        review,
        "system:access_review_escalate_due",
        changes={"grants_escalated": 1},
    )


def run_access_review_close_due(run):
    review, _, grant = _review_started()
    day = review_services.access_review_closes_on(review) + datetime.timedelta(days=1)
    with _on(day):
        review_services.access_review_escalate_due()
        run.service_starts()
        review_services.access_review_close_due()
    actor = "system:access_review_close_due"
    return [
        Expected("access_review.closed", review, actor, changes={"default_applied": "end"}),
        Expected("access_review.decided", grant, actor, changes={"automatic": True}),
        Expected("grant.revoked", grant, actor, changes=_status("active", "revoked")),
    ]


SERVICES = {
    f"{CASES}.business_case_start": run_business_case_start,
    f"{CASES}.business_case_save_answers": run_business_case_save_answers,
    f"{CASES}.business_case_set_sites": run_business_case_set_sites,
    f"{CASES}.business_case_save_identity": run_business_case_save_identity,
    f"{CASES}.business_case_delete_draft": run_business_case_delete_draft,
    f"{CASES}.business_case_submit": run_business_case_submit,
    f"{CASES}.business_case_withdraw": run_business_case_withdraw,
    f"{CASES}.business_case_send_again": run_business_case_send_again,
    f"{CASES}.business_case_lapse": run_business_case_lapse,
    f"{CASE_COPIES}.business_case_ask_again": run_business_case_ask_again,
    f"{GRANTS}.grant_create_from_case": run_grant_create_from_case,
    f"{GRANTS}.grant_provision": run_grant_provision,
    "access_requests.services.grant_withdrawal.grant_withdrawal_confirm": (
        run_grant_withdrawal_confirm
    ),
    f"{GRANTS}.grant_provision (active tier)": run_grant_provision_active_tier,
    f"{GRANTS}.grant_return": run_grant_return,
    f"{GRANTS}.grant_revoke": run_grant_revoke,
    f"{GRANTS}.grant_revoke (before provisioning)": run_grant_revoke_before_provisioning,
    f"{GRANTS}.grant_surrender": run_grant_surrender,
    f"{GRANTS}.grant_choose_lapse": run_grant_choose_lapse,
    f"{GRANTS}.grant_lapse_undo": run_grant_lapse_undo,
    f"{GRANTS}.grant_expire": run_grant_expire,
    f"{GRANTS}.grants_expire": run_grants_expire,
    f"{GRANT_EXPIRY}.grant_expiry_sweep": run_grant_expiry_sweep,
    f"{GRANT_EXPIRY}.expiry_notice_send": run_expiry_notice_send,
    f"{GRANT_EXPIRY}.grant_expiry_notice_sweep": run_grant_expiry_notice_sweep,
    f"{GRANT_SAFE_USE}.safe_use_reminder_send": run_safe_use_reminder_send,
    f"{GRANT_SAFE_USE}.grant_safe_use_sweep": run_grant_safe_use_sweep,
    f"{GRANT_SAFE_USE}.safe_use_confirm": run_safe_use_confirm,
    f"{GRANT_RENEWAL}.grant_renewal_start": run_grant_renewal_start,
    f"{APPROVALS}.case_submit": run_case_submit,
    f"{APPROVALS}.case_withdraw": run_case_withdraw,
    f"{APPROVALS}.grant_revoke_closing_renewals": run_grant_revoke_closing_renewals,
    f"{APPROVALS}.grant_surrender_closing_renewals": run_grant_surrender_closing_renewals,
    f"{APPROVALS}.grant_choose_lapse_closing_renewals": run_grant_choose_lapse_closing_renewals,
    f"{APPROVALS}.approval_request_send": run_approval_request_send,
    f"{APPROVALS}.approval_opened": run_approval_opened,
    f"{APPROVALS}.approval_decide (approve)": run_approval_decide_approve,
    f"{APPROVALS}.approval_decide (reject)": run_approval_decide_reject,
    f"{APPROVALS}.approval_decide (budget holder asked)": run_approval_decide_budget_holder_asked,
    f"{APPROVALS}.approval_decide (budget holder agrees)": run_approval_decide_budget_holder_agrees,
    f"{APPROVALS}.approval_ask_more_information": run_approval_ask_more_information,
    f"{APPROVALS}.case_send_again": run_case_send_again,
    f"{APPROVALS}.approval_remind_one": run_approval_remind_one,
    f"{APPROVALS}.approval_remind_one (escalation)": run_approval_remind_one_escalates,
    f"{APPROVALS}.approval_remind_one (nobody to escalate to)": (
        run_approval_remind_one_nobody_to_escalate_to
    ),
    f"{APPROVALS}.approval_remind_one (withdrawn case)": (
        run_approval_remind_one_closes_a_withdrawn_cases_request
    ),
    f"{APPROVALS}.approval_requests_withdraw": run_approval_requests_withdraw,
    f"{APPROVALS}.approval_remind_due": run_approval_remind_due,
    f"{APPROVALS}.case_lapse_one": run_case_lapse_one,
    f"{APPROVALS}.case_lapse_due": run_case_lapse_due,
    f"{APPROVALS}.delegation_create": run_delegation_create,
    f"{APPROVALS}.delegation_cancel": run_delegation_cancel,
    f"{APPROVALS}.approvals_supersede_lost_authority": run_approvals_supersede_lost_authority,
    f"{APPROVALS}.delegation_end": run_delegation_end,
    f"{APPROVALS}.delegations_end_due": run_delegations_end_due,
    f"{NOTIFICATIONS}.outbound_email_send": run_outbound_email_send,
    f"{NOTIFICATIONS}.outbound_email_send (failure)": run_outbound_email_send_failing,
    f"{NOTIFICATIONS}.outbound_email_send (giving up)": run_outbound_email_send_giving_up,
    f"{NOTIFICATIONS}.outbox_sweep": run_outbox_sweep,
    f"{STAFFING}.staff_directory_sync": run_staff_import,
    f"{STAFFING}.staff_directory_sync (full: a leaver)": run_staff_directory_sync_leaver,
    f"{DIRECTORY}.staff_directory_apply": run_staff_import_updates,
    "people.switching.person_deactivate": run_person_deactivate,
    "people.switching.person_activate": run_person_activate,
    f"{APPROVALS}.case_reroute": run_case_reroute,
    f"{APPROVALS}.person_leave": run_person_leave,
    f"{APPROVALS}.person_move": run_person_move,
    f"{APPROVALS}.directorate_director_change": run_directorate_director_change,
    f"{APPROVALS}.person_switch_off": run_person_switch_off,
    f"{APPROVALS}.person_switch_on": run_person_switch_on,
    f"{EMAIL_DELIVERY}.email_delivery_record": run_email_delivery_record,
    f"{APPROVALS}.delivery_receipt_apply": run_delivery_receipt_apply,
    f"{APPROVALS}.approval_escalate_undeliverable": run_approval_escalate_undeliverable,
    f"{PEOPLE}.password_set": run_password_set,
    f"{PEOPLE}.password_reset_request": run_password_reset_request,
    f"{PEOPLE}.password_reset_request (unknown address)": run_password_reset_request_unknown,
    f"{PEOPLE}.password_reset_request (throttled)": run_password_reset_request_throttled,
    f"{PEOPLE}.password_reset_complete": run_password_reset_complete,
    f"{PEOPLE}.sso_sign_in_refuse": run_sso_sign_in_refuse,
    f"{PEOPLE}.sso_sign_in_refuse (no person)": run_sso_sign_in_refuse_no_one,
    f"{PEOPLE}.password_link_send": run_password_link_send,
    f"{SITES}.site_create": run_site_create,
    f"{SITES}.site_rename": run_site_rename,
    f"{SITES}.site_retire": run_site_retire,
    f"{SITES}.site_unretire": run_site_unretire,
    f"{EMAIL_RETENTION}.outbound_email_bodies_purge": run_outbound_email_bodies_purge,
    f"{CASE_RETENTION}.case_texts_purge_due": run_case_texts_purge_due,
    f"{PORTAL_TASKS}.sign_in_records_purge": run_sign_in_records_purge,
    f"{AUDIT_RETENTION}.audit_client_fields_purge": run_audit_client_fields_purge,
    f"{API}.service_token_create": run_service_token_create,
    f"{API}.service_token_revoke": run_service_token_revoke,
    f"{API}.service_token_use": run_service_token_use,
    f"{API}.service_token_use (same address)": run_service_token_use_same_address,
    f"{REVIEWS}.access_review_start": run_access_review_start,
    f"{REVIEWS}.access_review_start_scheduled": run_access_review_start_scheduled,
    f"{REVIEWS}.review_item_decide": run_review_item_decide,
    f"{REVIEWS}.review_keep_unmarked": run_review_keep_unmarked,
    f"{REVIEWS}.access_review_remind_due": run_access_review_remind_due,
    f"{REVIEWS}.access_review_escalate_due": run_access_review_escalate_due,
    f"{REVIEWS}.access_review_close_due": run_access_review_close_due,
    "sign in": run_sign_in,
    "failed sign in": run_failed_sign_in,
    "sign out": run_sign_out,
}

# Public functions of the service modules that change nothing: rules, reads and selectors.
NOT_STATE_CHANGING = {
    # The last day of an access review: a date rule.
    f"{REVIEWS}.access_review_closes_on",
    # The Message-ID an email keeps across retries: a pure function of the row.
    f"{NOTIFICATIONS}.outbox_message_id",
    # A context manager that only changes when committed emails are published to the broker.
    f"{NOTIFICATIONS}.email_sends_batched",
    # business cases: date and completeness rules
    f"{CASES}.add_months",
    f"{CASES}.max_months_for_tier",
    f"{CASES}.business_case_dates_problems",
    f"{CASES}.business_case_missing_answers",
    f"{CASES}.identity_is_complete",
    f"{CASES}.business_case_dates_are_valid",
    f"{CASES}.business_case_may_withdraw",
    # the paying unit and budget holder of an earlier case, as far as they still hold
    f"{CASE_COPIES}.who_pays_still",
    # grant emails: who ICT is (the mailbox or the ICT people), and what the emails say
    f"{GRANT_EMAILS}.ict_recipients",
    f"{GRANT_EMAILS}.grant_page_url",
    f"{GRANT_EMAILS}.grant_page_urls",
    f"{GRANT_EMAILS}.grant_email_context",
    f"{GRANT_EMAILS}.ict_email",
    f"{GRANT_EMAILS}.grant_expiry_emails",
    # approvals: who would decide a case (a read), and the absolute link for a token
    f"{APPROVALS}.case_routing",
    f"{APPROVALS}.approval_link",
    # notifications: the outbox sweep's due-id read, and the retry backoff arithmetic
    f"{NOTIFICATIONS}.outbox_due_ids",
    f"{NOTIFICATIONS}.retry_delay",
    # people: what a directory file would change (a diff against the database)
    f"{DIRECTORY}.staff_directory_plan",
    # delivery receipts: reading the callback's JSON, and checking its bearer token
    f"{EMAIL_DELIVERY}.delivery_receipt_parse",
    f"{EMAIL_DELIVERY}.callback_token_valid",
    # people: the absolute password link for a person (a token computed, nothing stored)
    f"{PEOPLE}.password_link",
    # retention: the closed cases whose free text is due for removal (a read)
    f"{CASE_RETENTION}.cases_with_texts_due",
    # the read API: the SHA-256 of a token (arithmetic)
    f"{API}.token_digest",
}

# Public functions that write, but only as one step of the calling service, inside its
# transaction; the caller's event records the change.
AUDITED_BY_CALLER = {
    # Writes the outbox row for the service that causes the email (its event says so); the
    # sending is recorded as `email.sent` / `email.send_failed` by `outbound_email_send`.
    f"{NOTIFICATIONS}.email_queue",
    f"{NOTIFICATIONS}.email_queue_many",
    # The case's decided status: `approval_decide` records it in its `approval.decided` event.
    f"{CASES}.business_case_decide",
    # The case sent back: `approval_ask_more_information` records it in its
    # `approval.more_information_asked` event.
    f"{CASES}.business_case_ask_more_information",
    # Ends sessions of people switched off: the switching-off service records it.
    "people.switching.sessions_end",
    # The copy of an earlier case's answers into a new draft, for `grant_renewal_start`
    # (`case.renewal_started`) and `business_case_ask_again` (`case.asked_again`).
    f"{CASE_COPIES}.business_case_draft_copy",
    # Writes the email asking ICT to withdraw access, for the revoking or surrendering service.
    f"{GRANT_EMAILS}.ict_email_queue",
}


def _public_functions() -> set[str]:
    return {
        f"{module.__name__}.{name}"
        for module in SERVICE_MODULES
        for name, function in inspect.getmembers(module, inspect.isfunction)
        # A package's (approvals.services) public functions are those its modules define.
        if f"{function.__module__}.".startswith(f"{module.__name__}.") and not name.startswith("_")
    }


def _events_about(events, expected_obj):
    return events.filter(object_type=expected_obj._meta.label_lower, object_id=str(expected_obj.pk))


@pytest.mark.parametrize("name", list(SERVICES))
def test_the_service_writes_its_audit_event(client, settings, name):
    run = Run(client, settings)
    started = timezone.now() - datetime.timedelta(seconds=1)
    outcome = SERVICES[name](run)
    outcome = outcome if isinstance(outcome, list) else [outcome]

    new = AuditEvent.objects.filter(id__gt=run.since)
    for expected in outcome:
        if isinstance(expected, NoEvent):
            assert not _events_about(new, expected.obj).exists(), (
                f"{name} recorded a change to {expected.obj!r}, which was not due"
            )
            continue
        matching = new.filter(action=expected.action)
        if expected.obj is not None:
            matching = _events_about(matching, expected.obj)
        if expected.object_repr is not None:
            matching = matching.filter(object_repr=expected.object_repr)
        assert matching.count() == 1, (
            f"{name} wrote {matching.count()} {expected.action} events about "
            f"{expected.obj or expected.object_repr!r}, not one"
        )
        event = matching.get()
        assert event.actor_label == expected.actor_label
        if expected.actor_label.startswith("system:") or expected.actor_label == "anonymous":
            assert event.actor_id is None
        else:
            assert event.actor.email == expected.actor_label
        assert event.occurred_at >= started
        if expected.client_address:
            assert event.client_address == expected.client_address
            assert event.user_agent == CLIENT.user_agent
        for key, value in expected.changes.items():
            assert event.changes.get(key) == value, (
                f"{name}: changes[{key!r}] is {event.changes.get(key)!r}, not {value!r}"
            )
    # Every page that shows events reads their words from one registry: each action this
    # service recorded, and each field it changed, has them (admin edits name the model's
    # own fields, which read well enough humanised).
    for event in new.exclude(action__startswith="admin."):
        assert event.action in descriptions.ACTIONS, (
            f"{name} records {event.action}: describe it in audit/descriptions.py ACTIONS"
        )
        unlabelled = set(event.changes or {}) - set(descriptions.FIELDS)
        assert not unlabelled, (
            f"{name} records {event.action} changing {sorted(unlabelled)}: label them in "
            "audit/descriptions.py FIELDS"
        )
    assert audit_chain_verify()[1] is None


def test_every_public_service_function_is_covered():
    """A public function of a service module needs a runner above, or a reason it has none."""
    covered = {key.split(" (")[0] for key in SERVICES}
    known = covered | NOT_STATE_CHANGING | AUDITED_BY_CALLER
    functions = _public_functions()
    uncovered = sorted(functions - known)
    assert not uncovered, (
        "These service functions have no audit test: add a runner to SERVICES (and an audit "
        "event to the service if it changes state), or list them in NOT_STATE_CHANGING: "
        + ", ".join(uncovered)
    )
    module_names = tuple(f"{module.__name__}." for module in SERVICE_MODULES)
    stale = sorted(name for name in known if name.startswith(module_names))
    stale = [name for name in stale if name not in functions]
    assert not stale, f"No longer a public service function: {', '.join(stale)}"
    assert not (NOT_STATE_CHANGING & covered), "listed both as a service and as a read"
