"""Sweeps never leave a case with someone who lost the authority to decide it: reminders send
no fresh link to them and route the case afresh, and a delegation's end closes its
deputy's open requests."""

import datetime

import pytest
from django.utils import timezone

from access_requests.models import BusinessCase
from approvals import tasks
from approvals.models import ApprovalRequest, Delegation
from approvals.services import approval_remind_due, delegations_end_due
from approvals.tests.factories import DelegationFactory, requester_and_director, submitted_case
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rules(reminder_rules):
    return reminder_rules


def make_due(*approvals):
    ApprovalRequest.objects.filter(pk__in=[a.pk for a in approvals]).update(
        next_reminder_at=timezone.now() - datetime.timedelta(minutes=1)
    )


def emails_to(email, template):
    return OutboundEmail.objects.filter(to=email, template=template)


def test_a_reminder_due_to_a_replaced_director_goes_to_the_new_one_instead():
    requester, old = requester_and_director()
    case = submitted_case(requester=requester)
    approval = case.approval_requests.get()
    directorate = requester.profile.business_unit.directorate
    new = UserFactory(role=Role.DIRECTOR, profile__name="Nia New")
    directorate.director = new
    directorate.save(update_fields=["director"])
    make_due(approval)

    assert approval_remind_due() == 1

    assert not emails_to(old.email, "approval_reminder").exists()
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.SUPERSEDED
    assert approval.reminders_sent == 0
    fresh = case.approval_requests.get(status=ApprovalRequest.Status.OPEN)
    assert (fresh.approver, fresh.routed_because) == (new, ApprovalRequest.Reason.DIRECTOR)
    assert emails_to(new.email, "approval_request").count() == 1
    lost = AuditEvent.objects.get(action="approval.authority_lost")
    assert lost.changes["approver"] == old.email
    assert f"no longer the director of {directorate.name}" in lost.changes["reason"]
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED
    assert "Nia New" in case.routing_note
    assert approval_remind_due() == 0  # nothing more to do
    assert audit_chain_verify()[1] is None


def test_a_lost_deputy_is_not_reminded_while_the_director_still_is():
    requester, director = requester_and_director()
    delegation = DelegationFactory(director=director, deputy=UserFactory(role=Role.DEPUTY))
    case = submitted_case(requester=requester)
    Delegation.objects.filter(pk=delegation.pk).update(
        starts_on=timezone.localdate() - datetime.timedelta(days=9),
        ends_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    make_due(*case.approval_requests.all())

    assert approval_remind_due() == 2

    assert emails_to(director.email, "approval_reminder").count() == 1
    assert not emails_to(delegation.deputy.email, "approval_reminder").exists()
    statuses = dict(case.approval_requests.values_list("approver_id", "status"))
    assert statuses == {director.pk: "open", delegation.deputy.pk: "superseded"}
    assert case.approval_requests.count() == 2  # the director still has it: not re-routed


def ended_delegation_with_open_requests():
    requester, director = requester_and_director()
    deputy = UserFactory(role=Role.DEPUTY)
    today = timezone.localdate()
    delegation = DelegationFactory(director=director, deputy=deputy, ends_on=today)
    cases = [submitted_case(requester=requester) for _ in range(2)]
    return delegation, cases, today


def test_the_end_sweep_closes_the_deputys_requests_the_day_after_the_last_day():
    delegation, cases, last_day = ended_delegation_with_open_requests()
    deputy = delegation.deputy

    assert delegations_end_due(today=last_day) == 0  # still in force on its last day
    assert ApprovalRequest.objects.filter(approver=deputy, status="open").count() == 2

    day_after = last_day + datetime.timedelta(days=1)
    assert delegations_end_due(today=day_after) == 2
    assert not ApprovalRequest.objects.filter(approver=deputy, status="open").exists()
    for case in cases:
        # The director still decides: nothing re-routed.
        assert list(
            case.approval_requests.filter(status="open").values_list("approver", flat=True)
        ) == [delegation.director.pk]
    ended = AuditEvent.objects.get(action="delegation.ended")
    assert ended.object_id == str(delegation.pk)
    assert sorted(ended.changes["approval_requests_closed"]) == sorted(
        ApprovalRequest.objects.filter(approver=deputy).values_list("pk", flat=True)
    )
    assert AuditEvent.objects.filter(action="approval.authority_lost").count() == 2
    assert delegations_end_due(today=day_after) == 0  # idempotent
    assert AuditEvent.objects.filter(action="delegation.ended").count() == 1


def test_the_end_sweep_runs_as_a_beat_task():
    delegation, _, last_day = ended_delegation_with_open_requests()
    Delegation.objects.filter(pk=delegation.pk).update(
        starts_on=last_day - datetime.timedelta(days=3),
        ends_on=last_day - datetime.timedelta(days=1),
    )
    assert tasks.delegations_end_due.delay().get() == 2
    assert not ApprovalRequest.objects.filter(approver=delegation.deputy, status="open").exists()


def test_a_case_left_with_nobody_is_routed_afresh_when_the_delegation_ends():
    """The director left it to the deputy (their own request closed for lost authority
    earlier); when the delegation ends the case goes to whoever decides now."""
    delegation, [case, _], last_day = ended_delegation_with_open_requests()
    directorate = case.requester.profile.business_unit.directorate
    new = UserFactory(role=Role.DIRECTOR)
    directorate.director = new
    directorate.save(update_fields=["director"])

    assert delegations_end_due(today=last_day + datetime.timedelta(days=1)) == 4
    open_now = case.approval_requests.get(status="open")
    assert open_now.approver == new
