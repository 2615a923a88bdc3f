"""An approver's authority is checked when they act: by link, signed in, and in the
decision service, for every reason a case is routed (director, deputy, fallback, admin)."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase
from approvals.errors import ApprovalLostAuthority
from approvals.models import ApprovalRequest
from approvals.selectors import (
    approval_authority,
    approver_has_cases_to_decide,
    cases_to_decide_first,
)
from approvals.services import approval_decide
from approvals.tests.factories import (
    DelegationFactory,
    requester_and_director,
    submitted_case,
    token_for,
)
from audit.models import AuditEvent
from people.models import Role
from people.tests.factories import BusinessUnitFactory, DirectorateFactory, UserFactory

pytestmark = pytest.mark.django_db


def state():
    """Every row a decision would change (first_opened_at is bookkeeping, left out)."""
    approval_fields = [f.name for f in ApprovalRequest._meta.fields if f.name != "first_opened_at"]
    return (
        list(BusinessCase.objects.order_by("pk").values()),
        list(ApprovalRequest.objects.order_by("pk").values(*approval_fields)),
        list(AccessGrant.objects.order_by("pk").values()),
        AuditEvent.objects.count(),
    )


def new_director_for(directorate, name="Nia New"):
    new = UserFactory(role=Role.DIRECTOR, profile__name=name)
    directorate.director = new
    directorate.save(update_fields=["director"])
    return new


@pytest.fixture
def director_replaced():
    """A case sent to Dana, who then stops being the director: Nia is."""
    requester, director = requester_and_director(profile__name="Sam Staff")
    case = submitted_case(requester=requester)
    approval = case.approval_requests.get(approver=director)
    directorate = requester.profile.business_unit.directorate
    new_director_for(directorate)
    return case, approval, directorate


def test_the_old_directors_link_answers_410_saying_who_now_decides(client, director_replaced):
    case, approval, directorate = director_replaced
    url = reverse("approvals:decide", args=[token_for(approval)])
    before = state()

    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 410
    assert "You can no longer decide this case" in html
    assert f"You are no longer the director of {directorate.name}" in html
    assert "Nia New, director of" in html
    assert case.purpose not in html  # the case is not theirs to read any more
    assert state() == before  # not even "opened" is recorded

    response = client.post(url, {"decision": "approve"})
    assert response.status_code == 410
    assert "You can no longer decide this case" in response.content.decode()
    assert state() == before
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED


def test_the_old_director_signed_in_cannot_decide_nor_see_it_to_decide(client, director_replaced):
    case, approval, _ = director_replaced
    client.force_login(approval.approver)
    before = state()

    url = reverse("approvals:decide-signed-in", args=[approval.pk])
    response = client.post(url, {"decision": "reject", "reason": "No"})
    assert response.status_code == 410
    assert state() == before
    assert case.reference not in client.get(reverse("approvals:case-list")).content.decode()
    assert case.reference not in client.get(reverse("home")).content.decode()


def test_the_service_refuses_the_old_director_and_changes_nothing(director_replaced):
    case, approval, _ = director_replaced
    before = state()
    with pytest.raises(ApprovalLostAuthority) as lost:
        approval_decide(approval_request=approval, decision="approve", actor=approval.approver)
    assert "Nia New" in lost.value.authority.now_decides
    assert state() == before


def test_a_requester_who_moved_directorate_is_no_longer_the_old_directors(director_replaced):
    requester, director = requester_and_director()
    case = submitted_case(requester=requester)
    approval = case.approval_requests.get()
    elsewhere = BusinessUnitFactory(directorate=DirectorateFactory())
    requester.profile.business_unit = elsewhere
    requester.profile.save(update_fields=["business_unit"])

    assert not approval_authority(approval=approval).ok
    with pytest.raises(ApprovalLostAuthority):
        approval_decide(approval_request=approval, decision="approve", actor=director)


def test_a_director_made_inactive_cannot_decide():
    requester, director = requester_and_director()
    approval = submitted_case(requester=requester).approval_requests.get()
    director.is_active = False
    director.save(update_fields=["is_active"])

    authority = approval_authority(approval=approval)
    assert not authority.ok
    assert authority.reason == "Your account is no longer active."


def test_the_current_director_still_decides(client):
    requester, director = requester_and_director()
    case = submitted_case(requester=requester)
    approval = case.approval_requests.get()
    assert approval_authority(approval=approval).ok
    approval_decide(approval_request=approval, decision="approve", actor=director)
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED


# --- deputies ------------------------------------------------------------------------------------


def deputy_case():
    requester, director = requester_and_director()
    deputy = UserFactory(role=Role.DEPUTY, profile__name="Dev Deputy")
    delegation = DelegationFactory(director=director, deputy=deputy)
    case = submitted_case(requester=requester)
    return case, case.approval_requests.get(approver=deputy), delegation


def test_a_deputy_decides_while_the_delegation_is_in_force(client):
    case, approval, _ = deputy_case()
    response = client.post(
        reverse("approvals:decide", args=[token_for(approval)]), {"decision": "approve"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED


def test_a_deputy_after_the_delegation_ended_gets_410(client):
    case, approval, delegation = deputy_case()
    url = reverse("approvals:decide", args=[token_for(approval)])
    ended = timezone.localdate() - datetime.timedelta(days=1)
    type(delegation).objects.filter(pk=delegation.pk).update(
        starts_on=ended - datetime.timedelta(days=5), ends_on=ended
    )
    before = state()

    response = client.post(url, {"decision": "approve"})
    html = response.content.decode()
    assert response.status_code == 410
    assert f"Your delegation from Dana Director ended on {ended:%-d %B %Y}" in html
    assert "Dana Director, director of" in html
    assert state() == before


def test_a_deputy_whose_director_was_replaced_cannot_decide():
    case, approval, delegation = deputy_case()
    directorate = case.requester.profile.business_unit.directorate
    new_director_for(directorate)
    authority = approval_authority(approval=approval)
    assert not authority.ok
    assert "Dana Director no longer decides cases" in authority.reason
    with pytest.raises(ApprovalLostAuthority):
        approval_decide(approval_request=approval, decision="approve", actor=delegation.deputy)


def test_a_deputy_never_decides_their_own_case():
    """A deputy named by the director who later asks for access themselves: routing leaves
    them out, and a request to them (sent before, say) is refused at the decision."""
    requester, director = requester_and_director()
    DelegationFactory(director=director, deputy=requester)
    case = submitted_case(requester=requester)
    assert [a.approver for a in case.approval_requests.all()] == [director]
    sneaked = ApprovalRequest.objects.create(
        business_case=case,
        approver=requester,
        routed_because=ApprovalRequest.Reason.DEPUTY,
        delegation=requester.delegations_received.get(),
        on_behalf_of=director,
        token_hash="0" * 64,
        token_expires_at=timezone.now() + datetime.timedelta(days=1),
        decide_by=timezone.localdate(),
    )
    assert approval_authority(approval=sneaked).reason == "Nobody may decide their own case."
    with pytest.raises(ApprovalLostAuthority):
        approval_decide(approval_request=sneaked, decision="approve", actor=requester)


# --- fallback approver and admins ---------------------------------------------------------------


def test_a_replaced_fallback_approver_cannot_decide():
    directorate = DirectorateFactory()  # no director: the fallback approver decides
    fallback = UserFactory(role=Role.DIRECTOR, profile__name="Fay Fallback")
    organisation = directorate.organisation
    organisation.fallback_approver = fallback
    organisation.save(update_fields=["fallback_approver"])
    requester = UserFactory(profile__business_unit=BusinessUnitFactory(directorate=directorate))
    case = submitted_case(requester=requester)
    approval = case.approval_requests.get()
    assert approval.routed_because == ApprovalRequest.Reason.FALLBACK
    assert approval_authority(approval=approval).ok

    organisation.fallback_approver = UserFactory(profile__name="Fred Fresh")
    organisation.save(update_fields=["fallback_approver"])

    authority = approval_authority(approval=approval)
    assert not authority.ok
    assert authority.reason == f"You are no longer the fallback approver for {organisation.name}."
    assert authority.now_decides.startswith("Fred Fresh, the fallback approver")
    with pytest.raises(ApprovalLostAuthority):
        approval_decide(approval_request=approval, decision="approve", actor=fallback)


def test_an_admin_no_longer_admin_cannot_decide_a_case_sent_to_the_admins():
    directorate = DirectorateFactory()  # no director, no fallback approver: every admin
    admin = UserFactory(role=Role.ADMIN)
    requester = UserFactory(profile__business_unit=BusinessUnitFactory(directorate=directorate))
    case = submitted_case(requester=requester)
    approval = case.approval_requests.get(approver=admin)
    assert approval_authority(approval=approval).ok

    admin.groups.remove(Group.objects.get(name=Role.ADMIN))

    authority = approval_authority(approval=approval)
    assert not authority.ok
    assert authority.reason == "You are no longer one of the service's administrators."
    assert authority.now_decides == "the service's administrators"
    with pytest.raises(ApprovalLostAuthority):
        approval_decide(approval_request=approval, decision="approve", actor=admin)


# --- the home page's cases to decide, request after request ------------------------------------
#
# The home page's list is built once per process and planned once per connection
# (`core.prepared`): each request must still ask about its own person on its own day.


def test_the_home_page_lists_a_case_for_whoever_decides_it_now(client, director_replaced):
    case, approval, directorate = director_replaced
    old, new = approval.approver, directorate.director
    client.force_login(old)
    assert case.reference not in client.get(reverse("home")).content.decode()

    # Sent again to the new director (as re-routing does): theirs to decide, not Dana's.
    ApprovalRequest.objects.filter(pk=approval.pk).update(approver=new)
    client.force_login(new)
    assert case.reference in client.get(reverse("home")).content.decode()
    client.force_login(old)
    assert case.reference not in client.get(reverse("home")).content.decode()

    directorate.director = old
    directorate.save(update_fields=["director"])
    client.force_login(new)
    assert case.reference not in client.get(reverse("home")).content.decode()


def test_the_home_page_drops_a_deputys_case_the_day_after_the_delegation_ends(client):
    case, approval, delegation = deputy_case()
    client.force_login(delegation.deputy)
    assert case.reference in client.get(reverse("home")).content.decode()

    def on(day):
        noon = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
        with time_machine.travel(noon, tick=False):
            return [line.approval_id for line in cases_to_decide_first(user=delegation.deputy)]

    assert on(delegation.ends_on) == [approval.pk]
    assert on(delegation.ends_on + datetime.timedelta(days=1)) == []
    assert on(delegation.starts_on - datetime.timedelta(days=1)) == []


def test_a_deputys_cases_to_decide_link_follows_the_delegations_days():
    """The navigation's question (built once per process too) asks about its own person on
    its own day: the deputy has a case to decide while the delegation runs, not after."""
    case, approval, delegation = deputy_case()
    someone_else = UserFactory()

    def on(day, user):
        noon = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
        with time_machine.travel(noon, tick=False):
            user = type(user).objects.get(pk=user.pk)  # a new request's user object
            return approver_has_cases_to_decide(user=user)

    assert on(delegation.ends_on, delegation.deputy)
    assert not on(delegation.ends_on, someone_else)
    assert not on(delegation.ends_on + datetime.timedelta(days=1), delegation.deputy)
    assert not on(delegation.starts_on - datetime.timedelta(days=1), delegation.deputy)
