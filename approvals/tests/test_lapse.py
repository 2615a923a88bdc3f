"""Cases nobody decided in time lapse (`case_lapse_due`); the whole reminder-to-lapse journey
is in test_reminders."""

import pytest
import time_machine

from access_requests.models import BusinessCase
from approvals.services import case_lapse_due
from approvals.tests.factories import at, requester_and_director, submitted_case
from notifications.models import OutboundEmail


@pytest.fixture(autouse=True)
def _rules(reminder_rules):
    """The lapse rules these tests count with (no bank holidays)."""


@pytest.mark.django_db
def test_one_lapse_run_handles_a_backlog_larger_than_its_batch(monkeypatch):
    monkeypatch.setattr("approvals.services.lapse.LAPSE_BATCH_SIZE", 2)
    with time_machine.travel(at("2026-12-04"), tick=False) as traveller:
        requester, _ = requester_and_director()
        cases = [submitted_case(requester=requester) for _ in range(5)]  # all sent at once
        traveller.move_to(at("2027-01-04", 12))  # 31 days later

        assert case_lapse_due() == 5  # three batches of ids in one run

        assert case_lapse_due() == 0
    statuses = BusinessCase.objects.filter(pk__in=[case.pk for case in cases])
    assert set(statuses.values_list("status", flat=True)) == {BusinessCase.Status.LAPSED}
    told = OutboundEmail.objects.filter(template="case_lapsed", to=requester.email)
    assert told.count() == 5  # the requester hears once about each
