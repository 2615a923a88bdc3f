"""Renewal: from an expiring or expired grant, a pre-filled draft case; an approved renewal
continues the same access without a gap (no re-provisioning when tier and PC are unchanged)."""

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase, SiteIdentity
from access_requests.selectors.grants import grant_is_usable
from access_requests.services.grant_expiry import grant_expiry_notice_sweep, grant_expiry_sweep
from access_requests.services.grant_renewal import grant_renewal_start
from access_requests.services.grants import grant_create_from_case
from access_requests.tests.factories import (
    AccessGrantFactory,
    SiteFactory,
    noon_in_london,
)
from audit.models import AuditEvent
from people.models import Role
from people.tests.factories import UserFactory, director_of

TODAY = datetime.date(2026, 7, 1)
OLD_END = datetime.date(2026, 7, 20)


def _old_active_tier_grant(**kwargs):
    grant = AccessGrantFactory(
        provisioned=True,
        business_case__active=True,
        business_case__pc_choice=BusinessCase.PcChoice.NEW,
        business_case__purpose="Answer questions about passports on X.",
        business_case__sites=[SiteFactory(name="X (Twitter)"), SiteFactory(name="Facebook")],
        business_case__start_date=datetime.date(2026, 1, 21),
        business_case__end_date=OLD_END,
        pc_asset_tag="HO-555",
        **kwargs,
    )
    grant.paying_business_unit = grant.business_case.paying_business_unit
    grant.save(update_fields=["paying_business_unit"])
    SiteIdentity.objects.filter(business_case=grant.business_case, site__name="Facebook").update(
        display_name="Passport Office", uses_pseudonym=True, pseudonym_reason="Team account"
    )
    return grant


def _approve(case, *, start=None, end=None):
    now = timezone.now()
    BusinessCase.objects.filter(pk=case.pk).update(
        status=BusinessCase.Status.APPROVED,
        reference=f"SNS-2026-9{case.pk:04d}",
        submitted_at=now,
        decided_at=now,
        start_date=start or case.start_date,
        end_date=end or OLD_END + datetime.timedelta(days=180),
    )
    case.refresh_from_db()
    director = director_of(case.requester.profile.business_unit.directorate)
    return grant_create_from_case(case=case, approved_by=director, approved_at=now)


@pytest.mark.django_db
def test_the_holder_starts_a_renewal_prefilled_from_the_old_case(client):
    with time_machine.travel(noon_in_london(TODAY), tick=False):
        grant = _old_active_tier_grant()
        client.force_login(grant.holder)
        page = client.get(reverse("access_requests:grant-renew", args=[grant.pk]))
        assert "Start the renewal" in page.content.decode()
        response = client.post(reverse("access_requests:grant-renew", args=[grant.pk]))
        again = client.post(reverse("access_requests:grant-renew", args=[grant.pk]))
    case = BusinessCase.objects.get(renewal_of=grant)  # a double click starts one renewal
    assert case.status == BusinessCase.Status.DRAFT
    assert case.requester == grant.holder
    assert response.status_code == 302 and again.status_code == 302
    assert response.url == reverse("access_requests:case-continue", kwargs={"pk": case.pk})
    old = grant.business_case
    assert case.tier == old.tier
    assert case.purpose == "Answer questions about passports on X."
    assert (case.audience, case.integration) == (old.audience, old.integration)
    assert case.paying_business_unit == old.paying_business_unit
    assert case.budget_holder_name == "Jo Budget"
    assert case.pc_choice == BusinessCase.PcChoice.EXISTING and case.pc_asset_tag == "HO-555"
    assert case.start_date == OLD_END + datetime.timedelta(days=1)
    assert not case.declared_read_guidance  # declarations are made again
    identities = {i.site.name: i for i in case.site_identities.all()}
    assert set(identities) == {"X (Twitter)", "Facebook"}
    assert identities["Facebook"].display_name == "Passport Office"
    assert identities["Facebook"].uses_pseudonym
    assert AuditEvent.objects.filter(action="case.renewal_started", object_id=str(case.pk)).exists()


