"""A grant revoked or given up takes its renewal under way with it, and is never renewed:
a draft renewal is deleted, a sent one withdrawn with its approvers told."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from access_requests.errors import NotRenewable
from access_requests.models import AccessGrant, BusinessCase
from access_requests.services.business_cases import DECLARATION_FIELDS
from access_requests.services.grant_renewal import grant_renewal_start
from access_requests.tests.factories import AccessGrantFactory
from approvals.models import ApprovalRequest
from approvals.services import case_submit
from approvals.tests.factories import requester_and_director
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def near_the_end():
    """Seventy days into a ninety-day grant: within the renewal window."""
    with time_machine.travel(timezone.now() + datetime.timedelta(days=70), tick=False):
        yield


@pytest.fixture
def grant():
    holder, _ = requester_and_director()
    return AccessGrantFactory(provisioned=True, business_case__requester=holder)


def renewal(grant, *, send: bool) -> BusinessCase:
    case = grant_renewal_start(grant=grant, actor=grant.holder)
    BusinessCase.objects.filter(pk=case.pk).update(
        end_date=case.start_date + datetime.timedelta(days=60),
        **dict.fromkeys(DECLARATION_FIELDS, True),
    )
    case.refresh_from_db()
    return case_submit(case=case, actor=grant.holder) if send else case


def revoke(client, grant):
    client.force_login(UserFactory(role=Role.ADMIN))
    return client.post(
        reverse("access_requests:grant-revoke", args=[grant.pk]),
        {"reason": "Posted protected information"},
        follow=True,
    )


def give_up(client, grant):
    client.force_login(grant.holder)
    return client.post(reverse("access_requests:grant-surrender", args=[grant.pk]), follow=True)


@pytest.mark.parametrize("end", [revoke, give_up])
def test_ending_a_grant_withdraws_its_sent_renewal_and_tells_its_approvers(
    client, grant, near_the_end, end
):
    case = renewal(grant, send=True)
    approval = case.approval_requests.get()
    response = end(client, grant)
    assert response.status_code == 200

    case.refresh_from_db()
    approval.refresh_from_db()
    assert case.status == BusinessCase.Status.WITHDRAWN
    assert "would renew was" in case.withdrawal_reason
    assert approval.status == ApprovalRequest.Status.SUPERSEDED
    assert OutboundEmail.objects.filter(
        template="approval_closed", to=approval.approver.email
    ).exists()
    assert AuditEvent.objects.filter(action="case.withdrawn", object_id=str(case.pk)).exists()


@pytest.mark.parametrize("end", [revoke, give_up])
def test_ending_a_grant_deletes_its_draft_renewal(client, grant, near_the_end, end):
    case = renewal(grant, send=False)
    end(client, grant)
    assert not BusinessCase.objects.filter(pk=case.pk).exists()
    assert AuditEvent.objects.filter(action="case.draft_deleted", object_id=str(case.pk)).exists()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (AccessGrant.Status.REVOKED, "This access was revoked, so it cannot be renewed"),
        (AccessGrant.Status.SURRENDERED, "You gave up this access, so it cannot be renewed"),
    ],
)
def test_a_revoked_or_given_up_grant_cannot_be_renewed(
    client, grant, near_the_end, status, message
):
    draft = renewal(grant, send=False)  # a renewal left over from before the grant ended
    ended = {
        AccessGrant.Status.REVOKED: {
            "revoked_at": timezone.now(),
            "revoked_by": UserFactory(),
            "revocation_reason": "Misuse",
        },
        AccessGrant.Status.SURRENDERED: {"surrendered_at": timezone.now()},
    }[status]
    AccessGrant.objects.filter(pk=grant.pk).update(status=status, **ended)
    grant.refresh_from_db()
    client.force_login(grant.holder)
    url = reverse("access_requests:grant-renew", args=[grant.pk])
    for response in (client.get(url, follow=True), client.post(url, follow=True)):
        assert message in response.content.decode()
        assert response.redirect_chain[-1][0] == reverse(
            "access_requests:grant-detail", args=[grant.pk]
        )
    with pytest.raises(NotRenewable):
        grant_renewal_start(grant=grant, actor=grant.holder)

    # Nor is the renewal left behind sent.
    check = reverse("access_requests:case-check", kwargs={"pk": draft.pk})
    seen = client.get(check).context["form"]["answers_seen"].initial
    response = client.post(check, {"answers_seen": seen})
    assert message in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == BusinessCase.Status.DRAFT
    assert not draft.approval_requests.exists()
