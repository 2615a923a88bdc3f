import csv
import datetime
import io
import re
import tracemalloc

import pytest
from django.core.cache import cache
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier
from access_requests.tests.factories import SiteFactory
from oversight.selectors import register as register_selectors, search
from people.models import Role, User
from people.tests.factories import BusinessUnitFactory, DirectorateFactory, UserFactory

from .factories import bulk_grants, grant_held

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today


def references_on_page(response) -> list[str]:
    return [row.reference for row in response.context["page"].rows]


def csv_rows(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


OVERSIGHT_PAGES = [
    "oversight:register",
    "oversight:register-csv",
    "oversight:audit-trail",
    "oversight:audit-trail-csv",
    "oversight:reports",
]


@pytest.mark.parametrize("role", [Role.STAFF, Role.DIRECTOR, Role.ICT])
def test_people_who_are_not_admins_or_auditors_are_refused_every_oversight_page(client, role):
    grant = grant_held()
    client.force_login(UserFactory(role=role))
    urls = [reverse(name) for name in OVERSIGHT_PAGES]
    urls.append(reverse("oversight:case-detail", args=[grant.business_case_id]))
    for url in urls:
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR])
def test_admins_and_auditors_see_every_oversight_page(client, role):
    grant = grant_held(name="Robin Holder")
    client.force_login(UserFactory(role=role))
    for name in OVERSIGHT_PAGES:
        assert client.get(reverse(name)).status_code == 200, name
    response = client.get(reverse("oversight:case-detail", args=[grant.business_case_id]))
    assert response.status_code == 200
    assert "Robin Holder" in response.content.decode()


def test_the_register_shows_current_grants_by_default_with_every_column(client, auditor):
    unit = BusinessUnitFactory(name="Visa Policy Unit", directorate__name="Borders Directorate")
    approver = UserFactory(profile__name="Dana Director")
    active = grant_held(
        unit=unit,
        name="Alex Active",
        approver=approver,
        sites=[SiteFactory(name="LinkedIn"), SiteFactory(name="Mastodon")],
        tier=AccessTier.ACTIVE,
        start=datetime.date(2026, 1, 5),
        end=datetime.date(2026, 6, 30),
    )
    awaiting = grant_held(name="Ari Awaiting", status=AccessGrant.Status.AWAITING_PROVISIONING)
    expired = grant_held(name="Ed Expired", status=AccessGrant.Status.EXPIRED)
    revoked = grant_held(name="Rae Revoked", status=AccessGrant.Status.REVOKED)

    response = client.get(reverse("oversight:register"))
    shown = set(references_on_page(response))
    assert shown == {active.business_case.reference, awaiting.business_case.reference}
    html = response.content.decode()
    for text in [
        "Alex Active",
        "Borders Directorate",
        "Visa Policy Unit",
        "LinkedIn, Mastodon",
        "Active participation",
        "5 Jan 2026",
        "30 Jun 2026",
        "Dana Director",
        "Active",
        "Awaiting provisioning",
    ]:
        assert text in html
    assert "Ed Expired" not in html
    assert reverse("oversight:case-detail", args=[active.business_case_id]) in html

    everything = client.get(reverse("oversight:register"), {"status": "all"})
    assert set(references_on_page(everything)) == {
        g.business_case.reference for g in (active, awaiting, expired, revoked)
    }
    only_revoked = client.get(reverse("oversight:register"), {"status": "revoked"})
    assert references_on_page(only_revoked) == [revoked.business_case.reference]


