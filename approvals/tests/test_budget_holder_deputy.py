"""A budget holder names a deputy, as a director does: while the delegation is in force
the cost goes to both, the first answer counts, the deputy's authority is checked when
they act, and the delegation's end closes the deputy's request."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase
from approvals.models import ApprovalRequest, Delegation
from approvals.services import (
    approval_decide,
    delegation_cancel,
    delegations_end_due,
    directorate_director_change,
)
from approvals.services.routing import Route, approval_request_create
from approvals.tests.factories import requester_and_director, submitted_case, token_for
from approvals.tests.test_budget_holder import active_case, director_request, emails_to
from approvals.tests.test_delegation_rules import name_deputy
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BUDGET = ApprovalRequest.Stage.BUDGET_HOLDER


def holder_with_deputy(client, **dates):
    """A budget holder (not a director) who names Dev Deputy, a plain member of staff, on
    the delegation page. Returns (holder, deputy, delegation)."""
    case, _, holder = active_case()
    deputy = UserFactory(profile__name="Dev Deputy")
    response = name_deputy(client, holder, deputy.email, **dates)
    assert response.status_code == 302, response.content.decode()
    return holder, deputy, Delegation.objects.get(director=holder, deputy=deputy), case


def approved_by_director(case):
    approval_decide(
        approval_request=director_request(case),
        decision="approve",
        actor=director_request(case).approver,
    )


def test_a_budget_holder_s_home_page_offers_the_delegation_page(client):
    case, _, holder = active_case()
    client.force_login(holder)
    home = client.get(reverse("home")).content.decode()
    assert "Budget holder" in home
    assert f'href="{reverse("approvals:delegation-list")}"' in home
    assert client.get(reverse("approvals:delegation-list")).status_code == 200
    assert client.get(reverse("approvals:delegation-create")).status_code == 200
    # Someone who holds no budget and decides nothing is refused.
    client.force_login(UserFactory())
    assert client.get(reverse("approvals:delegation-list")).status_code == 403


def test_the_cost_goes_to_the_budget_holder_and_their_deputy_in_force(client):
    holder, deputy, delegation, case = holder_with_deputy(client)

    approved_by_director(case)

    asked = case.approval_requests.filter(stage=BUDGET).order_by("pk")
    assert [(a.approver, a.routed_because) for a in asked] == [
        (holder, ApprovalRequest.Reason.BUDGET_HOLDER),
        (deputy, ApprovalRequest.Reason.DEPUTY),
    ]
    to_deputy = asked.get(approver=deputy)
    assert to_deputy.on_behalf_of == holder and to_deputy.delegation == delegation
    email = emails_to(deputy, "budget_holder_request").get().content()
    assert f"as deputy for the budget holder, {holder.display_name}" in email.body_text
    case.refresh_from_db()
    assert "Also sent to Dev Deputy, deputising for" in case.routing_note


def test_the_deputy_agrees_by_their_link_and_the_grant_goes_to_ict(client):
    holder, deputy, _, case = holder_with_deputy(client)
    approved_by_director(case)
    to_deputy = case.approval_requests.get(stage=BUDGET, approver=deputy)
    url = reverse("approvals:decide", args=[token_for(to_deputy)])
    client.logout()

    page = client.get(url)
    assert page.status_code == 200
    assert f"You are answering as deputy for <bdi>{holder.display_name}</bdi>" in (
        page.content.decode()
    )
    response = client.post(url, {"decision": "approve"})

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED
    grant = AccessGrant.objects.get(business_case=case)
    assert grant.cost_agreed_by == deputy
    assert case.approval_requests.get(stage=BUDGET, approver=holder).status == "superseded"


def test_cancelling_the_delegation_closes_the_deputy_s_request_and_the_holder_decides(client):
    holder, deputy, delegation, case = holder_with_deputy(client)
    approved_by_director(case)
    to_deputy = case.approval_requests.get(stage=BUDGET, approver=deputy)

    delegation_cancel(delegation=delegation, actor=holder)

    to_deputy.refresh_from_db()
    assert to_deputy.status == ApprovalRequest.Status.SUPERSEDED
    client.logout()
    closed = client.post(
        reverse("approvals:decide", args=[token_for(to_deputy)]), {"decision": "approve"}
    )
    assert closed.status_code == 410, closed.status_code
    assert "This case no longer needs a decision" in closed.content.decode()
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED
    approval_decide(
        approval_request=case.approval_requests.get(stage=BUDGET, approver=holder),
        decision="approve",
        actor=holder,
    )
    assert AccessGrant.objects.get(business_case=case).cost_agreed_by == holder


def test_a_delegation_that_ended_is_checked_when_the_deputy_acts_then_swept(client):
    today = timezone.localdate()
    holder, deputy, delegation, case = holder_with_deputy(
        client, starts_on=today, ends_on=today + datetime.timedelta(days=2)
    )
    approved_by_director(case)
    to_deputy = case.approval_requests.get(stage=BUDGET, approver=deputy)
    url = reverse("approvals:decide", args=[token_for(to_deputy)])
    client.logout()
    later = today + datetime.timedelta(days=3)

    with time_machine.travel(datetime.datetime.combine(later, datetime.time(10)), tick=False):
        # Before the sweep runs, the link itself refuses: the delegation ended.
        refused = client.post(url, {"decision": "approve"})
        assert refused.status_code == 410
        text = refused.content.decode()
        assert f"Your delegation from {holder.display_name} ended on" in text
        assert f"{holder.display_name}, budget holder for" in text
        assert delegations_end_due() == 1

    to_deputy.refresh_from_db()
    assert to_deputy.status == ApprovalRequest.Status.SUPERSEDED
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED
    assert not AccessGrant.objects.filter(business_case=case).exists()


def test_a_deputy_for_a_replaced_budget_holder_can_no_longer_agree(client):
    holder, deputy, _, case = holder_with_deputy(client)
    approved_by_director(case)
    to_deputy = case.approval_requests.get(stage=BUDGET, approver=deputy)
    unit = case.paying_business_unit
    unit.budget_holder = UserFactory(profile__business_unit=unit, profile__name="Nia New")
    unit.save()
    client.logout()

    refused = client.post(
        reverse("approvals:decide", args=[token_for(to_deputy)]), {"decision": "approve"}
    )

    assert refused.status_code == 410
    assert f"{holder.display_name} is no longer the budget holder" in refused.content.decode()
    assert "Nia New" in refused.content.decode()


def test_a_budget_holder_s_deputy_gets_no_director_cases(client):
    """A plain member of staff deputising for a budget holder agrees to costs only."""
    holder, deputy, _, case = holder_with_deputy(client)
    assert not case.approval_requests.filter(approver=deputy).exists()
    # The delegation page refuses a plain person as deputy for a director.
    director = director_request(case).approver
    refused = name_deputy(client, director, UserFactory(role=Role.STAFF).email)
    assert refused.status_code == 200
    assert "cannot decide cases" in refused.content.decode()


def test_a_budget_holder_s_deputy_still_gets_no_director_cases_once_the_holder_is_a_director(
    client,
):
    """The delegation's scope is fixed when it is named: a deputy named by someone acting
    only as a budget holder agrees to costs, and gets no director's case (nor may decide
    one) after that budget holder becomes a directorate's director."""
    holder, deputy, delegation, _ = holder_with_deputy(client)
    assert delegation.scope == Delegation.Scope.COSTS
    told = emails_to(deputy, "approval_delegation").get().content().body_text
    assert "to agree to the cost of standalone PCs" in told
    assert "You do not decide cases for them." in told
    client.force_login(holder)
    assert (
        "Agrees to costs only" in client.get(reverse("approvals:delegation-list")).content.decode()
    )
    requester, old_director = requester_and_director(profile__name="Sam Staff")
    waiting = submitted_case(requester=requester)
    directorate = requester.profile.business_unit.directorate

    # The staff directory makes the budget holder this directorate's director.
    directorate.director = holder
    directorate.save()
    holder.groups.add(Group.objects.get(name=Role.DIRECTOR))
    directorate_director_change(directorate=directorate, old_director=old_director, actor=None)

    # The case that waited for the old director goes to the new one alone...
    rerouted = waiting.approval_requests.filter(status=ApprovalRequest.Status.OPEN)
    assert [(a.approver, a.routed_because) for a in rerouted] == [
        (holder, ApprovalRequest.Reason.DIRECTOR)
    ]
    # ...and so does a case sent now: the deputy is neither asked nor emailed.
    new_case = submitted_case(
        requester=UserFactory(profile__business_unit=requester.profile.business_unit)
    )
    assert [a.approver for a in new_case.approval_requests.all()] == [holder]
    new_case.refresh_from_db()
    assert "Dev Deputy" not in new_case.routing_note
    assert not emails_to(deputy, "approval_request").exists()

    # A director's case that reached the deputy through that delegation anyway (sent
    # before this rule held) gives them no authority when they act.
    stray = approval_request_create(
        case=new_case,
        route=Route(deputy, ApprovalRequest.Reason.DEPUTY, delegation, holder),
        decide_by=timezone.localdate() + datetime.timedelta(days=5),
        remind=False,
        actor=None,
        client=None,
        action="approval.sent",
    )
    client.force_login(deputy)
    listed = client.get(reverse("approvals:case-list"))
    assert new_case.reference not in listed.content.decode()
    client.logout()
    refused = client.post(
        reverse("approvals:decide", args=[token_for(stray)]), {"decision": "approve"}
    )
    assert refused.status_code == 410
    assert (
        f"{holder.display_name} named you to agree to costs as their budget holder, "
        "not to decide cases for them." in refused.content.decode()
    )
    new_case.refresh_from_db()
    assert new_case.status == BusinessCase.Status.SUBMITTED
