"""The register's prepared statements (`register_prepared`) find the same grants, in the same
order, page by page both ways, and the same count, as the queries built for the same
filters; other filters and sorts are left to those queries."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from access_requests.models import AccessGrant, AccessTier
from access_requests.tests.factories import SiteFactory
from oversight.pagination import PAGE_SIZE, keyset_page
from oversight.selectors import register as register_selectors
from oversight.selectors.register import RegisterFilters
from oversight.selectors.register_prepared import prepared_register
from people.tests.factories import UserFactory

from .factories import bulk_grants, grant_held

pytestmark = pytest.mark.django_db


@pytest.fixture
def register_rows():
    """Three pages of current grants, some of them in the active tier, some ended, and a
    holder the search finds with two pages of their own."""
    site = SiteFactory(name="X")
    approver = UserFactory()
    bulk_grants(70, holder=UserFactory(), approver=approver, site=site)
    bulk_grants(
        60,
        holder=UserFactory(profile__name="Quentin Patelworth"),
        approver=approver,
        site=site,
        prefix="FOUND",
    )
    for _ in range(3):
        grant_held(tier=AccessTier.ACTIVE, name="Ada Patel")
    grant_held(status=AccessGrant.Status.EXPIRED, name="Ended Patel")
    grant_held(status=AccessGrant.Status.REVOKED)


def _walk(filters: RegisterFilters, *, prepared: bool) -> tuple[list[int], list[int]]:
    """Every page's grant ids forwards from the first, then backwards from the last."""
    keys, descending = register_selectors.register_keys(filters.sort)
    if prepared:
        source = prepared_register(filters)
        assert source is not None
        kwargs = {"rows_from": source.rows}
        queryset = None
    else:
        filtered = register_selectors.register_filtered(filters)
        kwargs = {"keys_from": filtered}
        queryset = register_selectors.register_page_values(
            register_selectors.register_page_source(filtered, by_holder=False), by_holder=False
        )

    def page(**cursor):
        return keyset_page(
            queryset, keys=keys, descending=descending, page_size=PAGE_SIZE, **cursor, **kwargs
        )

    forwards, backwards = [], []
    current = page()
    forwards.append([row["id"] for row in current.rows])
    while current.next_cursor:
        current = page(after=current.next_cursor)
        forwards.append([row["id"] for row in current.rows])
    while current.previous_cursor:
        current = page(before=current.previous_cursor)
        backwards.append([row["id"] for row in current.rows])
    return forwards, backwards


@pytest.mark.parametrize(
    "filters",
    [
        RegisterFilters(),
        RegisterFilters(sort="-end_date"),
        RegisterFilters(status="all"),
        RegisterFilters(status=AccessGrant.Status.EXPIRED),
        RegisterFilters(tier=AccessTier.ACTIVE),
        RegisterFilters(tier=AccessTier.PASSIVE, sort="-end_date"),
        RegisterFilters(search="patel"),
        RegisterFilters(search="Patel", status="all", sort="-end_date"),
        RegisterFilters(search="Patel", tier=AccessTier.ACTIVE),
        RegisterFilters(search="nobody matches this"),
    ],
    ids=repr,
)
def test_the_prepared_pages_and_count_are_the_built_ones(register_rows, filters):
    forwards, backwards = _walk(filters, prepared=True)
    assert (forwards, backwards) == _walk(filters, prepared=False)
    assert len(forwards) >= 1

    cap = register_selectors.count_cap(filters)
    counted = register_selectors.count_capped(register_selectors.register_filtered(filters), cap)
    assert prepared_register(filters).count(cap) == counted
    assert prepared_register(filters).count(3) == min(counted, 4)


def test_other_filters_and_sorts_are_built_for_the_request(register_rows):
    site = SiteFactory(name="Y")
    for filters in [
        RegisterFilters(site=site),
        RegisterFilters(approver=UserFactory()),
        RegisterFilters(expiring_within_days=30),
        RegisterFilters(sort="holder"),
        RegisterFilters(search="Patel", sort="-holder"),
        RegisterFilters(search="FOUND-000001"),  # a reference
        RegisterFilters(search="Patel 2"),  # digits: references too
    ]:
        assert prepared_register(filters) is None, filters