def test_each_person_is_shown_by_the_name_they_use_and_a_deputy_for_their_director(client, auditor):
    """Names follow the portal's rule (commonly used name, else full name, else email), and
    a deputy's approval says for whom they approved."""
    director = UserFactory(profile__name="Dana Director")
    deputy = UserFactory(profile__name="Dev Deputy")
    by_deputy = grant_held(name="Sam Staff", approver=deputy, approved_on_behalf_of=director)
    no_common_name = grant_held(approver=director)
    no_common_name.holder.profile.commonly_used_name = ""
    no_common_name.holder.profile.save()
    User.objects.filter(pk=no_common_name.holder_id).update(first_name="Kim", last_name="Full")
    no_name_at_all = grant_held(email="nameless@example.gov.uk", approver=director)
    no_name_at_all.holder.profile.commonly_used_name = ""
    no_name_at_all.holder.profile.save()
    User.objects.filter(pk=no_name_at_all.holder_id).update(first_name="", last_name="")

    response = client.get(reverse("oversight:register"))
    rows = {row.reference: row for row in response.context["page"].rows}
    assert rows[by_deputy.business_case.reference].holder_name == "Sam Staff"
    assert rows[by_deputy.business_case.reference].approver == "Dev Deputy for Dana Director"
    assert rows[no_common_name.business_case.reference].holder_name == "Kim Full"
    assert rows[no_name_at_all.business_case.reference].holder_name == "nameless@example.gov.uk"
    html = response.content.decode()
    assert "Dev Deputy for Dana Director" in html
    assert "Kim Full" in html


def test_filters_combine(client, auditor):
    """Every filter narrows the list, and together they find exactly the one grant."""
    directorate = DirectorateFactory(name="Communications")
    unit = BusinessUnitFactory(directorate=directorate, name="Digital")
    other_unit = BusinessUnitFactory(directorate=directorate, name="Press")
    x = SiteFactory(name="X")
    linkedin = SiteFactory(name="LinkedIn")
    approver = UserFactory(profile__name="Pat Approver")
    today = timezone.localdate()
    soon = today + datetime.timedelta(days=20)
    later = today + datetime.timedelta(days=200)
    target = grant_held(
        unit=unit, sites=[x], tier=AccessTier.ACTIVE, approver=approver, end=soon, name="Target"
    )
    near_misses = [
        grant_held(unit=other_unit, sites=[x], tier=AccessTier.ACTIVE, approver=approver, end=soon),
        grant_held(
            unit=unit, sites=[linkedin], tier=AccessTier.ACTIVE, approver=approver, end=soon
        ),
        grant_held(unit=unit, sites=[x], tier=AccessTier.PASSIVE, approver=approver, end=soon),
        grant_held(unit=unit, sites=[x], tier=AccessTier.ACTIVE, end=soon),
        grant_held(unit=unit, sites=[x], tier=AccessTier.ACTIVE, approver=approver, end=later),
        grant_held(
            unit=unit,
            sites=[x],
            tier=AccessTier.ACTIVE,
            approver=approver,
            end=soon,
            status=AccessGrant.Status.REVOKED,
        ),
        grant_held(sites=[x], tier=AccessTier.ACTIVE, approver=approver, end=soon),
    ]
    filters = {
        "organisation": directorate.organisation_id,
        "directorate": directorate.pk,
        "business_unit": unit.pk,
        "site": x.pk,
        "tier": AccessTier.ACTIVE,
        "approver": approver.pk,
        "expiring_within_days": 30,
        "status": "active",
    }
    response = client.get(reverse("oversight:register"), filters)
    assert response.status_code == 200
    assert references_on_page(response) == [target.business_case.reference]
    # Each filter on its own still lets some near misses through.
    for name, value in filters.items():
        alone = client.get(reverse("oversight:register"), {name: value})
        assert len(references_on_page(alone)) > 1, name
    assert len(near_misses) == 7


def test_date_ranges_filter_on_start_and_end(client, auditor):
    early = grant_held(start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31))
    late = grant_held(start=datetime.date(2026, 3, 1), end=datetime.date(2027, 1, 31))
    response = client.get(
        reverse("oversight:register"),
        {
            "status": "all",
            "start_from_0": "15",
            "start_from_1": "2",
            "start_from_2": "2026",
            "end_to_0": "31",
            "end_to_1": "1",
            "end_to_2": "2027",
        },
    )
    assert references_on_page(response) == [late.business_case.reference]
    response = client.get(
        reverse("oversight:register"),
        {"status": "all", "end_to_0": "31", "end_to_1": "12", "end_to_2": "2026"},
    )
    assert references_on_page(response) == [early.business_case.reference]


