"""The budget holder's stage: after the director approves an active-tier case, the paying
unit's budget holder agrees to the cost before the grant goes to ICT."""

import datetime

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier, BusinessCase
from approvals.models import ApprovalRequest
from approvals.services import approval_decide, approval_remind_one, case_lapse_due
from approvals.services.reminders import case_escalate
from approvals.tests.factories import requester_and_director, submitted_case, token_for
from approvals.tests.test_concurrent_decisions import decide_together
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def active_case(*, holder=None, requester=None, director=None, **kwargs):
    """An active-tier case sent, its paying unit's budget holder `holder` (a new person
    unless given; pass False for a unit with none). Returns (case, director, holder)."""
    if requester is None:
        requester, director = requester_and_director(profile__name="Sam Staff")
    unit = requester.profile.business_unit
    if holder is None:
        holder = UserFactory(profile__business_unit=unit, profile__name="Bea Budget")
    unit.budget_holder = holder or None
    unit.save()
    if holder:
        kwargs["budget_holder"] = holder
    case = submitted_case(requester=requester, active=True, **kwargs)
    return case, director, (holder or None)


def director_request(case):
    return case.approval_requests.get(stage=ApprovalRequest.Stage.DIRECTOR)


def emails_to(person, template):
    return OutboundEmail.objects.filter(to=person.email, template=template)


