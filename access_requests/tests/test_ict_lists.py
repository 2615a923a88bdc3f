import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from access_requests.errors import NothingToWithdraw
from access_requests.models import AccessGrant
from access_requests.selectors.ict import grants_to_withdraw, standalone_pcs_issued
from access_requests.services.grant_withdrawal import grant_withdrawal_confirm
from access_requests.tests.factories import AccessGrantFactory, grant_in_status
from audit.models import AuditEvent
from conftest import browser_sign_in
from people.models import Role
from people.tests.factories import UserFactory
from tests.at_once import run_at_once

WITHDRAW = reverse("access_requests:access-to-withdraw")
PCS = reverse("access_requests:standalone-pcs")


@pytest.fixture
def ict(client):
    person = UserFactory(role=Role.ICT)
    client.force_login(person)
    return person


def refs(grants) -> set[str]:
    return {grant.business_case.reference for grant in grants}


@pytest.mark.django_db
def test_ended_grants_ict_set_up_wait_to_be_withdrawn_until_recorded(client, ict):
    expired = grant_in_status(AccessGrant.Status.EXPIRED)
    revoked = grant_in_status(AccessGrant.Status.REVOKED)
    given_up = grant_in_status(AccessGrant.Status.SURRENDERED)
    grant_in_status(AccessGrant.Status.ACTIVE)
    grant_in_status(AccessGrant.Status.RETURNED)
    never_set_up = AccessGrantFactory(status=AccessGrant.Status.EXPIRED, expired_at=timezone.now())

    page = client.get(WITHDRAW)
    shown = {row.business_case.reference for row in page.context["page"].object_list}
    assert shown == refs([expired, revoked, given_up])
    assert never_set_up.business_case.reference not in page.content.decode()
    assert "Misuse" in page.content.decode()  # why it was revoked

    confirm = reverse("access_requests:withdrawal-confirm", args=[revoked.pk])
    assert "Have you withdrawn the access of" in client.get(confirm).content.decode()
    assert AccessGrant.objects.get(pk=revoked.pk).withdrawn_at is None  # GET changes nothing
    response = client.post(confirm, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 302
    revoked.refresh_from_db()
    assert revoked.withdrawn_at is not None and revoked.withdrawn_by == ict
    event = AuditEvent.objects.get(action="grant.access_withdrawn")
    assert event.actor_id == ict.pk and event.client_address == "10.0.0.9"
    followed = client.get(WITHDRAW)
    assert "recorded as withdrawn" in followed.content.decode()
    assert {row.pk for row in followed.context["page"].object_list} == {expired.pk, given_up.pk}


@pytest.mark.django_db
def test_recording_twice_or_for_access_still_in_use_changes_nothing(ict):
    active = grant_in_status(AccessGrant.Status.ACTIVE)
    with pytest.raises(NothingToWithdraw):
        grant_withdrawal_confirm(grant=active, actor=ict)
    ended = grant_in_status(AccessGrant.Status.EXPIRED)
    grant_withdrawal_confirm(grant=ended, actor=ict)
    with pytest.raises(NothingToWithdraw):
        grant_withdrawal_confirm(grant=ended, actor=ict)
    assert AuditEvent.objects.filter(action="grant.access_withdrawn").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_people_recording_at_once_record_it_once():
    ended = grant_in_status(AccessGrant.Status.EXPIRED)
    first, second = UserFactory(role=Role.ICT), UserFactory(role=Role.ICT)
    outcomes = run_at_once(
        lambda: grant_withdrawal_confirm(grant=ended, actor=first),
        lambda: grant_withdrawal_confirm(grant=ended, actor=second),
    )
    assert sorted(kind for kind, _ in outcomes) == ["raised", "returned"]
    assert any(isinstance(value, NothingToWithdraw) for _, value in outcomes)
    assert AuditEvent.objects.filter(action="grant.access_withdrawn").count() == 1


@pytest.mark.django_db
def test_a_renewal_that_carries_the_access_on_leaves_nothing_to_withdraw(ict):
    old = grant_in_status(AccessGrant.Status.EXPIRED)
    AccessGrantFactory(
        business_case__requester=old.holder,
        renewed_from=old,
        status=AccessGrant.Status.ACTIVE,
        provisioned_at=old.provisioned_at,
        provisioned_by=old.provisioned_by,
    )
    assert old.business_case.reference not in refs(grants_to_withdraw())


@pytest.mark.django_db
def test_standalone_pcs_issued_lists_pcs_in_use_and_ended_ones_not_yet_back(client, ict):
    in_use = grant_in_status(
        AccessGrant.Status.ACTIVE, business_case__active=True, pc_asset_tag="PC-0101"
    )
    not_back = grant_in_status(
        AccessGrant.Status.REVOKED, business_case__active=True, pc_asset_tag="PC-0102"
    )
    back = grant_in_status(
        AccessGrant.Status.EXPIRED, business_case__active=True, pc_asset_tag="PC-0103"
    )
    grant_withdrawal_confirm(grant=back, actor=ict)
    grant_in_status(AccessGrant.Status.ACTIVE)  # passive: no PC

    assert refs(standalone_pcs_issued()) == refs([in_use, not_back])
    page = client.get(PCS).content.decode()
    assert "PC-0101" in page and "PC-0102" in page and "PC-0103" not in page
    assert "Ended: recover the PC" in page
    assert in_use.paying_business_unit is None or in_use.paying_business_unit.cost_centre in page


@pytest.mark.django_db
@pytest.mark.parametrize("url", [WITHDRAW, PCS])
def test_the_lists_keep_their_query_count_as_they_grow(
    client, ict, url, django_assert_max_num_queries
):
    for _ in range(3):
        grant_in_status(AccessGrant.Status.REVOKED, business_case__active=True)
    client.get(url)
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for _ in range(20):
        grant_in_status(AccessGrant.Status.REVOKED, business_case__active=True)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.STAFF, Role.DIRECTOR, Role.AUDITOR])
def test_only_ict_sees_or_records(client, role):
    ended = grant_in_status(AccessGrant.Status.EXPIRED)
    client.force_login(UserFactory(role=role))
    assert client.get(WITHDRAW).status_code == 403
    assert client.get(PCS).status_code == 403
    confirm = reverse("access_requests:withdrawal-confirm", args=[ended.pk])
    assert client.post(confirm).status_code == 403
    assert AccessGrant.objects.get(pk=ended.pk).withdrawn_at is None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_ict_records_a_pc_recovered_in_chromium(live_server, page):
    grant = grant_in_status(
        AccessGrant.Status.EXPIRED,
        business_case__active=True,
        pc_asset_tag="PC-7777",
    )
    browser_sign_in(page, live_server, UserFactory(role=Role.ICT))
    page.get_by_role("link", name="Provisioning").first.click()
    page.get_by_role("link", name="Access to withdraw").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access to withdraw")
    row = page.locator("#access-to-withdraw tbody tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text("PC-7777")
    row.first.get_by_role("link", name="Record as withdrawn").click()
    page.get_by_role("button", name="Record as withdrawn").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("recorded as withdrawn")
    expect(page.locator("#access-to-withdraw")).to_have_count(0)
    page.get_by_role("link", name="Standalone PCs issued").click()
    expect(page.get_by_text("No standalone PCs are issued.")).to_be_visible()
    grant.refresh_from_db()
    assert grant.withdrawn_at is not None