def test_an_impossible_date_range_shows_a_govuk_error(client, auditor):
    response = client.get(
        reverse("oversight:register"),
        {
            "end_from_0": "1",
            "end_from_1": "6",
            "end_from_2": "2026",
            "end_to_0": "1",
            "end_to_1": "1",
            "end_to_2": "2026",
        },
    )
    html = response.content.decode()
    assert "govuk-error-summary" in html
    assert "Ends on or before must be the same as or after the start" in html
    assert "<title>Error: Register" in html


def test_free_text_search_finds_holders_by_name_email_and_reference(client, auditor):
    by_name = grant_held(name="Morgan Featherstone")
    by_email = grant_held(email="unique.person@example.gov.uk")
    other = grant_held(name="Someone Else")
    for text, expected in [
        ("featherSTONE", by_name),
        ("unique.person", by_email),
        (other.business_case.reference.lower(), other),
    ]:
        response = client.get(reverse("oversight:register"), {"q": text})
        assert references_on_page(response) == [expected.business_case.reference], text


def test_sorting_by_holder_and_by_end_date(client, auditor):
    today = timezone.localdate()
    grant_held(name="Charlie", end=today + datetime.timedelta(days=5))
    grant_held(name="Alice", end=today + datetime.timedelta(days=50))
    grant_held(name="Bob", end=today + datetime.timedelta(days=20))

    def holders(sort):
        response = client.get(reverse("oversight:register"), {"sort": sort})
        return [row.holder_name for row in response.context["page"].rows]

    assert holders("end_date") == ["Charlie", "Bob", "Alice"]
    assert holders("-end_date") == ["Alice", "Bob", "Charlie"]
    assert holders("holder") == ["Alice", "Bob", "Charlie"]
    assert holders("-holder") == ["Charlie", "Bob", "Alice"]


@pytest.mark.parametrize("sort", ["end_date", "-end_date", "holder", "-holder"])
def test_next_and_previous_walk_every_grant_once_keeping_the_filters(client, auditor, sort):
    holder = UserFactory(profile__name="Bulk Holder")
    bulk_grants(120, holder=holder, approver=UserFactory(), site=SiteFactory(name="X"))
    grant_held(name="Not in the filter", tier=AccessTier.ACTIVE)
    url = reverse("oversight:register")
    params = {"tier": AccessTier.PASSIVE, "sort": sort}
    response = client.get(url, params)
    pages = [references_on_page(response)]
    while response.context["next_url"]:
        assert "tier=passive" in response.context["next_url"]
        assert f"sort={sort.replace('-', '-')}" in response.context["next_url"]
        response = client.get(response.context["next_url"])
        pages.append(references_on_page(response))
    assert [len(p) for p in pages] == [50, 50, 20]
    seen = [ref for page in pages for ref in page]
    assert len(set(seen)) == 120
    # And back again.
    back = client.get(response.context["previous_url"])
    assert references_on_page(back) == pages[1]
    back = client.get(back.context["previous_url"])
    assert references_on_page(back) == pages[0]
    assert back.context["previous_url"] is None


def test_a_broken_page_link_is_not_found(client, auditor):
    response = client.get(reverse("oversight:register"), {"after": "not-a-cursor!"})
    assert response.status_code == 404


def _register_queries(client, django_assert_max_num_queries, limit, **params):
    cache.clear()  # measure the worst case: the filter form drawn afresh
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(reverse("oversight:register"), params)
    assert response.status_code == 200
    return response, len(captured)


