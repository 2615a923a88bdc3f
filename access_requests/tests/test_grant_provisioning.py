"""ICT's provisioning queue: who may see it, what it shows, marking provisioned, sending back."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase
from access_requests.tests.factories import (
    AccessGrantFactory,
    SiteFactory,
)
from audit.models import AuditEvent
from people.models import BusinessUnit, Role
from people.tests.factories import BusinessUnitFactory, UserFactory

QUEUE = "access_requests:provisioning-queue"


def _passive(**kwargs):
    return AccessGrantFactory(
        business_case__sites=[SiteFactory(name="LinkedIn"), SiteFactory(name="Mumsnet")], **kwargs
    )


def _active(asset_tag="", pc_choice=BusinessCase.PcChoice.NEW, **kwargs):
    unit = BusinessUnit.objects.filter(cost_centre="CC-4471").first() or BusinessUnitFactory(
        name="Press Office", cost_centre="CC-4471"
    )
    return AccessGrantFactory(
        business_case__active=True,
        business_case__paying_business_unit=unit,
        business_case__pc_choice=pc_choice,
        business_case__pc_asset_tag=asset_tag,
        business_case__sites=[SiteFactory(name="X (Twitter)")],
        paying_business_unit=unit,
        pc_asset_tag=asset_tag,
        **kwargs,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.STAFF, Role.DIRECTOR, Role.AUDITOR, Role.ADMIN])
def test_only_ict_may_open_the_queue(client, role):
    grant = _passive()
    client.force_login(UserFactory(role=role))
    assert client.get(reverse(QUEUE)).status_code == 403
    assert (
        client.get(reverse("access_requests:provisioning-grant", args=[grant.pk])).status_code
        == 403
    )
    response = client.post(reverse("access_requests:provisioning-grant", args=[grant.pk]))
    assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.AWAITING_PROVISIONING


@pytest.mark.django_db
def test_the_queue_says_which_sites_to_open_and_which_pc_to_set_up(client):
    passive = _passive(business_case__requester=UserFactory(profile__name="Ann Lee"))
    active = _active(asset_tag="HO-778899", pc_choice=BusinessCase.PcChoice.EXISTING)
    new_pc = _active()
    AccessGrantFactory(provisioned=True)  # already done: not listed
    client.force_login(UserFactory(role=Role.ICT))
    response = client.get(reverse(QUEUE))
    html = response.content.decode()
    assert response.status_code == 200
    assert "3 grants waiting to be provisioned" in html
    assert "Ann Lee" in html and "LinkedIn, Mumsnet" in html
    assert passive.business_case.reference in html
    assert "Existing PC, asset tag HO-778899" in html
    assert "New PC needed" in html
    assert "CC-4471" in html and "Jo Budget" in html
    assert active.business_case.reference in html and new_pc.business_case.reference in html


@pytest.mark.django_db
def test_the_queue_takes_the_same_number_of_queries_for_more_grants(
    client, django_assert_max_num_queries
):
    client.force_login(UserFactory(role=Role.ICT))
    _passive()
    _active()
    client.get(reverse(QUEUE))  # warm the session and permission caches
    with django_assert_max_num_queries(12) as few:
        client.get(reverse(QUEUE))
    for _ in range(4):
        _passive()
        _active()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse(QUEUE))
    assert "10 grants waiting" in response.content.decode()


@pytest.mark.django_db
def test_a_queue_of_several_pages_keeps_its_page_links_out_of_the_title(client):
    AccessGrantFactory.create_batch(51)
    client.force_login(UserFactory(role=Role.ICT))
    html = client.get(reverse(QUEUE)).content.decode()
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith("Provisioning – ")
    assert "<" not in title and "Next" not in title
    assert html.count('class="govuk-pagination"') == 1


@pytest.mark.django_db
def test_ict_marks_a_passive_grant_provisioned_and_the_holder_is_told(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    grant = _passive()
    ict = UserFactory(role=Role.ICT)
    client.force_login(ict)
    page = client.get(reverse("access_requests:provisioning-grant", args=[grant.pk]))
    assert "Open LinkedIn, Mumsnet on the office network" in page.content.decode()
    assert "Asset tag" not in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("access_requests:provisioning-grant", args=[grant.pk]), follow=True
        )
    assert response.redirect_chain[-1][0] == reverse(QUEUE)
    assert "is provisioned" in response.content.decode()
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.ACTIVE
    assert grant.provisioned_by == ict and grant.provisioned_at is not None
    assert AuditEvent.objects.filter(action="grant.provisioned", object_id=str(grant.pk)).exists()
    [email] = mailoutbox
    assert email.to == [grant.holder.email]
    assert "ready" in email.subject
    assert "You can use it now" in email.body
    assert "http://testserver/guidance/" in email.body


@pytest.mark.django_db
def test_the_active_tier_needs_the_asset_tag(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    grant = _active()
    client.force_login(UserFactory(role=Role.ICT))
    url = reverse("access_requests:provisioning-grant", args=[grant.pk])
    page = client.get(url).content.decode()
    assert "a new standalone PC, charged to cost centre CC-4471" in page
    response = client.post(url, {"asset_tag": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter the asset tag of the standalone PC" in html
    assert "<title>Error: " in html
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.AWAITING_PROVISIONING
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"asset_tag": "HO-000123"})
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.ACTIVE
    assert grant.pc_asset_tag == "HO-000123"
    assert "asset tag HO-000123" in mailoutbox[0].body


@pytest.mark.django_db
def test_a_grant_provisioned_before_its_start_shows_from_its_start_date(client):
    start = timezone.localdate() + datetime.timedelta(days=10)
    grant = AccessGrantFactory(
        business_case__start_date=start, business_case__end_date=start + datetime.timedelta(days=60)
    )
    client.force_login(UserFactory(role=Role.ICT))
    client.post(reverse("access_requests:provisioning-grant", args=[grant.pk]))
    client.force_login(grant.holder)
    html = client.get(reverse("home")).content.decode()
    assert f"from {start:%-d %B %Y}" in html
    assert f"You can use this access from {start:%-d %B %Y}" in html


@pytest.mark.django_db
def test_ict_sends_a_grant_back_with_a_reason_and_the_holder_is_told(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    grant = _active()
    client.force_login(UserFactory(role=Role.ICT))
    url = reverse("access_requests:provisioning-send-back", args=[grant.pk])
    response = client.post(url, {"reason": ""})
    assert "Enter a reason" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": "Cost centre CC-4471 is closed"}, follow=True)
    assert "was sent back" in response.content.decode()
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.RETURNED
    assert grant.returned_reason == "Cost centre CC-4471 is closed"
    [email] = mailoutbox
    assert email.to == [grant.holder.email]
    assert "Cost centre CC-4471 is closed" in email.body
    client.force_login(grant.holder)
    assert "ICT could not set up this access" in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_a_grant_already_dealt_with_leaves_the_queue(client):
    grant = _passive()
    client.force_login(UserFactory(role=Role.ICT))
    client.post(reverse("access_requests:provisioning-grant", args=[grant.pk]))
    response = client.post(
        reverse("access_requests:provisioning-send-back", args=[grant.pk]),
        {"reason": "Too late"},
        follow=True,
    )
    assert "is no longer waiting" in response.content.decode()
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.ACTIVE


@pytest.mark.django_db
def test_ict_sees_the_queue_count_on_the_home_page(client):
    _passive()
    client.force_login(UserFactory(role=Role.ICT))
    html = client.get(reverse("home")).content.decode()
    assert "1 grant waiting to be provisioned" in html
    assert f'href="{reverse(QUEUE)}"' in html
