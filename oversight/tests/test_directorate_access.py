import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from access_requests.models import AccessGrant, AccessTier, SafeUseReminder
from access_requests.tests.factories import SiteFactory
from conftest import browser_sign_in
from people.models import Role
from people.tests.factories import BusinessUnitFactory, DirectorateFactory, UserFactory, director_of

from .factories import grant_held

URL = reverse("oversight:directorate-access")


@pytest.fixture
def directorate():
    return DirectorateFactory(name="Communications")


@pytest.fixture
def director(directorate):
    return director_of(directorate, profile__name="Dana Director")


@pytest.fixture
def unit(directorate):
    return BusinessUnitFactory(directorate=directorate, name="Press Office")


def references(response) -> list[str]:
    return [row.grant.reference for row in response.context["page"].rows]


@pytest.mark.django_db
def test_a_director_sees_the_current_access_of_their_people_and_nobody_elses(
    client, director, unit
):
    active = grant_held(unit=unit, name="Sam Staff", sites=[SiteFactory(name="Bluesky")])
    awaiting = grant_held(unit=unit, status=AccessGrant.Status.AWAITING_PROVISIONING)
    grant_held(unit=unit, status=AccessGrant.Status.EXPIRED)
    grant_held(unit=unit, status=AccessGrant.Status.REVOKED)
    elsewhere = grant_held(name="Someone Elsewhere")

    client.force_login(director)
    response = client.get(URL)

    assert response.status_code == 200
    assert sorted(references(response)) == sorted(
        [active.business_case.reference, awaiting.business_case.reference]
    )
    page = response.content.decode()
    assert "Access in Communications" in page
    assert "Sam Staff" in page and "Bluesky" in page and "Press Office" in page
    assert reverse("access_requests:grant-detail", args=[active.pk]) in page
    assert "Someone Elsewhere" not in page
    assert elsewhere.business_case.reference not in page


@pytest.mark.django_db
def test_the_grant_page_offers_the_director_revoke(client, director, unit):
    grant = grant_held(unit=unit)
    client.force_login(director)
    page = client.get(reverse("access_requests:grant-detail", args=[grant.pk])).content.decode()
    assert reverse("access_requests:grant-revoke", args=[grant.pk]) in page


@pytest.mark.django_db
def test_filters_by_tier_and_access_ending_in_30_days(client, director, unit):
    today = timezone.localdate()
    soon_active = grant_held(
        unit=unit, tier=AccessTier.ACTIVE, end=today + datetime.timedelta(days=20)
    )
    soon_passive = grant_held(unit=unit, end=today + datetime.timedelta(days=30))
    later_active = grant_held(
        unit=unit, tier=AccessTier.ACTIVE, end=today + datetime.timedelta(days=31)
    )
    client.force_login(director)

    response = client.get(URL, {"tier": AccessTier.ACTIVE})
    assert sorted(references(response)) == sorted(
        [soon_active.business_case.reference, later_active.business_case.reference]
    )
    response = client.get(URL, {"ending_soon": "on"})
    assert sorted(references(response)) == sorted(
        [soon_active.business_case.reference, soon_passive.business_case.reference]
    )
    assert "2 grants ending in the next 30 days" in response.content.decode()
    response = client.get(URL, {"ending_soon": "on", "tier": AccessTier.ACTIVE})
    assert references(response) == [soon_active.business_case.reference]