def test_the_register_makes_the_same_number_of_queries_however_many_rows(
    client, auditor, django_assert_max_num_queries
):
    site = SiteFactory(name="X")
    for _ in range(3):
        grant_held(sites=[site, SiteFactory(name="Y")])
    _, few = _register_queries(client, django_assert_max_num_queries, 20)

    bulk_grants(400, holder=UserFactory(), approver=UserFactory(), site=site)
    for _ in range(5):
        grant_held(sites=[site], approver=UserFactory())
    response, many = _register_queries(client, django_assert_max_num_queries, few)
    assert len(response.context["page"].rows) == 50
    # A deep page (page 8) costs the same as the first.
    for _ in range(7):
        after = response.context["page"].next_cursor
        response = client.get(reverse("oversight:register"), {"after": after})
    _, deep = _register_queries(
        client, django_assert_max_num_queries, few, after=response.context["page"].next_cursor
    )
    assert few == many == deep


def test_register_rows_show_names_as_text_never_as_markup(client, auditor):
    grant_held(
        name='<script>alert("x")</script>',
        unit=BusinessUnitFactory(name="R&D <b>", directorate__name="Dir 'A'"),
        sites=[SiteFactory(name="<img src=x>")],
    )
    html = client.get(reverse("oversight:register")).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "R&amp;D &lt;b&gt;" in html
    assert "Dir &#x27;A&#x27;" in html
    assert "&lt;img src=x&gt;" in html
    assert "<script>alert" not in html
    assert "<img src=x>" not in html


def _count_queries(client, params) -> tuple[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("oversight:register"), params).content.decode()
    counted = sum(_counts(query["sql"]) for query in queries.captured_queries)
    return html.split('id="result-count">')[1].split(".")[0].strip(), counted


def _counts(sql: str) -> bool:
    """A query that counts: a `COUNT(` of its own or the run of a prepared count
    (`register_prepared`), not the statement's preparation."""
    if sql.startswith("PREPARE "):
        return False
    return "COUNT(" in sql or re.search(r"EXECUTE register_\w+_count_\d+", sql) is not None


def test_more_than_the_cap_is_counted_once_a_minute_and_an_exact_count_every_time(
    client, auditor, monkeypatch
):
    # A cap of 3 (a constant, not a function): a handful of grants passes it.
    monkeypatch.setattr(register_selectors, "COUNT_CAP", 3)
    for _ in range(5):
        grant_held(tier=AccessTier.PASSIVE)
    grant_held(tier=AccessTier.ACTIVE)

    assert _count_queries(client, {}) == ("More than 3 grants match", 1)
    # The same filters again (a later page too): "more than" is remembered, not recounted.
    assert _count_queries(client, {}) == ("More than 3 grants match", 0)
    assert _count_queries(client, {"sort": "holder"}) == ("More than 3 grants match", 0)
    # An exact count is counted on every view, so it is never out of date.
    assert _count_queries(client, {"tier": "active"}) == ("1 grant matches", 1)
    grant_held(tier=AccessTier.ACTIVE)
    assert _count_queries(client, {"tier": "active"}) == ("2 grants match", 1)


def test_the_csv_has_exactly_the_rows_the_filtered_pages_show(client, auditor):
    unit = BusinessUnitFactory(name="Digital")
    for n in range(60):
        grant_held(unit=unit if n % 2 else None, name=f"Person {n:02d}")
    grant_held(unit=unit, name="Gone", status=AccessGrant.Status.EXPIRED)
    params = {"business_unit": unit.pk, "sort": "holder"}
    response = client.get(reverse("oversight:register"), params)
    on_pages = references_on_page(response)
    while response.context["next_url"]:
        response = client.get(response.context["next_url"])
        on_pages += references_on_page(response)
    assert len(on_pages) == 30

    export = client.get(reverse("oversight:register-csv"), params)
    assert export["Content-Type"] == "text/csv"
    assert export["Content-Disposition"].startswith('attachment; filename="register-')
    rows = csv_rows(export)
    assert rows[0][:3] == ["Reference", "Holder", "Holder email"]
    assert [row[0] for row in rows[1:]] == on_pages


