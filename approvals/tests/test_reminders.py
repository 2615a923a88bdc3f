import datetime

import pytest
import time_machine
from django.test import Client

from access_requests.models import BusinessCase
from approvals import tasks
from approvals.models import ApprovalReminder, ApprovalRequest
from approvals.services import approval_decide, approval_remind_due, case_lapse_due
from approvals.tests.factories import (
    at,
    link_for,
    requester_and_director,
    submitted_case,
)
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from core.sweeping import sweep_connections
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory
from tests.at_once import returned, run_at_once


@pytest.fixture(autouse=True)
def _rules(reminder_rules):
    reminder_rules.SNS_BANK_HOLIDAYS = ["2026-12-25", "2026-12-28", "2027-01-01"]


def reminders_to(email):
    return list(OutboundEmail.objects.filter(template="approval_reminder", to=email).order_by("id"))


@pytest.mark.django_db
def test_reminders_follow_working_days_across_weekends_then_escalate_then_lapse(client):
    fallback_admin = UserFactory(role=Role.ADMIN, profile__name="Ada Admin")
    with time_machine.travel(at("2026-12-04"), tick=False) as traveller:  # a Friday
        requester, director = requester_and_director()
        case = submitted_case(requester=requester)
        approval = case.approval_requests.get()
        first_link = link_for(approval)
        assert approval.decide_by == datetime.date(2026, 12, 9)

        traveller.move_to(at("2026-12-08", 23))  # Tuesday night: 2 working days so far
        assert tasks.approval_remind_due.delay().get() == 0
        assert reminders_to(director.email) == []

        traveller.move_to(at("2026-12-09", 10, 5))  # Wednesday: 3 working days
        assert tasks.approval_remind_due.delay().get() == 1
        assert approval_remind_due() == 0  # run again: nothing more
        [reminder] = reminders_to(director.email)
        assert "This is reminder 1" in reminder.content().body_text
        # The reminder's link works; the first email's link was replaced.
        new_link = link_for(approval)
        assert new_link != first_link
        path = new_link.removeprefix("http://testserver")
        assert client.get(path).status_code == 200
        assert client.get(first_link.removeprefix("http://testserver")).status_code == 404

        traveller.move_to(at("2026-12-11", 12))  # Friday: not yet
        assert approval_remind_due() == 0
        traveller.move_to(at("2026-12-14", 10, 5))  # Monday: 3 working days after Wednesday
        assert approval_remind_due() == 1
        traveller.move_to(at("2026-12-17", 10, 5))  # Thursday
        assert approval_remind_due() == 1
        assert len(reminders_to(director.email)) == 3
        assert ApprovalReminder.objects.filter(approval_request=approval).count() == 3

        traveller.move_to(at("2026-12-22", 10, 5))  # Tuesday: no fourth reminder, escalate
        assert approval_remind_due() == 1
        assert len(reminders_to(director.email)) == 3
        escalated = case.approval_requests.get(routed_because=ApprovalRequest.Reason.ESCALATION)
        assert escalated.approver == fallback_admin
        assert escalated.decide_by <= datetime.date(2027, 1, 3)
        email = OutboundEmail.objects.get(template="approval_request", to=fallback_admin.email)
        assert "now comes to you as the fallback approver" in email.content().body_text
        assert AuditEvent.objects.filter(action="approval.escalated").count() == 1
        assert approval_remind_due() == 0
        traveller.move_to(at("2026-12-31", 12))
        assert approval_remind_due() == 0  # no more reminders, no second escalation
        assert case.approval_requests.count() == 2

        traveller.move_to(at("2027-01-03", 9))  # 29 days and 23 hours
        assert case_lapse_due() == 0
        traveller.move_to(at("2027-01-03", 10, 1))  # 30 days after it was sent
        assert tasks.case_lapse_due.delay().get() == 1
        assert case_lapse_due() == 0

    case.refresh_from_db()
    assert case.status == BusinessCase.Status.LAPSED
    assert case.get_status_display() == "Expired without decision"
    assert set(case.approval_requests.values_list("status", flat=True)) == {"expired"}
    lapsed = OutboundEmail.objects.get(template="case_lapsed")
    assert lapsed.to == requester.email
    assert "expired without a decision" in lapsed.content().body_text
    assert "http://testserver/" in lapsed.content().body_text
    assert AuditEvent.objects.filter(action="case.lapsed", object_id=str(case.pk)).exists()
    assert AuditEvent.objects.filter(action="approval.reminded").count() == 3
    response = Client().get(link_for(approval).removeprefix("http://testserver"))
    assert response.status_code == 410
    assert "expired without a decision" in response.content.decode()


