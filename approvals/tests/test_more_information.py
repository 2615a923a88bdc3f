"""Ask for more information: the approver's question goes back to the requester, who changes
their answers and sends the case again to the same approver, with a new link."""

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from access_requests.errors import TransitionNotAllowed
from access_requests.models import AccessGrant, BusinessCase
from approvals.errors import ApprovalClosed, DecisionInvalid
from approvals.models import ApprovalRequest
from approvals.services import (
    approval_ask_more_information,
    approval_decide,
    approval_remind_due,
    case_lapse_due,
    case_send_again,
)
from approvals.tests.factories import at, requester_and_director, submitted_case, token_for
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.tests.factories import UserFactory, director_of
from tests.at_once import run_at_once

pytestmark = pytest.mark.django_db

QUESTION = "Which accounts will you follow, and will you ever post?"


@pytest.fixture(autouse=True)
def _rules(reminder_rules):
    """Reminders every 3 working days, lapse after 30 days, links for 14 days."""


@pytest.fixture
def case_and_approval():
    requester, director = requester_and_director(profile__name="Sam Staff")
    case = submitted_case(requester=requester)
    return case, case.approval_requests.get()


def decide_url(approval):
    return reverse("approvals:decide", args=[token_for(approval)])


def emails_to(address, template):
    """What each email of this template to this address says, oldest first."""
    return [
        email.content()
        for email in OutboundEmail.objects.filter(to=address, template=template).order_by("pk")
    ]


def ask(client, url, question=QUESTION):
    return client.post(url, {"decision": "more_information", "question": question})


def test_asking_needs_a_question_shown_in_the_error_summary(client, case_and_approval):
    case, approval = case_and_approval

    response = ask(client, decide_url(approval), question="   ")

    html = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in html
    assert 'href="#id_question"' in html
    assert "Enter your question for the requester" in html
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED
    with pytest.raises(DecisionInvalid):
        approval_ask_more_information(
            approval_request=approval, question="", actor=approval.approver
        )


def test_asking_sends_the_case_back_to_the_requester_with_the_question(client, case_and_approval):
    case, approval = case_and_approval
    url = decide_url(approval)

    response = ask(client, url)

    assert response.status_code == 302
    case.refresh_from_db()
    approval.refresh_from_db()
    assert case.status == BusinessCase.Status.MORE_INFORMATION
    assert case.more_information_question == QUESTION
    assert approval.status == ApprovalRequest.Status.SENT_BACK
    assert approval.next_reminder_at is None
    # The requester is emailed the question and a link to their request.
    [email] = emails_to(case.requester.email, "case_more_information")
    assert case.reference in email.subject and "More information needed" in email.subject
    assert QUESTION in email.body_text and QUESTION in email.body_html.replace("&#x27;", "'")
    assert reverse("access_requests:case-detail", kwargs={"pk": case.pk}) in email.body_text
    # The approver's page after asking, and the old link from then on, say it was sent back.
    page = client.get(url)
    assert page.status_code == 410
    text = page.content.decode()
    assert "This case was sent back for more information" in text
    assert QUESTION.replace(",", ",") in text.replace("&#x27;", "'")
    # Audited with who asked and from where.
    event = AuditEvent.objects.get(action="approval.more_information_asked")
    assert event.changes["question"] == QUESTION
    assert event.changes["status"] == ["submitted", "more_information"]


def test_the_requester_sees_the_question_and_the_timeline(client, case_and_approval):
    case, approval = case_and_approval
    approval_ask_more_information(
        approval_request=approval, question=QUESTION, actor=approval.approver
    )
    client.force_login(case.requester)

    page = client.get(reverse("access_requests:case-detail", kwargs={"pk": case.pk}))

    html = page.content.decode()
    assert "govuk-notification-banner" in html
    assert "More information needed" in html
    assert "Which accounts will you follow, and will you ever post?" in html
    assert "Approver asked for more information" in html  # the timeline
    assert reverse("access_requests:case-check", kwargs={"pk": case.pk}) in html


