"""Every service that changes state writes its audit event (and keeps the chain whole).

One entry in SERVICES per public state-changing service function (and per interesting
variant of one): a runner (in service_runners/, one module per group of services) that builds the state it needs with the factories, runs the
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

import pytest
from django.utils import timezone

from access_requests.services import (
    business_cases as case_services,
    case_copies,
    grant_emails,
    grant_expiry,
    grant_renewal,
    grant_safe_use,
    grants as grant_services,
    retention as case_retention,
    sites as site_services,
)
from api import services as api_services
from approvals import services as approval_services
from audit import descriptions, retention as audit_retention
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from notifications import (
    delivery as email_delivery,
    retention as email_retention,
    services as notification_services,
)
from people import (
    directory as people_directory,
    services as people_services,
)
from portal import tasks as portal_tasks
from reviews import services as review_services
from staffing import services as staffing_services

from .service_runners import (
    approvals_runs,
    cases_runs,
    grants_runs,
    notifications_runs,
    people_runs,
    retention_api_runs,
    reviews_runs,
)
from .service_runners.approvals_runs import APPROVALS
from .service_runners.cases_runs import CASE_COPIES, CASES, SITES
from .service_runners.common import CLIENT, NoEvent, Run
from .service_runners.grants_runs import (
    GRANT_EMAILS,
    GRANT_EXPIRY,
    GRANT_RENEWAL,
    GRANT_SAFE_USE,
    GRANTS,
)
from .service_runners.notifications_runs import EMAIL_DELIVERY, NOTIFICATIONS
from .service_runners.people_runs import DIRECTORY, PEOPLE, STAFFING
from .service_runners.retention_api_runs import (
    API,
    AUDIT_RETENTION,
    CASE_RETENTION,
    EMAIL_RETENTION,
    PORTAL_TASKS,
)
from .service_runners.reviews_runs import REVIEWS

pytestmark = pytest.mark.django_db

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


# Keyed by the service function's dotted path (a variant adds " (what)"); entries that are
# not a service module's function (signing in) are named in words. Admin edits:
# audit/tests/test_admin_edits.py.
SERVICES = {
    f"{CASES}.business_case_start": cases_runs.run_business_case_start,
    f"{CASES}.business_case_save_answers": cases_runs.run_business_case_save_answers,
    f"{CASES}.business_case_set_sites": cases_runs.run_business_case_set_sites,
    f"{CASES}.business_case_save_identity": cases_runs.run_business_case_save_identity,
    f"{CASES}.business_case_delete_draft": cases_runs.run_business_case_delete_draft,
    f"{CASES}.business_case_submit": cases_runs.run_business_case_submit,
    f"{CASES}.business_case_withdraw": cases_runs.run_business_case_withdraw,
    f"{CASES}.business_case_send_again": approvals_runs.run_business_case_send_again,
    f"{CASES}.business_case_lapse": cases_runs.run_business_case_lapse,
    f"{CASE_COPIES}.business_case_ask_again": cases_runs.run_business_case_ask_again,
    f"{GRANTS}.grant_create_from_case": grants_runs.run_grant_create_from_case,
    f"{GRANTS}.grant_provision": grants_runs.run_grant_provision,
    "access_requests.services.grant_withdrawal.grant_withdrawal_confirm": (
        grants_runs.run_grant_withdrawal_confirm
    ),
    f"{GRANTS}.grant_provision (active tier)": grants_runs.run_grant_provision_active_tier,
    f"{GRANTS}.grant_return": grants_runs.run_grant_return,
    f"{GRANTS}.grant_revoke": grants_runs.run_grant_revoke,
    f"{GRANTS}.grant_revoke (before provisioning)": grants_runs.run_grant_revoke_before_provisioning,
    f"{GRANTS}.grant_surrender": grants_runs.run_grant_surrender,
    f"{GRANTS}.grant_choose_lapse": grants_runs.run_grant_choose_lapse,
    f"{GRANTS}.grant_lapse_undo": grants_runs.run_grant_lapse_undo,
    f"{GRANTS}.grant_expire": grants_runs.run_grant_expire,
    f"{GRANTS}.grants_expire": grants_runs.run_grants_expire,
    f"{GRANT_EXPIRY}.grant_expiry_sweep": grants_runs.run_grant_expiry_sweep,
    f"{GRANT_EXPIRY}.expiry_notice_send": grants_runs.run_expiry_notice_send,
    f"{GRANT_EXPIRY}.grant_expiry_notice_sweep": grants_runs.run_grant_expiry_notice_sweep,
    f"{GRANT_SAFE_USE}.safe_use_reminder_send": grants_runs.run_safe_use_reminder_send,
    f"{GRANT_SAFE_USE}.grant_safe_use_sweep": grants_runs.run_grant_safe_use_sweep,
    f"{GRANT_SAFE_USE}.safe_use_confirm": grants_runs.run_safe_use_confirm,
    f"{GRANT_RENEWAL}.grant_renewal_start": grants_runs.run_grant_renewal_start,
    f"{APPROVALS}.case_submit": approvals_runs.run_case_submit,
    f"{APPROVALS}.case_withdraw": approvals_runs.run_case_withdraw,
    f"{APPROVALS}.grant_revoke_closing_renewals": approvals_runs.run_grant_revoke_closing_renewals,
    f"{APPROVALS}.grant_surrender_closing_renewals": approvals_runs.run_grant_surrender_closing_renewals,
    f"{APPROVALS}.grant_choose_lapse_closing_renewals": approvals_runs.run_grant_choose_lapse_closing_renewals,
    f"{APPROVALS}.approval_request_send": approvals_runs.run_approval_request_send,
    f"{APPROVALS}.approval_opened": approvals_runs.run_approval_opened,
    f"{APPROVALS}.approval_decide (approve)": approvals_runs.run_approval_decide_approve,
    f"{APPROVALS}.approval_decide (reject)": approvals_runs.run_approval_decide_reject,
    f"{APPROVALS}.approval_decide (budget holder asked)": approvals_runs.run_approval_decide_budget_holder_asked,
    f"{APPROVALS}.approval_decide (budget holder agrees)": approvals_runs.run_approval_decide_budget_holder_agrees,
    f"{APPROVALS}.approval_ask_more_information": approvals_runs.run_approval_ask_more_information,
    f"{APPROVALS}.case_send_again": approvals_runs.run_case_send_again,
    f"{APPROVALS}.approval_remind_one": approvals_runs.run_approval_remind_one,
    f"{APPROVALS}.approval_remind_one (escalation)": approvals_runs.run_approval_remind_one_escalates,
    f"{APPROVALS}.approval_remind_one (nobody to escalate to)": (
        approvals_runs.run_approval_remind_one_nobody_to_escalate_to
    ),
    f"{APPROVALS}.approval_remind_one (withdrawn case)": (
        approvals_runs.run_approval_remind_one_closes_a_withdrawn_cases_request
    ),
    f"{APPROVALS}.approval_requests_withdraw": approvals_runs.run_approval_requests_withdraw,
    f"{APPROVALS}.approval_remind_due": approvals_runs.run_approval_remind_due,
    f"{APPROVALS}.case_lapse_one": approvals_runs.run_case_lapse_one,
    f"{APPROVALS}.case_lapse_due": approvals_runs.run_case_lapse_due,
    f"{APPROVALS}.delegation_create": approvals_runs.run_delegation_create,
    f"{APPROVALS}.delegation_cancel": approvals_runs.run_delegation_cancel,
    f"{APPROVALS}.approvals_supersede_lost_authority": approvals_runs.run_approvals_supersede_lost_authority,
    f"{APPROVALS}.delegation_end": approvals_runs.run_delegation_end,
    f"{APPROVALS}.delegations_end_due": approvals_runs.run_delegations_end_due,
    f"{NOTIFICATIONS}.outbound_email_send": notifications_runs.run_outbound_email_send,
    f"{NOTIFICATIONS}.outbound_email_send (failure)": notifications_runs.run_outbound_email_send_failing,
    f"{NOTIFICATIONS}.outbound_email_send (giving up)": notifications_runs.run_outbound_email_send_giving_up,
    f"{NOTIFICATIONS}.outbox_sweep": notifications_runs.run_outbox_sweep,
    f"{STAFFING}.staff_directory_sync": people_runs.run_staff_import,
    f"{STAFFING}.staff_directory_sync (full: a leaver)": people_runs.run_staff_directory_sync_leaver,
    f"{DIRECTORY}.staff_directory_apply": people_runs.run_staff_import_updates,
    "people.switching.person_deactivate": people_runs.run_person_deactivate,
    "people.switching.person_activate": people_runs.run_person_activate,
    f"{APPROVALS}.case_reroute": people_runs.run_case_reroute,
    f"{APPROVALS}.person_leave": people_runs.run_person_leave,
    f"{APPROVALS}.person_move": people_runs.run_person_move,
    f"{APPROVALS}.directorate_director_change": people_runs.run_directorate_director_change,
    f"{APPROVALS}.person_switch_off": people_runs.run_person_switch_off,
    f"{APPROVALS}.person_switch_on": people_runs.run_person_switch_on,
    f"{EMAIL_DELIVERY}.email_delivery_record": notifications_runs.run_email_delivery_record,
    f"{APPROVALS}.delivery_receipt_apply": notifications_runs.run_delivery_receipt_apply,
    f"{APPROVALS}.approval_escalate_undeliverable": notifications_runs.run_approval_escalate_undeliverable,
    f"{PEOPLE}.password_set": people_runs.run_password_set,
    f"{PEOPLE}.password_reset_request": people_runs.run_password_reset_request,
    f"{PEOPLE}.password_reset_request (unknown address)": people_runs.run_password_reset_request_unknown,
    f"{PEOPLE}.password_reset_request (throttled)": people_runs.run_password_reset_request_throttled,
    f"{PEOPLE}.password_reset_complete": people_runs.run_password_reset_complete,
    f"{PEOPLE}.sso_sign_in_refuse": people_runs.run_sso_sign_in_refuse,
    f"{PEOPLE}.sso_sign_in_refuse (no person)": people_runs.run_sso_sign_in_refuse_no_one,
    f"{PEOPLE}.password_link_send": people_runs.run_password_link_send,
    f"{SITES}.site_create": cases_runs.run_site_create,
    f"{SITES}.site_rename": cases_runs.run_site_rename,
    f"{SITES}.site_retire": cases_runs.run_site_retire,
    f"{SITES}.site_unretire": cases_runs.run_site_unretire,
    f"{EMAIL_RETENTION}.outbound_email_bodies_purge": retention_api_runs.run_outbound_email_bodies_purge,
    f"{CASE_RETENTION}.case_texts_purge_due": retention_api_runs.run_case_texts_purge_due,
    f"{PORTAL_TASKS}.sign_in_records_purge": retention_api_runs.run_sign_in_records_purge,
    f"{AUDIT_RETENTION}.audit_client_fields_purge": retention_api_runs.run_audit_client_fields_purge,
    f"{API}.service_token_create": retention_api_runs.run_service_token_create,
    f"{API}.service_token_revoke": retention_api_runs.run_service_token_revoke,
    f"{API}.service_token_use": retention_api_runs.run_service_token_use,
    f"{API}.service_token_use (same address)": retention_api_runs.run_service_token_use_same_address,
    f"{REVIEWS}.access_review_start": reviews_runs.run_access_review_start,
    f"{REVIEWS}.access_review_start_scheduled": reviews_runs.run_access_review_start_scheduled,
    f"{REVIEWS}.review_item_decide": reviews_runs.run_review_item_decide,
    f"{REVIEWS}.review_keep_unmarked": reviews_runs.run_review_keep_unmarked,
    f"{REVIEWS}.access_review_remind_due": reviews_runs.run_access_review_remind_due,
    f"{REVIEWS}.access_review_escalate_due": reviews_runs.run_access_review_escalate_due,
    f"{REVIEWS}.access_review_close_due": reviews_runs.run_access_review_close_due,
    "sign in": people_runs.run_sign_in,
    "failed sign in": people_runs.run_failed_sign_in,
    "sign out": people_runs.run_sign_out,
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
    """A public function of a service module needs a runner in SERVICES, or a reason it has none."""
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