def test_csv_rows_hold_the_same_figures_as_the_page_with_iso_dates(client, auditor):
    grant = grant_held(
        name="Sam Holder",
        unit=BusinessUnitFactory(name="Unit A", directorate__name="Dir A"),
        approver=UserFactory(profile__name="Jo Approver"),
        sites=[SiteFactory(name="LinkedIn"), SiteFactory(name="Bluesky")],
        start=datetime.date(2026, 2, 1),
        end=datetime.date(2026, 7, 31),
    )
    rows = csv_rows(client.get(reverse("oversight:register-csv")))
    assert rows[1] == [
        grant.business_case.reference,
        "Sam Holder",
        grant.holder.email,
        grant.holder.profile.business_unit.directorate.organisation.name,
        "Dir A",
        "Unit A",
        "Bluesky; LinkedIn",
        "Passive monitoring",
        "2026-02-01",
        "2026-07-31",
        "Jo Approver",
        "",
        "Active",
        "No cost (passive monitoring)",
        "",
        "",
        "Not in an access review",
        "",
        "",
    ]


def test_the_csv_neutralises_spreadsheet_formulas(client, auditor):
    grant_held(name='=HYPERLINK("http://evil.example","click")')
    grant_held(name="+cmd|' /C calc'!A0")
    grant_held(name="-2+3")
    grant_held(name="@SUM(A1)")
    grant_held(name="\tTabbed")
    rows = csv_rows(client.get(reverse("oversight:register-csv"), {"sort": "holder"}))
    names = sorted(row[1] for row in rows[1:])
    assert names == sorted(
        [
            '\'=HYPERLINK("http://evil.example","click")',
            "'+cmd|' /C calc'!A0",
            "'-2+3",
            "'@SUM(A1)",
            "'\tTabbed",
        ]
    )


def test_the_csv_neutralises_formulas_in_the_names_it_looks_up(client, auditor):
    """Units, sites and approvers are named from lookups, not the row's own columns; their
    names are neutralised too."""
    grant_held(
        name="Plain Holder",
        unit=BusinessUnitFactory(
            name="@Unit", directorate__name="=Dir", directorate__organisation__name="-Org"
        ),
        approver=UserFactory(profile__name="+Approver"),
        sites=[SiteFactory(name="=Site")],
    )
    row = csv_rows(client.get(reverse("oversight:register-csv")))[1]
    assert row[1] == "Plain Holder"
    assert row[3:7] == ["'-Org", "'=Dir", "'@Unit", "'=Site"]
    assert row[10] == "'+Approver"


def test_the_csv_lists_sites_in_the_same_order_as_the_page(client, auditor):
    grant_held(sites=[SiteFactory(name=name) for name in ["bluesky", "Zebra", "apple", "=x"]])
    page_sites = client.get(reverse("oversight:register")).context["page"].rows[0].sites
    row = csv_rows(client.get(reverse("oversight:register-csv")))[1]
    assert row[6].lstrip("'").split("; ") == page_sites.split(", ")


def _streamed(response) -> tuple[int, int]:
    """(lines, peak bytes allocated) while the response is consumed."""
    tracemalloc.start()
    try:
        lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return lines, peak


def test_a_search_counts_no_further_than_its_own_cap(client, auditor, monkeypatch):
    # A common name's count stops at the search's cap (its cost follows the matches), while
    # the unsearched register with as many grants still counts them exactly.
    monkeypatch.setattr(register_selectors, "SEARCH_COUNT_CAP", 2)
    for n in range(3):
        grant_held(name=f"Sam Common {n}")
    grant_held(name="Someone Else")

    assert _count_queries(client, {"q": "common"})[0] == "More than 2 grants match"
    assert _count_queries(client, {"q": "sam common 1"})[0] == "1 grant matches"
    assert _count_queries(client, {})[0] == "4 grants match"
    # Every matching grant is still listed: the cap limits the count, not the rows.
    response = client.get(reverse("oversight:register"), {"q": "common"})
    assert len(references_on_page(response)) == 3


