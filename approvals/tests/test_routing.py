import datetime

import pytest
from django.utils import timezone

from access_requests.models import BusinessCase
from access_requests.tests.factories import BusinessCaseFactory
from approvals.errors import NoApproverAvailable
from approvals.models import ApprovalRequest
from approvals.services import case_submit
from approvals.tests.factories import (
    DelegationFactory,
    link_for,
    requester_and_director,
    submitted_case,
)
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import (
    BusinessUnitFactory,
    DirectorateFactory,
    OrganisationFactory,
    UserFactory,
    director_of,
)

pytestmark = pytest.mark.django_db


def test_a_submitted_case_goes_to_the_director_of_the_requesters_directorate():
    requester, director = requester_and_director(profile__name="Sam Staff")
    case = submitted_case(requester=requester, active=True)

    assert case.status == BusinessCase.Status.SUBMITTED
    approval = ApprovalRequest.objects.get(business_case=case)
    assert approval.approver == director
    assert approval.routed_because == ApprovalRequest.Reason.DIRECTOR
    assert approval.status == ApprovalRequest.Status.OPEN
    assert approval.decide_by > timezone.localdate()
    assert "director of" in case.routing_note

    # Only the hash of the emailed token is stored.
    link = link_for(approval)
    assert link.split("/")[-2] not in approval.token_hash
    assert len(approval.token_hash) == 64

    email = OutboundEmail.objects.get(template="approval_request")
    assert email.to == director.email
    for expected in [
        case.reference,
        "Sam Staff",
        "LinkedIn",
        "Active participation",
        case.purpose,
        case.audience,
        case.integration,
        case.paying_business_unit.cost_centre,
        approval.decide_by.strftime("%-d %B %Y"),
        "http://testserver/guidance/",
    ]:
        assert expected in email.content().body_text, expected
        assert expected.replace("'", "&#x27;") in email.content().body_html, expected
    assert email.content().body_text.count("/approvals/decide/") == 1
    assert AuditEvent.objects.filter(action="approval.sent", object_id=str(case.pk)).count() == 1


def test_a_directors_own_case_goes_to_the_organisations_fallback_approver():
    organisation = OrganisationFactory()
    fallback = UserFactory(role=Role.ADMIN, profile__name="Fran Fallback")
    organisation.fallback_approver = fallback
    organisation.save()
    directorate = DirectorateFactory(organisation=organisation, name="Border Policy")
    director = director_of(directorate)

    case = submitted_case(requester=director)

    approvals = list(ApprovalRequest.objects.filter(business_case=case))
    assert [a.approver for a in approvals] == [fallback]
    assert approvals[0].routed_because == ApprovalRequest.Reason.FALLBACK
    assert "You are the director of Border Policy" in case.routing_note
    assert "Fran Fallback" in case.routing_note


def test_without_a_director_or_fallback_every_admin_is_asked_and_the_first_decision_wins():
    directorate = DirectorateFactory(name="Digital")  # no director
    requester = UserFactory(profile__business_unit=BusinessUnitFactory(directorate=directorate))
    admins = [UserFactory(role=Role.ADMIN) for _ in range(2)]
    UserFactory(role=Role.ADMIN, is_active=False)

    case = submitted_case(requester=requester)

    approvals = ApprovalRequest.objects.filter(business_case=case).order_by("approver_id")
    assert [a.approver for a in approvals] == admins
    assert "Digital has no director" in case.routing_note
    assert "administrators" in case.routing_note

    from approvals.services import approval_decide

    approval_decide(
        approval_request=approvals[0], decision="approve", actor=admins[0], via="signed in"
    )
    statuses = dict(
        ApprovalRequest.objects.filter(business_case=case).values_list("approver_id", "status")
    )
    assert statuses == {admins[0].pk: "decided", admins[1].pk: "superseded"}


def test_nobody_can_approve_their_own_case_even_as_the_only_admin():
    directorate = DirectorateFactory()
    admin = UserFactory(
        role=Role.ADMIN, profile__business_unit=BusinessUnitFactory(directorate=directorate)
    )
    directorate.director = admin
    directorate.save()
    case = BusinessCaseFactory(requester=admin)

    with pytest.raises(NoApproverAvailable):
        case_submit(case=case, actor=admin)

    case.refresh_from_db()
    assert case.status == BusinessCase.Status.DRAFT  # the whole submission rolled back
    assert not ApprovalRequest.objects.exists()


def test_a_fallback_approver_who_is_the_requester_is_skipped_for_the_admins():
    organisation = OrganisationFactory()
    directorate = DirectorateFactory(organisation=organisation)
    requester = UserFactory(profile__business_unit=BusinessUnitFactory(directorate=directorate))
    organisation.fallback_approver = requester
    organisation.save()
    admin = UserFactory(role=Role.ADMIN)

    case = submitted_case(requester=requester)

    assert [a.approver for a in case.approval_requests.all()] == [admin]


def test_an_active_delegation_sends_the_case_to_the_deputy_too():
    requester, director = requester_and_director()
    deputy = UserFactory(profile__name="Dev Deputy")
    delegation = DelegationFactory(director=director, deputy=deputy)
    DelegationFactory(
        director=director,
        deputy=UserFactory(),
        starts_on=timezone.localdate() + datetime.timedelta(days=3),
    )  # not yet in force
    DelegationFactory(director=director, deputy=UserFactory(), cancelled_at=timezone.now())

    case = submitted_case(requester=requester)

    by_approver = {a.approver: a for a in case.approval_requests.all()}
    assert set(by_approver) == {director, deputy}
    assert by_approver[deputy].routed_because == ApprovalRequest.Reason.DEPUTY
    assert by_approver[deputy].on_behalf_of == director
    assert by_approver[deputy].delegation == delegation
    assert "Dev Deputy" in case.routing_note
    emails = OutboundEmail.objects.filter(template="approval_request")
    assert {e.to for e in emails} == {director.email, deputy.email}
    deputy_email = emails.get(to=deputy.email)
    assert "as deputy for Dana Director" in deputy_email.content().body_text


def test_a_requester_who_is_the_directors_deputy_is_not_sent_their_own_case():
    requester, director = requester_and_director()
    DelegationFactory(director=director, deputy=requester)

    case = submitted_case(requester=requester)

    assert [a.approver for a in case.approval_requests.all()] == [director]
