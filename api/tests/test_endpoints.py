"""What the read API returns: the register's grants with its filters and keyset pages,
business cases with their free text only for the cases:reasons scope, and the audit feed."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier, SiteIdentity
from access_requests.tests.factories import BusinessCaseFactory, SiteFactory
from api.models import Scope
from audit.models import AuditEvent
from audit.services import record
from oversight.tests.factories import grant_held
from people.tests.factories import BusinessUnitFactory, DirectorateFactory, UserFactory

from .factories import bearer, token_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def register_reader():
    return bearer(token_with(Scope.REGISTER_READ)[1])


def _get(client, name, headers, params=None):
    response = client.get(reverse(name), params or {}, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_grant_has_its_holder_sites_tier_dates_status_approver_and_paying_unit(
    client, register_reader
):
    unit = BusinessUnitFactory(name="Digital", cost_centre="CC100")
    approver = UserFactory(profile__name="Pat Approver", email="pat@example.gov.uk")
    grant = grant_held(
        unit=unit,
        name="Sam Holder",
        email="sam@example.gov.uk",
        sites=[SiteFactory(name="X"), SiteFactory(name="LinkedIn")],
        tier=AccessTier.ACTIVE,
        approver=approver,
        paying_business_unit=unit,
    )
    [item] = _get(client, "api-v1:grants", register_reader)["items"]
    assert item["id"] == grant.pk
    assert item["reference"] == grant.business_case.reference
    assert item["holder"] == {
        "id": grant.holder_id,
        "name": "Sam Holder",
        "email": "sam@example.gov.uk",
        "directorate": unit.directorate.name,
        "business_unit": "Digital",
    }
    assert item["sites"] == ["LinkedIn", "X"]
    assert (item["tier"], item["status"]) == ("active", "active")
    assert item["start_date"] == grant.start_date.isoformat()
    assert item["end_date"] == grant.end_date.isoformat()
    assert item["approved_by"] == {
        "id": approver.pk,
        "name": "Pat Approver",
        "email": "pat@example.gov.uk",
    }
    assert item["paying_unit"] == {"id": unit.pk, "name": "Digital", "cost_centre": "CC100"}


def test_the_register_filters_combine_as_on_the_page(client, register_reader):
    directorate = DirectorateFactory()
    unit = BusinessUnitFactory(directorate=directorate)
    x = SiteFactory(name="X")
    approver = UserFactory()
    soon = timezone.localdate() + datetime.timedelta(days=20)
    target = grant_held(unit=unit, sites=[x], tier=AccessTier.ACTIVE, approver=approver, end=soon)
    grant_held(unit=unit, sites=[x], tier=AccessTier.PASSIVE, approver=approver, end=soon)
    grant_held(sites=[x], tier=AccessTier.ACTIVE, approver=approver, end=soon)
    grant_held(unit=unit, sites=[x], tier=AccessTier.ACTIVE, approver=approver, status="revoked")
    filters = {
        "organisation": directorate.organisation_id,
        "directorate": directorate.pk,
        "business_unit": unit.pk,
        "site": x.pk,
        "tier": "active",
        "approver": approver.pk,
        "expiring_within_days": 30,
        "status": "active",
        "end_to": soon.isoformat(),
    }
    items = _get(client, "api-v1:grants", register_reader, filters)["items"]
    assert [item["id"] for item in items] == [target.pk]
    everything = _get(client, "api-v1:grants", register_reader, {"status": "all"})["items"]
    assert len(everything) == 4


@pytest.mark.parametrize("sort", ["end_date", "-end_date", "holder", "-holder"])
def test_next_links_walk_every_grant_once(client, register_reader, sort):
    today = timezone.localdate()
    grants = [grant_held(end=today + datetime.timedelta(days=n % 3 + 1)) for n in range(7)]
    seen, url, params = [], reverse("api-v1:grants"), {"limit": 3, "sort": sort}
    while url:
        response = client.get(url, params, **register_reader)
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        url, params = page["next"], None
        assert url is None or url.startswith("http://testserver/api/v1/grants/?")
    assert sorted(seen) == sorted(g.pk for g in grants) and len(seen) == 7


def test_a_cursor_the_api_did_not_write_is_404(client, register_reader):
    response = client.get(reverse("api-v1:grants"), {"after": "not-a-cursor"}, **register_reader)
    assert response.status_code == 404


def test_the_register_page_costs_the_same_queries_however_many_grants(
    client, register_reader, django_assert_max_num_queries
):
    for _ in range(30):
        grant_held(paying_business_unit=BusinessUnitFactory())
    # token (lock, update, chain lock, head lock, event, head), grants, latest reviews,
    # people, sites, units
    with django_assert_max_num_queries(13):
        assert len(_get(client, "api-v1:grants", register_reader)["items"]) == 30


def _case_with_reasons():
    case = BusinessCaseFactory(submitted=True, purpose="Watch the debate", requester=UserFactory())
    SiteIdentity.objects.filter(business_case=case).update(
        uses_pseudonym=True, pseudonym_reason="Safety of my family"
    )
    BusinessCaseFactory()  # a draft: its writer's own
    return case


def test_business_cases_leave_out_free_text_without_the_reasons_scope(client, register_reader):
    case = _case_with_reasons()
    [item] = _get(client, "api-v1:business-cases", register_reader)["items"]
    assert item["reference"] == case.reference and item["status"] == "submitted"
    assert item["sites"][0]["uses_pseudonym"] is True
    body = str(item)
    assert "Safety of my family" not in body and "Watch the debate" not in body
    assert item["sites"][0]["pseudonym_reason"] is None and item["purpose"] is None


def test_business_cases_include_free_text_with_the_reasons_scope(client):
    case = _case_with_reasons()
    headers = bearer(token_with(Scope.REGISTER_READ, Scope.CASE_REASONS)[1])
    [item] = _get(client, "api-v1:business-cases", headers)["items"]
    assert item["id"] == case.pk and item["purpose"] == "Watch the debate"
    assert item["sites"][0]["pseudonym_reason"] == "Safety of my family"


def test_the_audit_feed_serves_events_in_id_order_with_their_chain(client):
    headers = bearer(token_with(Scope.AUDIT_READ)[1])
    first = AuditEvent.objects.order_by("id").last().pk  # the token's creation
    for n in range(5):
        record(actor=None, action=f"test.event{n}")
    page = _get(client, "api-v1:audit-events", headers, {"after_id": first, "limit": 3})
    ids = [item["id"] for item in page["items"]]
    assert ids == sorted(ids) and len(ids) == 3 and ids[0] > first
    assert f"after_id={ids[-1]}&" in page["next"]
    rest = client.get(page["next"], **headers).json()
    items = page["items"] + rest["items"]
    # The token's first use from this address is itself an event, after those five.
    assert [i["action"] for i in items][:5] == [f"test.event{n}" for n in range(5)]
    for before, after in zip(items, items[1:], strict=False):
        assert after["previous_hash"] == before["hash"]
    stored = AuditEvent.objects.get(pk=items[0]["id"])
    assert (
        items[0]["hash"] == stored.hash
        and items[0]["occurred_at"] == stored.occurred_at.isoformat()
    )
    nothing_new = client.get(rest["next"], **headers).json()
    assert nothing_new["items"] == [] and nothing_new["next"] == rest["next"]


def test_the_audit_feed_takes_the_trails_filters(client):
    headers = bearer(token_with(Scope.AUDIT_READ)[1])
    record(actor=None, action="test.wanted")
    record(actor=None, action="test.other")
    items = _get(client, "api-v1:audit-events", headers, {"action": "test.wanted"})["items"]
    assert [item["action"] for item in items] == ["test.wanted"]


def test_grants_filtered_by_unknown_ids_are_empty_not_an_error(client, register_reader):
    grant_held()
    for name in ("site", "organisation", "directorate", "business_unit", "approver"):
        assert _get(client, "api-v1:grants", register_reader, {name: 999999})["items"] == []
    assert AccessGrant.objects.count() == 1


def test_a_grant_says_who_agreed_to_its_cost_and_its_latest_review(client, register_reader):
    from oversight.tests.test_register_accountability import (
        agreed_by_budget_holder,
        director_holds_the_budget,
    )
    from reviews import services as reviews

    agreed = agreed_by_budget_holder()
    shortcut = director_holds_the_budget()
    directorate = agreed.holder.profile.business_unit.directorate
    director = directorate.director
    review = reviews.access_review_start(actor=director, directorates=[directorate])
    reviews.review_item_decide(item=review.items.get(grant=agreed), actor=director, decision="keep")
    today = timezone.localdate()

    items = {i["id"]: i for i in _get(client, "api-v1:grants", register_reader)["items"]}

    bea = items[agreed.pk]["cost_agreed"]
    assert bea["agreed_by"]["name"] == "Bea Budget"
    assert bea["agreed_on"] == today.isoformat()
    assert bea["counted_as_director"] is False
    assert bea["text"] == f"Agreed by Bea Budget on {today:%-d %B %Y}"
    director_pays = items[shortcut.pk]["cost_agreed"]
    assert director_pays["counted_as_director"] is True
    assert director_pays["agreed_by"] is None
    assert "the director is the budget holder" in director_pays["text"]
    kept = items[agreed.pk]["latest_review"]
    assert kept["review_id"] == review.pk
    assert (kept["outcome"], kept["decided_by"]["id"]) == ("Kept", director.pk)
    assert kept["decided_on"] == today.isoformat()
    assert items[shortcut.pk]["latest_review"] is None
