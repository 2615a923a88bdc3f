"""The register's CSV export: on PostgreSQL the query makes each row's pieces; the Python
producer (used on SQLite) makes the same pieces, and both write exactly the same bytes for
the same data."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant
from access_requests.tests.factories import SiteFactory
from oversight import register_export
from oversight.selectors import register as selectors
from people.models import StaffProfile, User
from people.tests.factories import BusinessUnitFactory, UserFactory

from .factories import grant_held

# The tests run on PostgreSQL only (the root conftest stops on anything else), so the
# default path below is the one that computes the cells in SQL.
pytestmark = pytest.mark.django_db

HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\tTabbed",
    "\rCarriage",
    'Comma, "quoted"',
    "Two\nlines",
    "Crlf\r\nname",
    "  spaced  ",
    "Ünïcödé – ☃",
]


def _hostile_register():
    unit = BusinessUnitFactory(
        name="@Unit, one", directorate__name='=Dir "x"', directorate__organisation__name="-Org"
    )
    plain_unit = BusinessUnitFactory(name="Plain unit")
    sites = [SiteFactory(name=name) for name in ["bluesky", "Zebra", "apple", "=x", "a,b"]]
    approver = UserFactory(profile__name="+Approver")
    director = UserFactory(profile__name='Director, "the"')
    for n, name in enumerate(HOSTILE):
        grant_held(
            name=name,
            unit=unit if n % 2 else plain_unit,
            sites=sites[n % 5 : n % 5 + 2],
            approver=approver,
            start=datetime.date(2026, 1, 1) + datetime.timedelta(days=n),
            end=datetime.date(2026, 6, 1) + datetime.timedelta(days=n % 3),
            status=[
                AccessGrant.Status.ACTIVE,
                AccessGrant.Status.EXPIRED,
                AccessGrant.Status.AWAITING_PROVISIONING,
            ][n % 3],
        )
    # On behalf of a director
    grant_held(name="Deputised", approver=approver, approved_on_behalf_of=director)
    # No sites at all
    bare = grant_held(name="No sites", approver=approver)
    bare.sites.clear()
    # No profile: named by first and last name or email, no unit
    for first, last in [("=First", "Last"), ("", ""), ("\t", " "), ("Only", "")]:
        grant = grant_held(name="Will lose profile", approver=approver)
        User.objects.filter(pk=grant.holder_id).update(first_name=first, last_name=last)
        StaffProfile.objects.filter(user_id=grant.holder_id).delete()
    # No commonly used name: named by first and last name, or by email
    for first, last, email in [
        ("-Minus", "Name", "a@example.gov.uk"),
        ("", "", "=mail@example.gov.uk"),
        (" ", "\t", "+plus@example.gov.uk"),
        ("Ann", "", "ann@example.gov.uk"),
    ]:
        grant = grant_held(name="Will lose name", email=email, approver=director)
        User.objects.filter(pk=grant.holder_id).update(first_name=first, last_name=last)
        StaffProfile.objects.filter(user_id=grant.holder_id).update(commonly_used_name="")
    # An approver without a profile, and values outside the choices
    lone = UserFactory(first_name="@Lone", last_name="Approver")
    StaffProfile.objects.filter(user=lone).delete()
    odd = grant_held(name="Odd values", approver=lone, approved_on_behalf_of=lone)
    AccessGrant.objects.filter(pk=odd.pk).update(tier="=odd", status="@odd")


@pytest.mark.parametrize("sort", ["end_date", "holder", "-end_date"])
@pytest.mark.parametrize("status", [selectors.ALL, selectors.CURRENT])
def test_both_paths_write_identical_bytes(sort, status):
    _hostile_register()
    filters = selectors.RegisterFilters(status=status, sort=sort)
    grants = selectors.register_sorted(filters)
    with CaptureQueriesContext(connection) as queries:
        in_sql = "".join(register_export.register_csv(grants)).encode()
    # The SQL path really ran (the fenced query), or the comparison below would prove nothing.
    assert any("OFFSET 0) x" in query["sql"] for query in queries.captured_queries)
    in_python = "".join(register_export.register_csv(grants, in_python=True)).encode()
    assert in_sql == in_python
    assert in_sql.count(b"\r\n") >= (22 if status == selectors.ALL else 8)
    assert b"'=HYPERLINK" in in_sql and b'"Comma, ""quoted"""' in in_sql