@pytest.mark.django_db
def test_a_renewal_cannot_start_long_before_the_end_nor_by_someone_else(client):
    with time_machine.travel(noon_in_london(OLD_END - datetime.timedelta(days=60)), tick=False):
        grant = _old_active_tier_grant()
        client.force_login(grant.holder)
        response = client.post(reverse("access_requests:grant-renew", args=[grant.pk]), follow=True)
        assert "You can renew access from 30 days before it ends" in response.content.decode()
        client.force_login(UserFactory())
        assert (
            client.post(reverse("access_requests:grant-renew", args=[grant.pk])).status_code == 404
        )
        director = director_of(grant.holder.profile.business_unit.directorate)
        with pytest.raises(PermissionDenied):
            grant_renewal_start(grant=grant, actor=director)
    assert not BusinessCase.objects.filter(renewal_of=grant).exists()


@pytest.mark.django_db
def test_the_home_page_offers_renewal_for_expiring_and_expired_grants(client):
    with time_machine.travel(noon_in_london(TODAY), tick=False):
        expiring = _old_active_tier_grant()
        client.force_login(expiring.holder)
        html = client.get(reverse("home")).content.decode()
        assert "This access ends in 19 days. Renew it, or let it lapse." in html
        assert reverse("access_requests:grant-renew", args=[expiring.pk]) in html
    with time_machine.travel(noon_in_london(OLD_END + datetime.timedelta(days=3)), tick=False):
        grant_expiry_sweep()
        client.force_login(expiring.holder)
        html = client.get(reverse("home")).content.decode()
        assert "This access has ended. You can renew it." in html
        response = client.post(reverse("access_requests:grant-renew", args=[expiring.pk]))
        assert response.status_code == 302
        case = BusinessCase.objects.get(renewal_of=expiring)
        assert case.start_date == OLD_END + datetime.timedelta(days=3)  # not in the past


@pytest.mark.django_db
def test_home_and_grant_page_say_a_renewal_is_under_way_until_its_case_is_turned_down(client):
    with time_machine.travel(noon_in_london(TODAY), tick=False):
        grant = _old_active_tier_grant()
        renew_url = reverse("access_requests:grant-renew", args=[grant.pk])
        client.force_login(grant.holder)
        client.post(renew_url)
        case = BusinessCase.objects.get(renewal_of=grant)

        def home():
            return client.get(reverse("home")).content.decode()

        def grant_page():
            url = reverse("access_requests:grant-detail", args=[grant.pk])
            return client.get(url).content.decode()

        html = home()
        assert "Your renewal is under way." in html and renew_url not in html  # a draft
        html = grant_page()
        assert "Your renewal is under way." in html and renew_url not in html
        now = timezone.now()
        case.status, case.reference, case.submitted_at = "submitted", "SNS-2026-90001", now
        case.save(update_fields=["status", "reference", "submitted_at"])
        assert "Your renewal is under way." in home()
        case.status, case.decided_at = BusinessCase.Status.REJECTED, now
        case.save(update_fields=["status", "decided_at"])
        for html in (home(), grant_page()):
            assert "This access ends in 19 days. Renew it, or let it lapse." in html
            assert renew_url in html
        AccessGrantFactory(holder=grant.holder, renewed_from=grant)  # a renewal approved
        assert "Your renewal is under way." in home()
        assert "Your renewal is under way." in grant_page()


@pytest.mark.django_db
def test_an_approved_renewal_with_the_same_tier_and_pc_continues_without_a_gap(
    mailoutbox, django_capture_on_commit_callbacks
):
    ict = UserFactory(role=Role.ICT)
    with time_machine.travel(noon_in_london(TODAY), tick=False) as traveller:
        old = _old_active_tier_grant()
        case = grant_renewal_start(grant=old, actor=old.holder)
        new = _approve(case)
        assert new.renewed_from == old
        assert new.status == AccessGrant.Status.ACTIVE  # no re-provisioning
        assert new.start_date == OLD_END + datetime.timedelta(days=1)
        assert new.provisioned_at == old.provisioned_at
        assert new.pc_asset_tag == "HO-555"
        assert set(new.sites.values_list("name", flat=True)) == {"X (Twitter)", "Facebook"}

        traveller.move_to(noon_in_london(OLD_END - datetime.timedelta(days=1)))
        with django_capture_on_commit_callbacks(execute=True):
            grant_expiry_notice_sweep()
        assert mailoutbox == []  # renewed: no "your access ends" notices for the old grant

        traveller.move_to(noon_in_london(OLD_END + datetime.timedelta(days=1)))
        with django_capture_on_commit_callbacks(execute=True):
            grant_expiry_sweep()
        old.refresh_from_db()
        new.refresh_from_db()
        assert old.status == AccessGrant.Status.EXPIRED
        assert new.status == AccessGrant.Status.ACTIVE
        assert grant_is_usable(new)
    holder_email = next(m for m in mailoutbox if m.to == [old.holder.email])
    assert "Your renewal continues the same access" in holder_email.body
    assert ict.email not in [m.to[0] for m in mailoutbox]  # nothing to withdraw


