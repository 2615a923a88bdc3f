import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier, BusinessCase
from access_requests.tests.factories import BusinessCaseFactory, SiteFactory
from oversight import charts
from oversight.selectors import reports
from people.models import Role
from people.tests.factories import BusinessUnitFactory, DirectorateFactory, UserFactory

from .factories import grant_held

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC)


def _case(directorate, submitted, waited_days, status=BusinessCase.Status.APPROVED):
    requester = UserFactory(profile__business_unit=BusinessUnitFactory(directorate=directorate))
    return BusinessCaseFactory(
        requester=requester,
        submitted=True,
        submitted_at=submitted,
        status=status,
        decided_at=submitted + datetime.timedelta(days=waited_days)
        if status in BusinessCase.Status.decided()
        else None,
    )


@time_machine.travel(NOW, tick=False)
def test_cases_per_month_counts_submissions_approvals_and_rejections():
    borders = DirectorateFactory(name="Borders")
    _case(borders, datetime.datetime(2026, 4, 20, tzinfo=datetime.UTC), 5)  # decided in April
    _case(borders, datetime.datetime(2026, 4, 28, tzinfo=datetime.UTC), 10)  # decided in May
    _case(
        borders,
        datetime.datetime(2026, 5, 2, tzinfo=datetime.UTC),
        3,
        status=BusinessCase.Status.REJECTED,
    )
    _case(
        borders,
        datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC),
        0,
        BusinessCase.Status.SUBMITTED,
    )
    rows = {
        row.month: row for row in reports.cases_per_month(period=reports.ReportPeriod.default())
    }
    assert len(rows) == 12
    assert min(rows) == datetime.date(2025, 7, 1)
    april, may, june = (rows[datetime.date(2026, m, 1)] for m in (4, 5, 6))
    assert (april.submitted, april.approved, april.rejected) == (2, 1, 0)
    assert (may.submitted, may.approved, may.rejected) == (1, 1, 1)
    assert (june.submitted, june.approved, june.rejected) == (1, 0, 0)


@time_machine.travel(NOW, tick=False)
def test_median_and_90th_percentile_time_to_decision_per_directorate():
    borders = DirectorateFactory(name="Borders")
    comms = DirectorateFactory(name="Communications")
    start = datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)
    for days in (1, 2, 3, 4, 10):
        _case(borders, start, days)
    _case(comms, start, 7, status=BusinessCase.Status.REJECTED)
    rows = {
        row.directorate: row
        for row in reports.time_to_decision_by_directorate(period=reports.ReportPeriod.default())
    }
    assert rows["Borders"].decisions == 5
    assert rows["Borders"].median_days == 3.0
    assert rows["Borders"].p90_days == pytest.approx(7.6)  # 4 + 0.6 × (10 − 4)
    assert (rows["Communications"].median_days, rows["Communications"].p90_days) == (7.0, 7.0)


def test_active_grants_by_tier_and_site_and_pcs_by_business_unit(settings):
    settings.SNS_STANDALONE_PC_YEARLY_COST = 950
    x, linkedin = SiteFactory(name="X"), SiteFactory(name="LinkedIn")
    unit = BusinessUnitFactory(name="Press Office", cost_centre="CC777")
    grant_held(sites=[x, linkedin])
    grant_held(sites=[x], tier=AccessTier.ACTIVE, paying_business_unit=unit)
    grant_held(sites=[x], tier=AccessTier.ACTIVE, paying_business_unit=unit)
    grant_held(sites=[x], tier=AccessTier.ACTIVE, status=AccessGrant.Status.EXPIRED)
    grant_held(sites=[linkedin], status=AccessGrant.Status.AWAITING_PROVISIONING)

    assert [(r.label, r.count) for r in reports.active_grants_by_tier()] == [
        ("Passive monitoring", 1),
        ("Active participation", 2),
    ]
    assert [(r.label, r.count) for r in reports.active_grants_by_site()] == [
        ("X", 3),
        ("LinkedIn", 1),
    ]
    pcs = reports.standalone_pcs_by_business_unit()
    assert [(r.business_unit, r.cost_centre, r.pcs, r.yearly_cost) for r in pcs] == [
        ("Press Office", "CC777", 2, 1900)
    ]