def test_the_requester_changes_an_answer_and_the_same_approver_gets_a_new_link(
    client, case_and_approval
):
    case, approval = case_and_approval
    old_url = decide_url(approval)
    ask(client, old_url)
    requester = Client()
    requester.force_login(case.requester)
    need = reverse("access_requests:case-need", kwargs={"pk": case.pk}) + "?change=1"
    changed = requester.post(
        need,
        {
            "purpose": "Follow the visa debate on three named accounts; never post.",
            "audience": case.audience,
            "integration": case.integration,
        },
    )
    check_url = reverse("access_requests:case-check", kwargs={"pk": case.pk})
    assert changed.status_code == 302 and changed.url == check_url
    check = requester.get(check_url)
    assert "Send it again" in check.content.decode()
    assert QUESTION.split(",")[0] in check.content.decode()

    sent = requester.post(
        check_url, {"answers_seen": check.context["form"]["answers_seen"].value()}
    )

    assert sent.status_code == 302
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED
    assert case.reference == case.reference  # the same reference
    new = case.approval_requests.get(status=ApprovalRequest.Status.OPEN)
    assert new.pk != approval.pk and new.approver_id == approval.approver_id
    assert new.reminders_sent == 0
    first, again = emails_to(approval.approver.email, "approval_request")
    assert QUESTION not in first.body_text
    assert QUESTION in again.body_text and "sent the case again" in again.body_text
    # The new link shows the changed answer; the old one still says it was sent back.
    page = Client().get(decide_url(new))
    assert page.status_code == 200
    assert "never post" in page.content.decode()
    assert Client().get(old_url).status_code == 410
    # And it decides.
    approval_decide(approval_request=new, decision="approve", actor=new.approver)
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED
    assert AuditEvent.objects.filter(action="case.sent_again", object_id=str(case.pk)).exists()


def test_sending_again_twice_sends_once(case_and_approval):
    case, approval = case_and_approval
    approval_ask_more_information(
        approval_request=approval, question=QUESTION, actor=approval.approver
    )
    case_send_again(case=case, actor=case.requester)
    with pytest.raises(TransitionNotAllowed):
        case_send_again(case=case, actor=case.requester)
    assert case.approval_requests.filter(status=ApprovalRequest.Status.OPEN).count() == 1


def test_asking_twice_or_after_a_decision_is_refused(case_and_approval):
    case, approval = case_and_approval
    approval_ask_more_information(
        approval_request=approval, question=QUESTION, actor=approval.approver
    )
    with pytest.raises(ApprovalClosed) as closed:
        approval_ask_more_information(
            approval_request=approval, question=QUESTION, actor=approval.approver
        )
    assert closed.value.why == "sent_back"
    with pytest.raises(ApprovalClosed):
        approval_decide(approval_request=approval, decision="approve", actor=approval.approver)


def test_reminders_and_the_lapse_clock_restart_when_it_is_sent_again():
    with time_machine.travel(at("2026-12-01"), tick=False) as traveller:
        requester, director = requester_and_director()
        case = submitted_case(
            requester=requester,
            start_date=datetime.date(2027, 2, 1),
            end_date=datetime.date(2027, 3, 1),
        )
        approval = case.approval_requests.get()
        traveller.move_to(at("2026-12-04", 12))  # 3 working days: the first reminder
        assert approval_remind_due() == 1
        approval.refresh_from_db()
        assert approval.reminders_sent == 1
        approval_ask_more_information(approval_request=approval, question=QUESTION, actor=director)
        traveller.move_to(at("2026-12-09", 12))
        assert approval_remind_due() == 0  # nobody is reminded while the requester answers
        traveller.move_to(at("2026-12-21", 9))
        case_send_again(case=case, actor=requester)
        new = case.approval_requests.get(status=ApprovalRequest.Status.OPEN)
        assert new.reminders_sent == 0
        assert new.next_reminder_at == at("2026-12-24", 9)  # 3 working days from now

        traveller.move_to(at("2027-01-02", 12))  # 32 days after the first send
        assert case_lapse_due() == 0
        case.refresh_from_db()
        assert case.status == BusinessCase.Status.SUBMITTED

        traveller.move_to(at("2027-01-21", 12))  # 31 days after it was sent again
        assert case_lapse_due() == 1
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.LAPSED


def test_sent_again_after_the_approver_lost_their_authority_goes_to_whoever_decides_now(
    case_and_approval,
):
    case, approval = case_and_approval
    approval_ask_more_information(
        approval_request=approval, question=QUESTION, actor=approval.approver
    )
    directorate = case.requester.profile.business_unit.directorate
    new_director = director_of(directorate, profile__name="Nia New")

    case_send_again(case=case, actor=case.requester)

    new = case.approval_requests.get(status=ApprovalRequest.Status.OPEN)
    assert new.approver == new_director