def test_the_director_approving_asks_the_budget_holder_and_their_agreement_sends_it_to_ict(
    client, settings
):
    settings.SNS_STANDALONE_PC_YEARLY_COST = 1200
    ict = UserFactory(role=Role.ICT)
    case, director, holder = active_case()

    approval_decide(approval_request=director_request(case), decision="approve", actor=director)

    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED
    assert not AccessGrant.objects.filter(business_case=case).exists()
    asked = case.approval_requests.get(stage=ApprovalRequest.Stage.BUDGET_HOLDER)
    assert asked.approver == holder
    assert asked.routed_because == ApprovalRequest.Reason.BUDGET_HOLDER
    assert emails_to(holder, "budget_holder_request").count() == 1
    told = emails_to(case.requester, "director_approved").get()
    assert "waiting for the budget holder" in told.content().subject
    page = client.get(reverse("approvals:decide", args=[token_for(asked)]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "£1,200 a year" in html
    assert case.paying_business_unit.cost_centre in html
    assert "Agree to pay" in html and "Do not agree" in html

    response = client.post(
        reverse("approvals:decide", args=[token_for(asked)]), {"decision": "approve"}
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED
    grant = AccessGrant.objects.get(business_case=case)
    assert grant.status == AccessGrant.Status.AWAITING_PROVISIONING
    assert grant.approved_by == director
    assert grant.cost_agreed_by == holder
    assert OutboundEmail.objects.get(template="decision_provisioning").to == ict.email
    outcome = emails_to(case.requester, "decision_outcome").get()
    assert "Bea Budget agreed" in outcome.content().body_text


def test_the_budget_holder_refusing_rejects_the_case_and_tells_the_requester(client):
    case, director, holder = active_case()
    approval_decide(approval_request=director_request(case), decision="approve", actor=director)
    asked = case.approval_requests.get(stage=ApprovalRequest.Stage.BUDGET_HOLDER)
    url = reverse("approvals:decide", args=[token_for(asked)])

    missing = client.post(url, {"decision": "reject"})
    assert "govuk-error-summary" in missing.content.decode()
    assert "Enter why you do not agree to pay" in missing.content.decode()
    client.post(url, {"decision": "reject", "reason": "No budget left this year"})

    case.refresh_from_db()
    assert case.status == BusinessCase.Status.REJECTED
    assert case.decision_reason == "No budget left this year"
    assert not AccessGrant.objects.filter(business_case=case).exists()
    outcome = emails_to(case.requester, "decision_outcome").get()
    assert "rejected by Bea Budget" in outcome.content().body_text
    assert "No budget left this year" in outcome.content().body_text


def test_a_director_who_is_the_budget_holder_approves_for_both(client):
    requester, director = requester_and_director(profile__name="Sam Staff")
    case, _, _ = active_case(requester=requester, director=director, holder=director)

    approval_decide(approval_request=director_request(case), decision="approve", actor=director)

    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED
    assert not case.approval_requests.filter(stage=ApprovalRequest.Stage.BUDGET_HOLDER).exists()
    assert case.grant.cost_agreed_by == director
    client.force_login(requester)
    html = client.get(reverse("access_requests:case-detail", args=[case.pk])).content.decode()
    assert "approved as director and as budget holder" in html


def test_a_requester_who_is_the_budget_holder_agreed_by_sending(client):
    requester, director = requester_and_director(profile__name="Sam Staff")
    case, _, _ = active_case(requester=requester, director=director, holder=requester)

    approval_decide(approval_request=director_request(case), decision="approve", actor=director)

    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED
    assert case.grant.cost_agreed_by == requester
    client.force_login(requester)
    html = client.get(reverse("access_requests:case-detail", args=[case.pk])).content.decode()
    assert "sending the case agreed to the cost" in html


def test_the_passive_tier_needs_no_budget_holder():
    requester, director = requester_and_director()
    holder = UserFactory(profile__business_unit=requester.profile.business_unit)
    unit = requester.profile.business_unit
    unit.budget_holder = holder
    unit.save()
    case = submitted_case(requester=requester, tier=AccessTier.PASSIVE)

    approval_decide(
        approval_request=case.approval_requests.get(), decision="approve", actor=director
    )

    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED
    assert case.grant.cost_agreed_by is None
    assert not OutboundEmail.objects.filter(template="budget_holder_request").exists()


def test_the_requesters_case_page_shows_the_stage(client):
    case, director, holder = active_case()
    client.force_login(case.requester)
    url = reverse("access_requests:case-detail", args=[case.pk])
    assert "Waiting for your director" in client.get(url).content.decode()

    approval_decide(approval_request=director_request(case), decision="approve", actor=director)

    html = client.get(url).content.decode()
    assert "Approved by your director, waiting for the budget holder" in html
    assert "Bea Budget" in html


def test_a_replaced_budget_holder_gets_410_and_the_new_one_decides(client):
    case, director, holder = active_case()
    approval_decide(approval_request=director_request(case), decision="approve", actor=director)
    asked = case.approval_requests.get(stage=ApprovalRequest.Stage.BUDGET_HOLDER)
    unit = case.paying_business_unit
    successor = UserFactory(profile__business_unit=unit, profile__name="Nia New")
    unit.budget_holder = successor
    unit.save()
    url = reverse("approvals:decide", args=[token_for(asked)])

    response = client.post(url, {"decision": "approve"})

    assert response.status_code == 410
    assert "no longer the budget holder" in response.content.decode()
    assert "Nia New" in response.content.decode()
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED


def budget_stage(**kwargs):
    """An active-tier case its director approved: (case, director, holder, holder's request)."""
    case, director, holder = active_case(**kwargs)
    approval_decide(approval_request=director_request(case), decision="approve", actor=director)
    return case, director, holder, case.approval_requests.get(approver=holder)


def test_the_budget_holder_is_reminded_then_escalated_then_the_case_lapses(reminder_rules):
    admin = UserFactory(role=Role.ADMIN, profile__name="Ada Admin")
    case, _, holder, asked = budget_stage()
    due = timezone.now() - datetime.timedelta(minutes=1)
    ApprovalRequest.objects.filter(pk=asked.pk).update(next_reminder_at=due)

    assert approval_remind_one(approval_id=asked.pk, case_id=case.pk)
    assert emails_to(holder, "approval_reminder").count() == 1

    ApprovalRequest.objects.filter(pk=asked.pk).update(
        next_reminder_at=due, reminders_sent=reminder_rules.SNS_MAX_REMINDERS
    )
    assert approval_remind_one(approval_id=asked.pk, case_id=case.pk)
    escalated = case.approval_requests.get(approver=admin)
    assert escalated.stage == ApprovalRequest.Stage.BUDGET_HOLDER
    assert emails_to(admin, "budget_holder_request").count() == 1

    with time_machine.travel(case.submitted_at + datetime.timedelta(days=31)):
        case_lapse_due()
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.LAPSED
    assert set(
        case.approval_requests.filter(stage="budget_holder").values_list("status", flat=True)
    ) == {ApprovalRequest.Status.EXPIRED}


@pytest.mark.django_db(transaction=True)
def test_the_budget_holder_and_an_escalated_approver_deciding_at_once_one_wins(
    outbox_sends_later,
):
    admin = UserFactory(role=Role.ADMIN)
    case, _, holder, asked = budget_stage()
    with transaction.atomic():
        locked = BusinessCase.objects.select_for_update().get(pk=case.pk)
        case_escalate(case=locked, stalled=asked)
    escalated = case.approval_requests.get(approver=admin)

    outcomes = decide_together(
        [
            lambda: approval_decide(approval_request=asked, decision="approve", actor=holder),
            lambda: approval_decide(
                approval_request=escalated, decision="reject", reason="No money", actor=admin
            ),
        ]
    )

    assert sorted(kind for kind, _ in outcomes) == ["closed", "decided"], outcomes
    case.refresh_from_db()
    assert case.status in (BusinessCase.Status.APPROVED, BusinessCase.Status.REJECTED)
    assert case.approval_requests.filter(status="decided").count() == 2  # director + one
    assert OutboundEmail.objects.filter(template="decision_outcome").count() == 1
    assert AccessGrant.objects.count() == (1 if case.status == "approved" else 0)