def test_exporting_a_large_register_streams_in_flat_memory(client, auditor):
    """Rows go out 2,000 at a time: once past the first chunks, more rows take no more
    memory (4,000 rows and 6,000 rows peak alike, well under the rows' own size)."""
    holder = UserFactory(profile__name="Bulk Holder")
    bulk_grants(6000, holder=holder, approver=UserFactory(), site=SiteFactory(name="X"))
    url = reverse("oversight:register-csv")

    response = client.get(url, {"expiring_within_days": 200})
    assert response.streaming
    fewer_lines, fewer_peak = _streamed(response)
    response = client.get(url)
    assert response.streaming
    all_lines, all_peak = _streamed(response)

    assert fewer_lines == 4001
    assert all_lines == 6001
    assert all_peak < 1.1 * fewer_peak, f"{fewer_peak / 1e6:.1f} MB → {all_peak / 1e6:.1f} MB"
    assert all_peak < 8 * 1024 * 1024, f"peak {all_peak / 1e6:.1f} MB"


def test_a_search_matching_many_people_still_finds_them_all(client, auditor, monkeypatch):
    # Past the limit, the page checks each grant's holder and the count joins instead.
    monkeypatch.setattr(search, "SEARCH_ID_LIMIT", 1)
    found = {grant_held(name=f"Common Name {n}").business_case.reference for n in range(3)}
    grant_held(name="Someone Else")
    grant_held(name="Common Name Gone", status=AccessGrant.Status.EXPIRED)
    response = client.get(reverse("oversight:register"), {"q": "common name"})
    assert set(references_on_page(response)) == found
    assert _count_queries(client, {"q": "common name"})[0] == "3 grants match"
    assert _count_queries(client, {"q": "common name", "status": "all"})[0] == "4 grants match"


def test_a_text_matching_too_many_people_is_not_looked_up_again_for_a_minute(
    client, auditor, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(search, "SEARCH_ID_LIMIT", 1)
    first, second = (
        grant_held(name=f"Common Name {n}").business_case.reference for n in ("Alpha", "Beta")
    )
    found = {first, second}

    def look_ups(text: str) -> tuple[set[str], int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("oversight:register"), {"q": text})
        sql = [query["sql"] for query in queries.captured_queries]
        return set(references_on_page(response)), sum("ARRAY_AGG" in q for q in sql)

    assert look_ups("common name") == (found, 1)
    # The same text (in other capitals) joins straight away, and finds the same grants.
    assert look_ups("COMMON NAME") == (found, 0)
    # Another text is looked up: one person, whose ids go to the grants' query.
    assert look_ups("common name alpha") == ({first}, 1)


def test_a_common_name_pages_through_every_match_in_order(client, auditor, monkeypatch):
    monkeypatch.setattr(search, "SEARCH_ID_LIMIT", 1)
    monkeypatch.setattr("oversight.pagination.PAGE_SIZE", 2)
    today = TODAY()
    ends = [today + datetime.timedelta(days=d) for d in (40, 10, 30, 20, 50)]
    expected = [
        grant.business_case.reference
        for grant in sorted(
            (grant_held(name=f"Pat Common {n}", end=end) for n, end in enumerate(ends)),
            key=lambda grant: (grant.end_date, grant.pk),
        )
    ]
    grant_held(name="Someone Else", end=today + datetime.timedelta(days=15))

    seen, params = [], {"q": "common"}
    while True:
        response = client.get(reverse("oversight:register"), params)
        seen += references_on_page(response)
        if not response.context["next_url"]:
            break
        params = {"q": "common", "after": response.context["page"].next_cursor}
    assert seen == expected


@pytest.mark.django_db
def test_the_filter_lists_keep_what_was_chosen(client):
    client.force_login(UserFactory(role="auditor"))
    html = client.get(reverse("oversight:register"), {"tier": "active"}).content.decode()
    assert '<select class="govuk-select" id="id_tier" name="tier">' in html
    assert '<option value="active" selected>Active participation</option>' in html
    assert '<option value="passive">Passive monitoring</option>' in html