@pytest.mark.django_db(transaction=True)
def test_an_ask_and_an_approval_at_the_same_time_one_wins(outbox_sends_later):
    requester, director = requester_and_director()
    deputy = UserFactory()
    from approvals.tests.factories import DelegationFactory

    DelegationFactory(director=director, deputy=deputy)
    case = submitted_case(requester=requester)
    director_request = case.approval_requests.get(approver=director)
    deputy_request = case.approval_requests.get(approver=deputy)

    outcomes = run_at_once(
        lambda: approval_ask_more_information(
            approval_request=director_request, question=QUESTION, actor=director
        ),
        lambda: approval_decide(approval_request=deputy_request, decision="approve", actor=deputy),
    )

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["raised", "returned"], outcomes
    [loser] = [value for kind, value in outcomes if kind == "raised"]
    assert isinstance(loser, ApprovalClosed)
    case.refresh_from_db()
    if case.status == BusinessCase.Status.APPROVED:
        assert loser.why == "decided"
        assert not AuditEvent.objects.filter(action="approval.more_information_asked").exists()
        assert AccessGrant.objects.filter(business_case=case).count() == 1
    else:
        assert case.status == BusinessCase.Status.MORE_INFORMATION
        assert loser.why == "sent_back"
        assert not AuditEvent.objects.filter(action="approval.decided").exists()
        assert not AccessGrant.objects.exists()
        assert OutboundEmail.objects.filter(template="case_more_information").count() == 1


# --- What the approver sees ------------------------------------------------------------------


def test_the_decision_page_shows_cost_current_access_earlier_cases_and_the_renewal(
    client, settings
):
    from access_requests.tests.factories import BusinessCaseFactory, grant_in_status

    settings.SNS_STANDALONE_PC_YEARLY_COST = 1450
    requester, director = requester_and_director(profile__name="Sam Staff")
    current = grant_in_status(
        AccessGrant.Status.ACTIVE,
        business_case=BusinessCaseFactory(
            requester=requester,
            submitted=True,
            status=BusinessCase.Status.APPROVED,
            decided_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC),
        ),
    )
    rejected = BusinessCaseFactory(
        requester=requester,
        submitted=True,
        status=BusinessCase.Status.REJECTED,
        decided_at=datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC),
        decision_reason="Not needed",
    )
    case = submitted_case(requester=requester, active=True, renewal_of=current)
    approval = case.approval_requests.get()

    html = client.get(decide_url(approval)).content.decode()

    assert "£1,450 a year" in html
    assert f"This is a renewal of {current.business_case.reference}" in html
    assert current.business_case.reference in html and rejected.reference in html
    summary = html.index("Summary")
    assert summary < html.index("Your decision") < html.index("The whole case")
    # The earlier cases with their outcomes, and the current access with its sites.
    assert "Rejected" in html[summary:] and "Approved" in html[summary:]
    assert "Active participation" in html
    assert html.index("Their access now") < html.index("Your decision")


def test_the_decision_page_reads_the_history_in_a_fixed_number_of_queries(
    client, django_assert_max_num_queries
):
    from access_requests.tests.factories import BusinessCaseFactory, grant_in_status

    requester, director = requester_and_director()
    for _ in range(4):
        grant_in_status(
            AccessGrant.Status.ACTIVE,
            business_case=BusinessCaseFactory(
                requester=requester,
                submitted=True,
                status=BusinessCase.Status.APPROVED,
                decided_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC),
            ),
        )
    case = submitted_case(requester=requester)
    url = decide_url(case.approval_requests.get())
    client.get(url)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    grant_in_status(
        AccessGrant.Status.AWAITING_PROVISIONING,
        business_case=BusinessCaseFactory(
            requester=requester,
            submitted=True,
            status=BusinessCase.Status.APPROVED,
            decided_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC),
        ),
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_after_approving_the_confirmation_says_what_was_decided_with_the_dates(
    client, case_and_approval
):
    case, approval = case_and_approval
    url = decide_url(approval)
    end = case.start_date + datetime.timedelta(days=30)

    response = client.post(
        url,
        {
            "decision": "approve",
            "end_date_0": end.day,
            "end_date_1": end.month,
            "end_date_2": end.year,
        },
        follow=True,
    )

    html = response.content.decode()
    assert "Case approved" in html
    assert f"Access from {case.start_date:%-d %B %Y} to {end:%-d %B %Y}" in html


def test_the_other_approvers_are_told_their_link_no_longer_works():
    from approvals.tests.factories import DelegationFactory

    requester, director = requester_and_director(profile__name="Sam Staff")
    deputy = UserFactory(profile__name="Dee Deputy")
    DelegationFactory(director=director, deputy=deputy)
    case = submitted_case(requester=requester)
    director_request = case.approval_requests.get(approver=director)
    deputy_request = case.approval_requests.get(approver=deputy)
    deputy_link = decide_url(deputy_request)

    approval_ask_more_information(
        approval_request=director_request, question=QUESTION, actor=director
    )

    [told] = emails_to(deputy.email, "approval_closed")
    assert "sent back for more information" in told.subject
    assert "Dana Director asked Sam Staff for more information" in told.body_text
    deputy_request.refresh_from_db()
    assert deputy_request.status == ApprovalRequest.Status.SUPERSEDED
    page = Client().get(deputy_link)
    assert page.status_code == 410
    assert "This case was sent back for more information" in page.content.decode()