def test_the_view_writes_what_the_python_path_writes(client, auditor):
    _hostile_register()
    filters = selectors.RegisterFilters(status=selectors.ALL, sort="holder")
    grants = selectors.register_sorted(filters)
    expected = "".join(register_export.register_csv(grants, in_python=True)).encode()
    response = client.get(reverse("oversight:register-csv"), {"status": "all", "sort": "holder"})
    assert b"".join(response.streaming_content) == expected


def test_the_sql_strips_the_whitespace_python_strips():
    every = "".join(c for c in map(chr, range(1, 0x110000)) if c.isspace())
    assert register_export.PY_WHITESPACE == every


def _active_tier_register():
    """Active-tier grants for each way the cost was agreed, approved just before midnight
    in London (the next day there in summer), and one with its latest review kept."""
    approver = UserFactory(profile__name='=Director, "the"')
    budget_holder = UserFactory(profile__name='@Budget, "holder"')
    late = datetime.datetime(2026, 6, 30, 23, 30, tzinfo=datetime.UTC)
    winter = datetime.datetime(2026, 1, 31, 23, 30, tzinfo=datetime.UTC)
    grants = {
        "named": grant_held(name="Named", approver=approver, cost_agreed_by=budget_holder),
        "none": grant_held(name="Nobody named", approver=approver, cost_agreed_by=None),
        "director": grant_held(name="Director pays", approver=approver, cost_agreed_by=approver),
        "requester": grant_held(name="Requester pays", approver=approver),
        "passive": grant_held(name="Passive", approver=approver, cost_agreed_by=budget_holder),
    }
    for key, grant in grants.items():
        AccessGrant.objects.filter(pk=grant.pk).update(
            tier="passive" if key == "passive" else "active",
            approved_at=winter if key == "none" else late,
        )
    requester = grants["requester"]
    AccessGrant.objects.filter(pk=requester.pk).update(cost_agreed_by=requester.holder)
    return grants, budget_holder


def test_the_cost_columns_come_from_the_export_s_own_query():
    grants, budget_holder = _active_tier_register()
    filters = selectors.RegisterFilters(status=selectors.ALL, sort="holder")
    sorted_grants = selectors.register_sorted(filters)

    in_sql = "".join(register_export.register_csv(sorted_grants))
    assert in_sql == "".join(register_export.register_csv(sorted_grants, in_python=True))
    rows = {row[1]: row for row in csv.reader(io.StringIO(in_sql))}
    summer_day = timezone.localdate(
        datetime.datetime(2026, 6, 30, 23, 30, tzinfo=datetime.UTC)
    ).isoformat()
    assert summer_day == "2026-07-01"
    assert rows["Named"][13:15] == ['\'@Budget, "holder"', summer_day]
    assert rows["Nobody named"][13:15] == [
        "Counted as the director’s approval (no budget holder named)",
        "2026-01-31",
    ]
    assert rows["Director pays"][13:15] == [
        "Counted as the director’s approval (the director is the budget holder)",
        summer_day,
    ]
    assert rows["Requester pays"][13:15] == [
        "Counted as the director’s approval (the requester is the budget holder)",
        summer_day,
    ]
    assert rows["Passive"][13:15] == ["No cost (passive monitoring)", ""]
    # The cost columns need no query of their own (a batch reads its reviews and the names
    # it has not met yet): no query reads the batch's grants again by id.
    with CaptureQueriesContext(connection) as queries:
        "".join(register_export.register_csv(sorted_grants))
    assert not any(
        '"access_requests_accessgrant"."id" = ANY' in query["sql"]
        for query in queries.captured_queries
    )
