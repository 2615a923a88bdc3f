"""Each table of the reports page as CSV: the same figures, for the same period."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .selectors import reports


@dataclass(frozen=True)
class ReportTable:
    title: str
    header: list[str]
    rows: Callable[[reports.ReportPeriod], Iterable[list]]


def _cases_per_month(period):
    for row in reports.cases_per_month(period=period):
        yield [row.month.strftime("%B %Y"), row.submitted, row.approved, row.rejected]


def _time_to_decision(period):
    for row in reports.time_to_decision_by_directorate(period=period):
        yield [row.directorate, row.organisation, row.decisions, row.median_days, row.p90_days]


def _counts(read):
    return lambda period: ([row.label, row.count] for row in read())


def _standalone_pcs(period):
    for row in reports.standalone_pcs_by_business_unit():
        yield [row.business_unit, row.cost_centre, row.pcs, row.yearly_cost]


def _access_reviews(period):
    for row in reports.access_reviews_in_period(period=period):
        yield [
            row.started_on.isoformat(),
            row.due_on.isoformat(),
            "Ended" if row.closed else "Open",
            row.grants,
            row.reviewed,
            row.kept,
            row.ended,
            row.ended_by_default,
            row.kept_by_default,
            row.ended_meanwhile,
            row.outstanding,
        ]


TABLES = {
    "cases-per-month": ReportTable(
        "Cases per month", ["Month", "Submitted", "Approved", "Rejected"], _cases_per_month
    ),
    "time-to-decision": ReportTable(
        "Time to decision by directorate",
        ["Directorate", "Organisation", "Decisions", "Median days", "90th percentile days"],
        _time_to_decision,
    ),
    "active-by-tier": ReportTable(
        "Active grants by tier", ["Tier", "Active grants"], _counts(reports.active_grants_by_tier)
    ),
    "active-by-site": ReportTable(
        "Active grants by site", ["Site", "Active grants"], _counts(reports.active_grants_by_site)
    ),
    "standalone-pcs": ReportTable(
        "Standalone PCs in use",
        ["Business unit", "Cost centre", "PCs", "Yearly cost (£)"],
        _standalone_pcs,
    ),
    "access-reviews": ReportTable(
        "Access reviews",
        [
            "Started",
            "Due",
            "Status",
            "Grants",
            "Reviewed",
            "Kept",
            "Ended",
            "Ended by default",
            "Kept by default",
            "Ended meanwhile",
            "Outstanding",
        ],
        _access_reviews,
    ),
    "budget-holders": ReportTable(
        "Budget holders’ decisions",
        ["What happened to the cost", "Cases"],
        lambda period: (
            [row.label, row.count] for row in reports.budget_holder_decisions(period=period)
        ),
    ),
}
