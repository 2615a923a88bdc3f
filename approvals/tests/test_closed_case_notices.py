"""An approver still holding a link is told when the case no longer needs their decision:
withdrawn by the requester, or lapsed undecided. Only approvers whose request was open."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from access_requests.models import BusinessCase
from access_requests.tests.factories import BusinessCaseFactory
from approvals.models import ApprovalRequest
from approvals.services import (
    approval_remind_due,
    case_lapse_due,
    case_withdraw,
    delegation_cancel,
)
from approvals.tests.factories import DelegationFactory, at, requester_and_director, submitted_case
from audit.models import AuditEvent
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NO_DECISION_NEEDED = "No decision needed"


@pytest.fixture(autouse=True)
def _rules(reminder_rules):
    """The reminder and lapse rules these tests count with (no bank holidays)."""


def notices_to(mailoutbox, person):
    return [m for m in mailoutbox if m.to == [person.email] and NO_DECISION_NEEDED in m.subject]


def html_of(message) -> str:
    [(html, _)] = message.alternatives
    return html


def test_the_director_is_told_when_the_requester_withdraws_the_case(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    requester, director = requester_and_director(profile__name="Sam Staff")
    with time_machine.travel(at("2026-12-04"), tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):  # its email goes out
            case = submitted_case(requester=requester)
        mailoutbox.clear()
        traveller.move_to(at("2026-12-07", 15))
        client.force_login(requester)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("access_requests:case-withdraw", args=[case.pk]),
                {"reason": "No longer needed"},
            )
    assert response.status_code == 302

    [notice] = notices_to(mailoutbox, director)
    assert notice.subject == f"No decision needed: {case.reference} from Sam Staff was withdrawn"
    for body in (notice.body, html_of(notice)):
        assert "Dear Dana Director" in body
        assert f"the business case {case.reference}" in body
        assert "Sam Staff withdrew it on 7 December 2026" in body
        assert "no longer needs your decision" in body
        assert "link in the earlier emails about this case no longer works" in body
    assert [m.to for m in mailoutbox] == [[director.email]]  # the requester is not told
    approval = case.approval_requests.get()
    assert approval.status == ApprovalRequest.Status.SUPERSEDED
    assert approval.next_reminder_at is None
    event = AuditEvent.objects.get(action="approval.superseded", object_id=str(case.pk))
    assert event.actor == requester


def test_a_deputy_and_an_escalated_to_approver_are_told_and_never_reminded(
    mailoutbox, django_capture_on_commit_callbacks
):
    """Every request still open is closed at once, also the fallback approver's, which has no
    reminders (so the reminder sweep would never reach it)."""
    fallback = UserFactory(role=Role.ADMIN, profile__name="Ada Admin")
    requester, director = requester_and_director(profile__name="Sam Staff")
    deputy = UserFactory(profile__name="Dev Deputy")
    with time_machine.travel(at("2026-12-01"), tick=False) as traveller:
        DelegationFactory(director=director, deputy=deputy, ends_on=datetime.date(2026, 12, 31))
        with django_capture_on_commit_callbacks(execute=True):  # its email goes out
            case = submitted_case(requester=requester)
        mailoutbox.clear()
        for day in ("2026-12-04", "2026-12-09", "2026-12-14", "2026-12-17"):
            traveller.move_to(at(day, 11))  # three reminders each, then the escalation
            with django_capture_on_commit_callbacks(execute=True):  # their emails go out
                approval_remind_due()
        mailoutbox.clear()
        escalated = case.approval_requests.get(routed_because=ApprovalRequest.Reason.ESCALATION)
        assert escalated.approver == fallback
        with django_capture_on_commit_callbacks(execute=True):
            case_withdraw(case=case, actor=requester)
        traveller.move_to(at("2026-12-22", 11))
        with django_capture_on_commit_callbacks(execute=True):
            approval_remind_due()
            case_lapse_due()

    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [director.email, deputy.email, fallback.email]
    )
    [to_deputy] = notices_to(mailoutbox, deputy)
    assert "(as deputy for Dana Director)" in to_deputy.body
    assert len(notices_to(mailoutbox, fallback)) == 1
    assert set(case.approval_requests.values_list("status", flat=True)) == {"superseded"}


def test_an_approver_whose_request_was_superseded_is_not_told(
    mailoutbox, django_capture_on_commit_callbacks
):
    requester, director = requester_and_director()
    deputy = UserFactory(profile__name="Dev Deputy")
    delegation = DelegationFactory(director=director, deputy=deputy)
    with django_capture_on_commit_callbacks(execute=True):  # its email goes out
        case = submitted_case(requester=requester)
    mailoutbox.clear()
    delegation_cancel(delegation=delegation, actor=director)
    assert case.approval_requests.get(approver=deputy).status == "superseded"

    with django_capture_on_commit_callbacks(execute=True):
        case_withdraw(case=case, actor=requester)

    assert len(notices_to(mailoutbox, director)) == 1
    assert notices_to(mailoutbox, deputy) == []


def test_nothing_is_sent_when_no_approval_request_was_open(
    mailoutbox, django_capture_on_commit_callbacks
):
    case = BusinessCaseFactory(submitted=True)  # never routed: no approval request
    with django_capture_on_commit_callbacks(execute=True):
        case_withdraw(case=case, actor=case.requester)
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.WITHDRAWN
    assert mailoutbox == []


def test_a_lapse_tells_each_open_approver_once(mailoutbox, django_capture_on_commit_callbacks):
    requester, director = requester_and_director(profile__name="Sam Staff")
    deputy = UserFactory(profile__name="Dev Deputy")
    superseded = UserFactory(profile__name="Sid Superseded")
    with time_machine.travel(at("2026-12-01"), tick=False) as traveller:
        DelegationFactory(director=director, deputy=deputy, ends_on=datetime.date(2026, 12, 31))
        gone = DelegationFactory(
            director=director, deputy=superseded, ends_on=datetime.date(2026, 12, 31)
        )
        with django_capture_on_commit_callbacks(execute=True):  # its email goes out
            case = submitted_case(requester=requester)
        mailoutbox.clear()
        delegation_cancel(delegation=gone, actor=director)
        traveller.move_to(at("2026-12-31", 10, 1))  # 30 days after it was sent
        with django_capture_on_commit_callbacks(execute=True):
            assert case_lapse_due() == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert case_lapse_due() == 0  # run again: nothing more

    [notice] = notices_to(mailoutbox, director)
    assert notice.subject == (
        f"No decision needed: {case.reference} from Sam Staff expired without a decision"
    )
    for body in (notice.body, html_of(notice)):
        assert f"the business case {case.reference}" in body
        assert "from Sam Staff" in body
        assert "expired without a decision on 31 December 2026" in body
        assert "link in the earlier emails about this case no longer works" in body
    assert len(notices_to(mailoutbox, deputy)) == 1
    assert notices_to(mailoutbox, superseded) == []
    assert len([m for m in mailoutbox if m.to == [requester.email]]) == 1  # case_lapsed
    assert len(mailoutbox) == 3
