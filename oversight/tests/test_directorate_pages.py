""" "Access in your directorate" finds a page's grants person by person among the
directorate's people (`directorate_page`'s prepared statement on PostgreSQL, and
`directorate_page_keys`, the ORM's way elsewhere): its pages hold the same grants in the
same order as the register's filters choose them, forwards and back, with their count, and
the keys are read from `grant_current_holder_idx`, the directorate's own grants rather than
the department's, once for the page and its count."""

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier, SafeUseReminder
from access_requests.tests.factories import SiteFactory
from oversight.pagination import BadCursor, _encode, keyset_page
from oversight.selectors.directorate import (
    directorate_grants,
    directorate_page,
    directorate_page_keys,
    directorate_page_values,
    directorate_rows,
)
from oversight.selectors.register import register_keys
from people.tests.factories import BusinessUnitFactory, DirectorateFactory, UserFactory

from .factories import bulk_grants

pytestmark = pytest.mark.django_db


@pytest.fixture
def directorate():
    """Three people in two units with 7, 8 and 9 current grants whose end dates tie across
    people (so the id decides), one of them ended and one awaiting provisioning, and an
    outsider whose grants fall between theirs."""
    directorate = DirectorateFactory(name="Communications")
    units = [BusinessUnitFactory(directorate=directorate) for _ in range(2)]
    approver, site = UserFactory(), SiteFactory()
    people = [UserFactory(profile__business_unit=units[n % 2]) for n in range(3)]
    for n, person in enumerate(people):
        bulk_grants(7 + n, holder=person, approver=approver, site=site, prefix=f"P{n}")
    bulk_grants(10, holder=UserFactory(), approver=approver, site=site, prefix="OUT")
    first = AccessGrant.objects.filter(holder=people[0]).order_by("id")
    AccessGrant.objects.filter(pk=first[0].pk).update(
        status=AccessGrant.Status.EXPIRED, expired_at=timezone.now()
    )
    AccessGrant.objects.filter(pk=first[1].pk).update(
        status=AccessGrant.Status.AWAITING_PROVISIONING, provisioned_at=None
    )
    # The third person's grants are on the active tier; two of them end beyond 30 days.
    AccessGrant.objects.filter(holder=people[2]).update(tier=AccessTier.ACTIVE)
    later = timezone.localdate() + datetime.timedelta(days=45)
    AccessGrant.objects.filter(
        pk__in=AccessGrant.objects.filter(holder=people[2]).order_by("id")[:2].values("pk")
    ).update(end_date=later)
    return directorate


def page_of(directorate, page_size, filters, **cursor):
    """The ORM's way (`directorate_page_keys`), which databases other than PostgreSQL use."""
    keys, descending = register_keys("end_date")
    return keyset_page(
        directorate_page_values(),
        keys=keys,
        descending=descending,
        keys_from=directorate_page_keys(directorate=directorate, **filters),
        page_size=page_size,
        **cursor,
    )


def prepared_page_of(directorate, page_size, filters, **cursor):
    """`directorate_page`, one prepared statement on PostgreSQL; its count checked."""
    found = directorate_page(directorate=directorate, page_size=page_size, **filters, **cursor)
    assert found.count == directorate_grants(directorate=directorate, **filters).count()
    return found.page


def ids(page) -> list[int]:
    return [row["id"] for row in page.rows]


FILTERS = [{}, {"tier": AccessTier.ACTIVE}, {"ending_soon": True}, {"tier": AccessTier.PASSIVE}]


@pytest.mark.parametrize("reader", [page_of, prepared_page_of], ids=["orm", "prepared"])
@pytest.mark.parametrize("filters", FILTERS)
def test_pages_hold_the_directorates_grants_in_the_registers_order_both_ways(
    directorate, filters, reader
):
    expected = list(
        directorate_grants(directorate=directorate, **filters)
        .order_by("end_date", "id")
        .values_list("id", flat=True)
    )
    assert expected  # every filter keeps some of the directorate's grants

    page = reader(directorate, 4, filters)
    assert page.previous_cursor is None
    forwards = ids(page)
    while page.next_cursor:
        page = reader(directorate, 4, filters, after=page.next_cursor)
        forwards += ids(page)
    assert forwards == expected

    backwards = ids(page)
    while page.previous_cursor:
        page = reader(directorate, 4, filters, before=page.previous_cursor)
        backwards = ids(page) + backwards
    assert backwards == expected


@pytest.mark.parametrize("reader", [page_of, prepared_page_of], ids=["orm", "prepared"])
def test_the_unfiltered_directorate_shows_current_grants_only(directorate, reader):
    shown = ids(reader(directorate, 50, {}))
    assert len(shown) == 7 + 8 + 9 - 1  # the ended grant is not current
    statuses = set(AccessGrant.objects.filter(pk__in=shown).values_list("status", flat=True))
    assert statuses == {AccessGrant.Status.ACTIVE, AccessGrant.Status.AWAITING_PROVISIONING}


