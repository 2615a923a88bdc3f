"""The requester is told their case was sent: the reference, who will decide and by when,
and what happens next."""

import datetime

import pytest
from django.core import mail

from access_requests.errors import TransitionNotAllowed
from approvals.models import ApprovalRequest
from approvals.services import case_submit
from approvals.tests.factories import DelegationFactory, requester_and_director, submitted_case
from core.working_days import add_working_days
from notifications.models import OutboundEmail
from notifications.services import outbound_email_send
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _long(day: datetime.date) -> str:
    return f"{day.day} {day:%B %Y}"


def test_the_requester_is_told_who_will_decide_by_when_and_what_happens_next(settings):
    settings.SNS_CONTACT_EMAIL = "sns-help@dept.example.gov.uk"
    requester, director = requester_and_director(profile__name="Sam Staff")
    DelegationFactory(director=director, deputy=UserFactory(profile__name="Dev Deputy"))
    case = submitted_case(requester=requester, active=True)

    email = OutboundEmail.objects.get(template="case_sent")
    assert email.to == requester.email
    content = email.content()
    assert case.reference in content.subject
    decide_by = ApprovalRequest.objects.filter(business_case=case).first().decide_by
    assert decide_by == add_working_days(
        case.submitted_at.astimezone().date(), settings.SNS_REMINDER_WORKING_DAYS
    )
    lapses_on = case.submitted_at.astimezone().date() + datetime.timedelta(
        days=settings.SNS_LAPSE_AFTER_DAYS
    )
    for expected in [
        "Dear Sam Staff",
        f"Your reference is {case.reference}",
        f"{director.display_name} (your director)",
        "Dev Deputy (deputy for your director)",
        f"decide by {_long(decide_by)}",
        f"decided by {_long(lapses_on)} expires",
        "ICT will set up your access on a standalone PC",
        f"/requests/{case.pk}/",
        "sns-help@dept.example.gov.uk",
    ]:
        assert expected in content.body_text, expected
    assert case.reference in content.body_html and "Dev Deputy" in content.body_html

    outbound_email_send(email_id=email.pk)
    assert [m.to for m in mail.outbox if case.reference in m.subject] == [[requester.email]]


def test_the_acknowledgement_is_written_once_in_the_same_transaction_as_the_sending():
    requester, _director = requester_and_director()
    case = submitted_case(requester=requester)
    with pytest.raises(TransitionNotAllowed):
        case_submit(case=case, actor=requester)
    assert OutboundEmail.objects.filter(template="case_sent").count() == 1
