"""Reports cover a chosen period (the last 12 months unless told), and each table downloads
as CSV for that period."""

import csv
import datetime
import io

import pytest
import time_machine
from django.urls import reverse

from access_requests.models import AccessTier, BusinessCase
from people.models import Role
from people.tests.factories import DirectorateFactory, UserFactory

from .factories import grant_held
from .test_reports import _case

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC)


def _cases_over_two_years():
    borders = DirectorateFactory(name="Borders")
    for year, month in [(2024, 11), (2025, 3), (2025, 9), (2026, 5)]:
        _case(borders, datetime.datetime(year, month, 10, tzinfo=datetime.UTC), 2)


def _rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@time_machine.travel(NOW, tick=False)
def test_by_default_the_reports_cover_the_last_12_months(client):
    _cases_over_two_years()
    client.force_login(UserFactory(role=Role.AUDITOR))
    html = client.get(reverse("oversight:reports")).content.decode()
    assert "Cases and decisions from 1 July 2025 to 15 June 2026" in html
    assert "September 2025" in html and "March 2025" not in html


@time_machine.travel(NOW, tick=False)
def test_a_chosen_period_counts_only_its_cases_month_by_month(client):
    _cases_over_two_years()
    client.force_login(UserFactory(role=Role.AUDITOR))
    query = {
        "period_from_0": "1", "period_from_1": "11", "period_from_2": "2024",
        "period_to_0": "31", "period_to_1": "3", "period_to_2": "2025",
    }  # fmt: skip
    response = client.get(reverse("oversight:reports"), query)
    html = response.content.decode()
    assert "Cases and decisions from 1 November 2024 to 31 March 2025" in html
    assert "November 2024" in html and "March 2025" in html and "May 2026" not in html
    rows = _rows(client.get(reverse("oversight:report-csv"), {**query, "table": "cases-per-month"}))
    assert rows[0] == ["Month", "Submitted", "Approved", "Rejected"]
    assert [row[0] for row in rows[1:]] == [
        "November 2024", "December 2024", "January 2025", "February 2025", "March 2025",
    ]  # fmt: skip
    assert sum(int(row[1]) for row in rows[1:]) == 2


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"period_from_0": "31", "period_from_1": "2", "period_from_2": "2026"}, "From must be a real date"),
        (
            {"period_from_0": "1", "period_from_1": "6", "period_from_2": "2026",
             "period_to_0": "1", "period_to_1": "5", "period_to_2": "2026"},
            "To must be the same as or after the start",
        ),
        ({"period_from_0": "1", "period_from_1": "1", "period_from_2": "2027"}, "From must be today or in the past"),
        (
            {"period_from_0": "1", "period_from_1": "1", "period_from_2": "2015",
             "period_to_0": "1", "period_to_1": "1", "period_to_2": "2026"},
            "The period must be 5 years or shorter",
        ),
    ],
)  # fmt: skip
def test_a_period_that_cannot_be_used_is_explained_and_the_last_12_months_shown(
    client, query, message
):
    client.force_login(UserFactory(role=Role.AUDITOR))
    response = client.get(reverse("oversight:reports"), query)
    html = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in html and message in html
    assert "Cases and decisions from 1 July 2025 to 15 June 2026" in html
    csv_response = client.get(
        reverse("oversight:report-csv"), {**query, "table": "cases-per-month"}
    )
    assert csv_response.status_code == 302


@time_machine.travel(NOW, tick=False)
def test_every_table_of_the_page_downloads_as_csv(client):
    _cases_over_two_years()
    grant_held(tier=AccessTier.ACTIVE)  # so the site and PC tables are drawn too
    client.force_login(UserFactory(role=Role.ADMIN))
    html = client.get(reverse("oversight:reports")).content.decode()
    for table, first_column in [
        ("cases-per-month", "Month"),
        ("time-to-decision", "Directorate"),
        ("active-by-tier", "Tier"),
        ("active-by-site", "Site"),
        ("standalone-pcs", "Business unit"),
    ]:
        url = f"{reverse('oversight:report-csv')}?table={table}"
        assert f'href="{url}"' in html, table
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        assert _rows(response)[0][0] == first_column
    assert client.get(reverse("oversight:report-csv"), {"table": "nope"}).status_code == 404


def test_only_those_who_may_see_the_register_download_report_tables(client):
    client.force_login(UserFactory(role=Role.STAFF))
    url = reverse("oversight:report-csv")
    assert client.get(url, {"table": "cases-per-month"}).status_code == 403
    assert BusinessCase.objects.count() == 0