@pytest.mark.parametrize(
    "filters",
    [
        RegisterFilters(search="Patel"),
        RegisterFilters(search=" patel ", status="all", sort="-end_date"),
        RegisterFilters(search="Patel", tier=AccessTier.ACTIVE),
    ],
    ids=repr,
)
def test_a_search_of_too_many_people_is_prepared_with_its_text(register_rows, monkeypatch, filters):
    """Past `SEARCH_ID_LIMIT` people, the statement takes the text and joins: the same pages
    both ways and the same count as the query built for the request."""
    from oversight.selectors import search

    cache.clear()
    monkeypatch.setattr(search, "SEARCH_ID_LIMIT", 2)
    prepared = prepared_register(filters)
    assert prepared.shape.holders == "named" and prepared.holders == filters.search.strip()
    # Remembered for a minute: the next page joins at once, without looking people up.
    assert cache.get(search._many_people_key("Patel"))

    forwards, backwards = _walk(filters, prepared=True)
    assert (forwards, backwards) == _walk(filters, prepared=False)
    assert len(forwards) >= 1
    cap = register_selectors.count_cap(filters)
    counted = register_selectors.count_capped(register_selectors.register_filtered(filters), cap)
    assert prepared.count(cap) == counted
    assert prepared.count(3) == min(counted, 4)


@pytest.mark.django_db(transaction=True)
def test_a_search_of_too_many_people_is_planned_without_parallel_workers(monkeypatch):
    """The generic plan of a common name's page cannot know how many people the text
    matches; with parallel workers cheap, as here, it would start them for every page."""
    from oversight.selectors import search

    grant_held(name="Ada Patel")
    cache.clear()
    monkeypatch.setattr(search, "SEARCH_ID_LIMIT", 0)
    with connection.cursor() as cursor:
        for setting in PARALLEL_FOR_NOTHING:
            cursor.execute(f"SET {setting}")
    try:
        prepared = prepared_register(RegisterFilters(search="Patel"))
        assert len(prepared.rows(None, descending=False)) == 1
        assert prepared.count(500) == 1
        with connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            plans = []
            for name, argument in [
                ("register_current_anytier_named_first_asc", "'Patel'"),
                ("register_current_anytier_named_first_asc_count_500", "'Patel'"),
            ]:
                cursor.execute(f"EXPLAIN EXECUTE {name}({argument})")
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    finally:
        connection.close()  # the settings and the statements go with the session
    for plan in plans:
        assert "people_personsearchtext" in plan
        assert "Gather" not in plan, plan


# Settings under which PostgreSQL plans parallel workers for any query that allows them.
PARALLEL_FOR_NOTHING = (
    "parallel_setup_cost = 0",
    "parallel_tuple_cost = 0",
    "min_parallel_table_scan_size = 0",
    "min_parallel_index_scan_size = 0",
)


@pytest.mark.parametrize("params", [{"tier": "active"}, {"q": "Patel"}, {"status": "all"}])
def test_a_prepared_page_makes_the_same_number_of_queries_on_any_page(
    client, auditor, register_rows, django_assert_max_num_queries, params
):
    url = reverse("oversight:register")
    # Prepared on this connection, the first page's statements and a cursor's (each kind of
    # page is its own statement, prepared by whichever test asks for it first).
    after = client.get(url, params).context["page"].next_cursor
    if after is not None:
        client.get(url, {**params, "after": after})
    cache.clear()
    with django_assert_max_num_queries(20) as first:
        response = client.get(url, params)
    assert response.status_code == 200
    assert response.context["page"].next_cursor == after
    if after is None:
        return
    cache.clear()
    with django_assert_max_num_queries(len(first)):
        response = client.get(url, {**params, "after": after})
    assert response.status_code == 200


@pytest.mark.parametrize("limit", [2000, 0], ids=["ids", "named"])
def test_a_searched_percent_underscore_or_backslash_is_matched_as_itself(monkeypatch, limit):
    """`LIKE`'s wildcards in a search are the characters themselves, whether the people
    found go to the grants as ids or the text does."""
    from oversight.selectors import search

    cache.clear()
    monkeypatch.setattr(search, "SEARCH_ID_LIMIT", limit)
    wanted = {
        "o_b": grant_held(email="bob_o_brien@example.gov.uk"),
        "n%l": grant_held(name="Ann%Lee"),
        "a\\b": grant_held(name="Pat a\\b"),
    }
    grant_held(email="bobxoxbrien@example.gov.uk")
    grant_held(name="Ann Lee")
    grant_held(name="Pat ab")
    for text, grant in wanted.items():
        filters = RegisterFilters(search=text)
        prepared = prepared_register(filters)
        assert prepared.shape.holders == ("named" if limit == 0 else "holders")
        found, _ = _walk(filters, prepared=True)
        assert found == [[grant.pk]], text