def test_a_deep_page_reads_the_directorates_grants_from_the_holder_index(directorate):
    """The page's keys come from the holder's grants (`grant_current_holder_idx`), one
    look-up a person, and read no grant outside the directorate (the tables analysed and
    sequential scans off: they are too small here for the planner to prefer an index on
    its own)."""
    scans = _second_page_grant_scans(directorate, page_of, "LATERAL")
    # Either index that starts with the holder (on tables never vacuumed, as the prepared
    # page's test below says).
    holder_scans = [s for s in scans if s.get("Index Name") in HOLDER_INDEXES]
    assert holder_scans, [(s["Node Type"], s.get("Index Name")) for s in scans]
    assert holder_scans[0]["Actual Loops"] == 3  # one look-up for each of the three people
    rows_read = sum(s["Actual Rows"] * s["Actual Loops"] for s in holder_scans)
    assert rows_read <= directorate_grants(directorate=directorate).count()


def test_both_ways_give_the_same_rows_with_names_sites_and_safe_use(directorate):
    """The prepared statement joins each row's holder, sites and newest safe-use reminder;
    elsewhere `directorate_rows` reads them by id: the same lines either way."""
    today = timezone.localdate()
    active = list(AccessGrant.objects.filter(tier=AccessTier.ACTIVE).order_by("id"))
    SafeUseReminder.objects.create(grant=active[0], period=1, confirm_by=today)
    SafeUseReminder.objects.create(
        grant=active[0], period=2, confirm_by=today, confirmed_at=timezone.now()
    )
    SafeUseReminder.objects.create(
        grant=active[1], period=1, confirm_by=today - datetime.timedelta(days=3)
    )
    prepared = directorate_rows(prepared_page_of(directorate, 50, {}).rows, today=today)
    orm = directorate_rows(page_of(directorate, 50, {}).rows, today=today)
    assert prepared == orm
    texts = [row.safe_use.text for row in prepared]
    assert any(text.startswith("Confirmed") for text in texts)
    assert any(row.safe_use.overdue for row in prepared)
    assert "Not asked yet" in texts
    assert all(row.grant.holder_name and row.grant.sites for row in prepared)


def test_a_page_past_the_end_is_empty_and_still_counted(directorate):
    # After the department's last grant: past every grant of the directorate.
    last = AccessGrant.objects.order_by("-end_date", "-id").first()
    found = directorate_page(directorate=directorate, after=_cursor_after(last))
    assert found.page.rows == []
    assert found.count == 7 + 8 + 9 - 1


def test_a_cursor_the_page_did_not_write_is_refused(directorate):
    with pytest.raises(BadCursor):
        directorate_page(directorate=directorate, after="not-a-cursor")


def test_the_prepared_page_reads_each_persons_grants_once_for_the_page_and_its_count(
    directorate,
):
    """One statement: one look-up a person among their grants, for the page and the count
    together, and no grant outside the directorate read. (Which of the two indexes that
    start with the holder is the planner's choice: here, on tables never vacuumed, reading
    `grant_current_holder_idx` alone costs it as much as the table; on the benchmark's data
    it reads that index alone, docs/performance.md.)"""
    scans = _second_page_grant_scans(directorate, prepared_page_of, "directorate_page(")
    by_holder = [s for s in scans if s.get("Index Name") in HOLDER_INDEXES]
    assert len(by_holder) == 1, [(s["Node Type"], s.get("Index Name")) for s in scans]
    assert by_holder[0]["Actual Loops"] == 3  # one look-up for each of the three people
    # Its rows are an average per look-up, rounded: the directorate's 23 current grants.
    rows_read = by_holder[0]["Actual Rows"] * by_holder[0]["Actual Loops"]
    assert rows_read <= directorate_grants(directorate=directorate).count() + 3
    # The other reads of grants are the page's own rows (five, and one to see there is more).
    others = [s for s in scans if s is not by_holder[0]]
    assert sum(s["Actual Rows"] * s["Actual Loops"] for s in others) == 6


HOLDER_INDEXES = {"grant_current_holder_idx", "grant_holder_idx"}


def _cursor_after(grant) -> str:
    return _encode([grant.end_date, grant.pk])


def _second_page_grant_scans(directorate, reader, marker: str) -> list[dict]:
    """The grants' scans in `EXPLAIN ANALYZE` of the query (the one whose SQL holds
    `marker`) that `reader` runs for the directorate's second page of five, the tables
    analysed and sequential and bitmap scans off: they are too small here for the planner
    to prefer an index on its own."""
    first = reader(directorate, 5, {})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE access_requests_accessgrant, people_staffprofile")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        # A prepared statement's plan cached by an earlier test on this connection is kept
        # through a change of settings (and through an ANALYZE that changes no statistic):
        # planned again here, under these settings.
        cursor.execute("DISCARD PLANS")
    with CaptureQueriesContext(connection) as captured:
        reader(directorate, 5, {}, after=first.next_cursor)
    (sql,) = [q["sql"] for q in captured.captured_queries if marker in q["sql"]]
    # A prepared query runs as `SET LOCAL …; EXECUTE …`: EXPLAIN takes the EXECUTE.
    statement = sql[sql.index("EXECUTE") :] if "EXECUTE" in sql else sql
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}")  # noqa: S608  # nosec B608
        (explained,) = cursor.fetchone()
    (plan,) = json.loads(explained) if isinstance(explained, str) else explained
    return list(_grant_scans(plan["Plan"]))


def _grant_scans(node):
    if node.get("Relation Name") == "access_requests_accessgrant":
        yield node
    for child in node.get("Plans", []):
        yield from _grant_scans(child)