def test_the_reports_page_draws_each_chart_as_inline_svg_with_a_table_beneath(client):
    grant_held(sites=[SiteFactory(name="Bluesky")], tier=AccessTier.ACTIVE)
    _case(DirectorateFactory(name="Borders"), timezone.now() - datetime.timedelta(days=3), 2)
    client.force_login(UserFactory(role=Role.AUDITOR))
    response = client.get(reverse("oversight:reports"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="portal-chart"') == 5
    assert html.count('role="img"') == 5
    assert '<desc id="active-by-site-desc">Active grants by site. Bluesky: 1.</desc>' in html
    # The five charts' tables and the budget holders' decisions (no access review yet)
    assert html.count('<table class="govuk-table"') == 6
    svg = "".join(re.findall(r"<svg class=\"portal-chart\".*?</svg>", html, re.S))
    assert "style=" not in svg and "<script" not in svg  # the CSP allows neither
    assert 'fill="#1d70b8"' in svg
    assert "£1,200" in html
    assert "Borders" in html


def test_chart_labels_are_escaped():
    chart = charts.bar_chart(
        chart_id="c", title="T", categories=["<script>alert(1)</script>"], series={"n": [3]}
    )
    from django.template.loader import render_to_string

    html = render_to_string("oversight/includes/chart.html", {"chart": chart})
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


# The shapes as one template loop per shape draws them: the page's SVG must not change.
SHAPES_BY_TEMPLATE = """\
  {% for line in chart.lines %}<line x1="{{ line.x1|floatformat:"1u" }}" y1="{{ line.y1|floatformat:"1u" }}" x2="{{ line.x2|floatformat:"1u" }}" y2="{{ line.y2|floatformat:"1u" }}" stroke="{{ line.stroke }}" stroke-width="1"/>
  {% endfor %}
  {% for rect in chart.rects %}<rect x="{{ rect.x|floatformat:"1u" }}" y="{{ rect.y|floatformat:"1u" }}" width="{{ rect.width|floatformat:"1u" }}" height="{{ rect.height|floatformat:"1u" }}" fill="{{ rect.fill }}"><title>{{ rect.label }}</title></rect>
  {% endfor %}
  {% for text in chart.texts %}<text x="{{ text.x|floatformat:"1u" }}" y="{{ text.y|floatformat:"1u" }}" text-anchor="{{ text.anchor }}" font-size="{{ text.size }}" font-weight="{{ text.weight }}" fill="{{ text.fill }}">{{ text.content }}</text>
  {% endfor %}
"""  # noqa: E501


def test_the_shapes_written_in_python_are_the_template_loops_svg():
    from django.template import engines
    from django.template.loader import render_to_string

    hostile = "<b>\"Zoë\" & 'co'</b> ‮"
    drawn = [
        charts.bar_chart(
            chart_id="bars",
            title="T",
            categories=[hostile, "Borders", "x" * 80],
            series={"Median": [0.25, 17.35, 1234.05], hostile: [0.05, 2.5, 999.95]},
            unit=" days",
        ),
        charts.bar_chart(
            chart_id="money", title="T", categories=["a"], series={"n": [1200]}, prefix="£"
        ),
        charts.column_chart(
            chart_id="months",
            title="T",
            categories=["Jan", "Feb", hostile],
            series={"Submitted": [2, 0, 7], "Approved": [1, 3, 0]},
        ),
        charts.bar_chart(chart_id="none", title="T", categories=[], series={"n": []}),
    ]
    by_template = engines["django"].from_string(SHAPES_BY_TEMPLATE)
    for chart in drawn:
        html = render_to_string("oversight/includes/chart.html", {"chart": chart})
        shapes = by_template.render({"chart": chart})
        assert "  " + shapes.removeprefix("  ") in html, chart.chart_id
        assert html.index("</desc>\n") + len("</desc>\n") == html.index(shapes), chart.chart_id


def test_nice_axis_maximum():
    assert [charts.nice_maximum(v) for v in (0, 3, 7, 11, 240, 1900)] == [1, 5, 10, 20, 500, 2000]


def test_count_axes_mark_whole_numbers():
    chart = charts.column_chart(chart_id="c", title="T", categories=["Jan"], series={"n": [2]})
    ticks = [text.content for text in chart.texts if text.anchor == "end"]
    assert ticks == ["0", "1", "2", "3", "4", "5"]
    chart = charts.bar_chart(chart_id="c", title="T", categories=["a"], series={"n": [17]})
    ticks = [text.content for text in chart.texts if text.anchor == "middle"]
    assert ticks == ["0", "5", "10", "15", "20"]


def test_the_python_percentiles_match_postgresqls_percentile_cont():
    waits = sorted(datetime.timedelta(days=d) for d in (1, 2, 3, 4, 10))
    assert reports.interpolated_percentile(waits, 0.5) == datetime.timedelta(days=3)
    assert reports.interpolated_percentile(waits, 0.9) == datetime.timedelta(days=7.6)