@pytest.mark.django_db
def test_a_renewal_on_a_new_pc_or_starting_later_waits_for_ict():
    with time_machine.travel(noon_in_london(TODAY), tick=False):
        old = _old_active_tier_grant()
        case = grant_renewal_start(grant=old, actor=old.holder)
        BusinessCase.objects.filter(pk=case.pk).update(pc_choice=BusinessCase.PcChoice.NEW)
        case.refresh_from_db()
        later = OLD_END + datetime.timedelta(days=20)
        new = _approve(case, start=later)
    assert new.status == AccessGrant.Status.AWAITING_PROVISIONING
    assert new.provisioned_at is None
    assert new.start_date == later  # the requested start, being later than the old end


@pytest.mark.django_db
def test_a_passive_renewal_with_the_same_sites_continues_without_a_gap():
    with time_machine.travel(noon_in_london(TODAY), tick=False):
        old = AccessGrantFactory(
            provisioned=True,
            business_case__start_date=datetime.date(2026, 1, 1),
            business_case__end_date=OLD_END,
        )
        case = grant_renewal_start(grant=old, actor=old.holder)
        new = _approve(case)
    assert new.status == AccessGrant.Status.ACTIVE
    assert new.start_date == OLD_END + datetime.timedelta(days=1)
    event = AuditEvent.objects.filter(action="grant.created", object_id=str(new.pk)).get()
    assert event.changes["continues_without_reprovisioning"] is True


@pytest.mark.django_db
def test_letting_access_lapse_asks_first_and_withdraws_a_renewal_under_way(client):
    from approvals.tests.factories import requester_and_director, submitted_case

    requester, director = requester_and_director()
    grant = AccessGrantFactory(business_case__requester=requester, provisioned=True)
    renewal = submitted_case(requester=requester, renewal_of=grant)
    client.force_login(requester)
    url = reverse("access_requests:grant-lapse", args=[grant.pk])
    page = client.get(url).content.decode()
    assert "Are you sure you want to let this access lapse?" in page
    assert f"{renewal.reference}, will be withdrawn" in page
    grant.refresh_from_db()
    assert grant.lapse_chosen_at is None  # opening the page changes nothing
    response = client.post(url, follow=True)
    assert "We will not remind you again" in response.content.decode()
    renewal.refresh_from_db()
    grant.refresh_from_db()
    assert renewal.status == BusinessCase.Status.WITHDRAWN
    assert grant.lapse_chosen_at is not None
    assert renewal.approval_requests.get(approver=director).status == "superseded"


@pytest.mark.django_db
def test_renewing_access_set_to_lapse_says_so_and_takes_the_lapse_back(client):
    grant = AccessGrantFactory(provisioned=True, lapse_chosen_at=timezone.now())
    with time_machine.travel(grant.end_date - datetime.timedelta(days=10)):
        client.force_login(grant.holder)
        url = reverse("access_requests:grant-renew", args=[grant.pk])
        page = client.get(url).content.decode()
        assert "You chose to let this access lapse" in page
        assert "Starting a renewal takes that back" in page
        client.post(url)
    grant.refresh_from_db()
    assert grant.lapse_chosen_at is None
    assert BusinessCase.objects.filter(renewal_of=grant, status="draft").count() == 1
    from audit.models import AuditEvent

    assert (
        AuditEvent.objects.filter(action="grant.lapse_undone", object_id=str(grant.pk)).count() == 1
    )


@pytest.mark.django_db
def test_the_give_up_page_says_the_renewal_under_way_will_be_withdrawn(client):
    from approvals.tests.factories import requester_and_director, submitted_case

    requester, _director = requester_and_director()
    grant = AccessGrantFactory(business_case__requester=requester, provisioned=True)
    renewal = submitted_case(requester=requester, renewal_of=grant)
    client.force_login(requester)
    page = client.get(reverse("access_requests:grant-surrender", args=[grant.pk])).content.decode()
    assert f"{renewal.reference}, will be withdrawn and your approver told" in page