@pytest.mark.django_db
def test_bank_holidays_are_not_working_days_for_reminders():
    with time_machine.travel(at("2026-12-23"), tick=False) as traveller:  # Wednesday
        case = submitted_case()
        director = case.approval_requests.get().approver
        traveller.move_to(at("2026-12-29", 18))  # Christmas and the 28th are holidays
        assert approval_remind_due() == 0
        traveller.move_to(at("2026-12-30", 10, 1))
        assert approval_remind_due() == 1
        assert len(reminders_to(director.email)) == 1


@pytest.mark.django_db
def test_a_decided_case_is_never_reminded():
    with time_machine.travel(at("2026-12-04"), tick=False) as traveller:
        case = submitted_case()
        approval = case.approval_requests.get()
        approval_decide(approval_request=approval, decision="approve", actor=approval.approver)
        traveller.move_to(at("2026-12-31"))
        assert approval_remind_due() == 0
        assert case_lapse_due() == 0
    assert not OutboundEmail.objects.filter(template="approval_reminder").exists()


@pytest.mark.django_db
def test_a_withdrawn_case_is_not_reminded_and_its_request_closes():
    with time_machine.travel(at("2026-12-04"), tick=False) as traveller:
        case = submitted_case()
        BusinessCase.objects.filter(pk=case.pk).update(status=BusinessCase.Status.WITHDRAWN)
        traveller.move_to(at("2026-12-09", 11))
        assert approval_remind_due() == 0
    assert case.approval_requests.get().status == ApprovalRequest.Status.SUPERSEDED
    assert not OutboundEmail.objects.filter(template="approval_reminder").exists()


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_reminder_exactly_once(outbox_sends_later):
    with time_machine.travel(at("2026-12-04"), tick=False) as traveller:
        cases = [submitted_case() for _ in range(6)]
        traveller.move_to(at("2026-12-09", 10, 5))
        results = returned(run_at_once(approval_remind_due, approval_remind_due))

    assert sum(results) == 6
    for case in cases:
        approval = case.approval_requests.get()
        assert ApprovalReminder.objects.filter(approval_request=approval).count() == 1
        assert len(reminders_to(approval.approver.email)) == 1
    assert AuditEvent.objects.filter(action="approval.reminded").count() == 6


@pytest.mark.django_db
def test_a_batch_that_fails_is_retried_one_by_one_so_one_bad_request_blocks_nobody(
    caplog, refuse_updates
):
    """One request the database refuses to update (here a trigger stands in for a damaged
    row) fails the whole batch's transaction; each request is then reminded on its own,
    so the others' approvers are reminded once and only the bad one waits for a rerun."""
    with time_machine.travel(at("2026-12-04"), tick=False) as traveller:
        cases = [submitted_case() for _ in range(5)]
        approvals = [case.approval_requests.get() for case in cases]
        broken = approvals[2]
        refuse_updates(ApprovalRequest, broken.pk)
        traveller.move_to(at("2026-12-09", 10, 5))

        assert approval_remind_due() == 4
        assert "Reminding a batch of 5 failed" in caplog.text
        assert f"Reminder for approval request {broken.pk} failed" in caplog.text
        assert reminders_to(broken.approver.email) == []
        for approval in approvals:
            if approval.pk != broken.pk:
                assert len(reminders_to(approval.approver.email)) == 1
        assert not ApprovalReminder.objects.filter(approval_request=broken).exists()
        assert AuditEvent.objects.filter(action="approval.reminded").count() == 4

        refuse_updates.lift()
        assert approval_remind_due() == 1
    assert len(reminders_to(broken.approver.email)) == 1
    assert all(len(reminders_to(a.approver.email)) == 1 for a in approvals)
    assert AuditEvent.objects.filter(action="approval.reminded").count() == 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("duty_cycle", [1, 0.5])
def test_the_reminder_sweep_on_two_connections_reminds_each_approver_once(
    settings, outbox_sends_later, monkeypatch, duty_cycle
):
    """Committed data, so the sweep works on two batches at a time (`batches_handle`), each
    on its own connection; one run walks every batch due, resting between batches or not."""
    settings.SNS_SWEEP_CONNECTIONS = 2
    settings.SNS_SWEEP_DUTY_CYCLE = duty_cycle
    assert sweep_connections() == 2
    monkeypatch.setattr("approvals.services.reminders.REMIND_BATCH_SIZE", 2)
    with time_machine.travel(at("2026-12-04"), tick=False) as traveller:
        cases = [submitted_case() for _ in range(9)]  # 5 batches
        traveller.move_to(at("2026-12-09", 10, 5))
        assert approval_remind_due() == 9
        assert approval_remind_due() == 0  # one run handled every request due

    for case in cases:
        approval = case.approval_requests.get()
        assert ApprovalReminder.objects.filter(approval_request=approval).count() == 1
        assert (
            OutboundEmail.objects.filter(
                template="approval_reminder", to=approval.approver.email
            ).count()
            == 1
        )
    assert AuditEvent.objects.filter(action="approval.reminded").count() == 9
    assert audit_chain_verify()[1] is None