@pytest.mark.django_db
def test_a_bad_filter_value_gets_an_error_summary_not_a_500(client, director):
    client.force_login(director)
    response = client.get(URL, {"tier": "everything"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "govuk-error-summary" in page
    assert "Choose tier from the list" in page


@pytest.mark.django_db
def test_safe_use_shows_the_latest_answer_and_flags_an_overdue_one(client, director, unit):
    today = timezone.localdate()
    confirmed = grant_held(unit=unit, name="Confirmed Person", tier=AccessTier.ACTIVE)
    overdue = grant_held(unit=unit, name="Overdue Person", tier=AccessTier.ACTIVE)
    grant_held(unit=unit, name="Passive Person")
    SafeUseReminder.objects.create(
        grant=confirmed, period=1, confirm_by=today, confirmed_at=timezone.now()
    )
    SafeUseReminder.objects.create(
        grant=overdue,
        period=1,
        confirm_by=today - datetime.timedelta(days=100),
        confirmed_at=timezone.now(),
    )
    SafeUseReminder.objects.create(
        grant=overdue, period=2, confirm_by=today - datetime.timedelta(days=3)
    )

    client.force_login(director)
    rows = {row.grant.holder_name: row.safe_use for row in client.get(URL).context["page"].rows}
    assert rows["Confirmed Person"].text.startswith("Confirmed ")
    assert rows["Overdue Person"].overdue
    assert rows["Overdue Person"].text.startswith("Not confirmed (was due ")
    assert rows["Passive Person"].text == "Not needed (passive monitoring)"


@pytest.mark.django_db
def test_someone_who_moved_in_appears_for_their_new_director_only(client, director, unit):
    grant = grant_held(unit=unit, name="Mo Mover")
    other_directorate = DirectorateFactory(name="Border Policy")
    new_director = director_of(other_directorate)
    grant.holder.profile.business_unit = BusinessUnitFactory(directorate=other_directorate)
    grant.holder.profile.save()

    client.force_login(director)
    assert references(client.get(URL)) == []
    client.force_login(new_director)
    assert references(client.get(URL)) == [grant.business_case.reference]


@pytest.mark.django_db
def test_admins_and_auditors_choose_any_directorate(client, director, unit):
    grant_held(unit=unit, name="Sam Staff")
    other = DirectorateFactory(name="Border Policy")
    grant_held(unit=BusinessUnitFactory(directorate=other), name="Priya Patel")
    for role in (Role.ADMIN, Role.AUDITOR):
        client.force_login(UserFactory(role=role))
        page = client.get(URL, {"directorate": other.pk}).content.decode()
        assert "Priya Patel" in page and "Sam Staff" not in page
        assert 'name="directorate"' in page


@pytest.mark.django_db
def test_a_director_cannot_choose_another_directorate(client, director, unit):
    other = DirectorateFactory(name="Border Policy")
    grant_held(unit=BusinessUnitFactory(directorate=other), name="Priya Patel")
    client.force_login(director)
    response = client.get(URL, {"directorate": other.pk})
    assert "Priya Patel" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.STAFF, Role.ICT, Role.DIRECTOR])
def test_people_who_direct_nothing_may_not_see_it(client, role):
    client.force_login(UserFactory(role=role))  # a director role, but no directorate
    assert client.get(URL).status_code == 403


@pytest.mark.django_db
def test_a_director_who_has_left_sees_nothing(client, director, unit):
    grant_held(unit=unit)
    director.is_active = False
    director.save()
    client.force_login(director)
    assert client.get(URL).status_code in (302, 403)


@pytest.mark.django_db
def test_the_query_count_stays_the_same_as_the_directorate_grows(
    client, director, unit, django_assert_max_num_queries
):
    client.force_login(director)
    for _ in range(3):
        grant_held(unit=unit, tier=AccessTier.ACTIVE)
    client.get(URL)  # warm the per-process caches
    # Session, user, permissions, roles, the directorates, and the page with its count,
    # people, sites and safe-use reminders (one prepared statement).
    with django_assert_max_num_queries(6) as few:
        client.get(URL)
    for _ in range(52):
        grant_held(unit=unit, tier=AccessTier.ACTIVE)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL)
    assert len(response.context["page"].rows) == 50
    with django_assert_max_num_queries(len(few.captured_queries)):
        second = client.get(response.context["next_url"])
    assert len(second.context["page"].rows) == 5
    assert second.context["count"] == 55


@pytest.mark.django_db
def test_pages_of_fifty_with_next_and_previous(client, director, unit):
    for _ in range(55):
        grant_held(unit=unit)
    client.force_login(director)
    first = client.get(URL)
    assert len(first.context["page"].rows) == 50
    second = client.get(first.context["next_url"])
    assert len(second.context["page"].rows) == 5
    assert second.context["previous_url"]
    seen = references(first) + references(second)
    assert len(set(seen)) == 55


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_director_reviews_their_directorate_and_revokes_access_no_longer_needed(
    live_server, page, directorate, director, unit
):
    grant = grant_held(unit=unit, name="Sam Staff", sites=[SiteFactory(name="Bluesky")])
    grant_held(unit=unit, name="Ravi Staff", tier=AccessTier.ACTIVE)
    browser_sign_in(page, live_server, director)

    page.get_by_role("link", name="Your directorate").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access in Communications")
    rows = page.locator("#directorate-access tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Tier").select_option(label="Passive monitoring")
    page.get_by_role("button", name="Show access").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Sam Staff")
    expect(rows.first).to_contain_text("Bluesky")

    rows.first.get_by_role("link").click()
    page.get_by_role("link", name="Revoke this access").click()
    page.get_by_label("Why are you revoking this access?").fill("No longer in the press team")
    page.get_by_role("button", name="Revoke access").click()
    expect(page.locator(".govuk-notification-banner, .govuk-panel").first).to_be_visible()

    page.goto(live_server.url + URL)
    expect(page.locator("#directorate-access tbody tr")).to_have_count(1)
    expect(page.locator("#directorate-access")).not_to_contain_text("Sam Staff")
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.REVOKED
