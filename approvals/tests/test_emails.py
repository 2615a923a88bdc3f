"""What the approver's emails show: the request and its reminders are built by one context
builder (`approvals.emails`), so a reminder shows the case as the request did."""

import datetime

import pytest
import time_machine

from access_requests.tests.factories import SiteFactory
from approvals.models import ApprovalRequest
from approvals.services import approval_remind_due
from approvals.tests.factories import (
    DelegationFactory,
    at,
    requester_and_director,
    submitted_case,
)
from notifications.models import OutboundEmail
from people.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _rules(reminder_rules):
    """The reminder rules these tests count with (no bank holidays)."""


def _case_summary_of(email: OutboundEmail) -> tuple[str, str]:
    """The case summary of an approver's email (text and HTML): what the request and its
    reminders both show, between the greeting and the link."""
    content = email.content()
    text = content.body_text.split("Reference:", 1)[1].split("To read the whole case", 1)[0]
    html = content.body_html.split(">Reference</th>", 1)[1].split("<p><a href=", 1)[0]
    return text, html


@pytest.mark.django_db
def test_a_reminder_shows_the_case_as_the_request_email_does(django_capture_on_commit_callbacks):
    """The request and its reminders show the same case (the requester and their unit, the
    sites and identities, who pays, the dates and the business need), to the director and
    to a deputy, for a case with and without a paying unit."""
    with time_machine.travel(at("2026-12-04", 10), tick=False) as traveller:
        requester, director = requester_and_director(
            profile__name="Sam Staff", profile__job_title="Press Officer"
        )
        deputy = UserFactory(profile__name="Dee Deputy")
        DelegationFactory(director=director, deputy=deputy, ends_on=datetime.date(2026, 12, 31))
        active_case = submitted_case(
            requester=requester,
            active=True,
            sites=[SiteFactory(name="X"), SiteFactory(name="Facebook")],
        )
        plain_case = submitted_case(requester=requester)
        approvals = list(
            ApprovalRequest.objects.filter(business_case__in=[active_case, plain_case])
        )
        assert len(approvals) == 4  # the director's and the deputy's, for each case
        traveller.move_to(at("2026-12-09", 10, 5))
        with django_capture_on_commit_callbacks(execute=False):
            assert approval_remind_due() == 4

    for approval in approvals:
        [request] = OutboundEmail.objects.filter(
            template="approval_request", object_id=str(approval.pk)
        )
        [reminder] = OutboundEmail.objects.filter(
            template="approval_reminder", object_id=str(approval.pk)
        )
        assert _case_summary_of(reminder) == _case_summary_of(request)
        text = reminder.content().body_text
        assert f"Reference: {approval.business_case.reference}" in text
        assert "Requester: Sam Staff, Press Officer" in text
        if approval.on_behalf_of is not None:
            assert "(you are deputy for Dana Director)" in text
    active_text = _case_summary_of(
        OutboundEmail.objects.filter(template="approval_reminder", to=director.email)
        .filter(
            object_id__in=[str(a.pk) for a in approvals if a.business_case_id == active_case.pk]
        )
        .get()
    )[0]
    assert active_text.index("* Facebook as") < active_text.index("* X as")  # sites A to Z
    assert "Paid for by:" in active_text
