"""The reports page's figures (aggregate queries; one query per report)."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier, BusinessCase, Site
from approvals.models import ApprovalRequest
from reviews.models import AccessReview

MONTHS = 12


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile: percentile_cont(f) WITHIN GROUP (ORDER BY x)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass(frozen=True)
class ReportPeriod:
    """The days a report covers, both included, in local time."""

    start: datetime.date
    end: datetime.date

    @classmethod
    def default(cls, today: datetime.date | None = None) -> "ReportPeriod":
        """The last `MONTHS` months: this month so far and the 11 whole months before it."""
        today = today or timezone.localdate()
        return cls(start=month_starts(today, today, back=MONTHS)[0], end=today)

    @property
    def since(self) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(self.start, datetime.time.min))

    @property
    def until(self) -> datetime.datetime:
        """The first moment after the period."""
        after = self.end + datetime.timedelta(days=1)
        return timezone.make_aware(datetime.datetime.combine(after, datetime.time.min))

    @property
    def months(self) -> list[datetime.date]:
        return month_starts(self.start, self.end)


def month_starts(
    start: datetime.date, end: datetime.date, *, back: int | None = None
) -> list[datetime.date]:
    """The first day of each month from `start`'s month to `end`'s; with `back`, the `back`
    months up to `end`'s instead."""
    year, month = end.year, end.month
    starts = []
    while True:
        first = datetime.date(year, month, 1)
        if back is None and first < start.replace(day=1):
            break
        starts.append(first)
        if back is not None and len(starts) == back:
            break
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(starts))


@dataclass(frozen=True)
class MonthRow:
    month: datetime.date
    submitted: int
    approved: int
    rejected: int


def cases_per_month(*, period: ReportPeriod) -> list[MonthRow]:
    """Cases submitted, approved and rejected in each month of the period."""
    starts = period.months
    since, until = period.since, period.until
    submitted = {
        row["month"].date(): row["n"]
        for row in BusinessCase.objects.filter(submitted_at__gte=since, submitted_at__lt=until)
        .annotate(month=TruncMonth("submitted_at"))
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
    }
    decided: dict[tuple[datetime.date, str], int] = {
        (row["month"].date(), row["status"]): row["n"]
        for row in BusinessCase.objects.filter(
            status__in=BusinessCase.Status.decided(), decided_at__gte=since, decided_at__lt=until
        )
        .annotate(month=TruncMonth("decided_at"))
        .values("month", "status")
        .annotate(n=Count("id"))
        .order_by()
    }
    return [
        MonthRow(
            month=start,
            submitted=submitted.get(start, 0),
            approved=decided.get((start, BusinessCase.Status.APPROVED), 0),
            rejected=decided.get((start, BusinessCase.Status.REJECTED), 0),
        )
        for start in starts
    ]


@dataclass(frozen=True)
class DecisionTimeRow:
    directorate: str
    organisation: str
    decisions: int
    median_days: float
    p90_days: float


def _days(duration: datetime.timedelta | None) -> float:
    return round(duration.total_seconds() / 86400, 1) if duration is not None else 0.0


def time_to_decision_by_directorate(*, period: ReportPeriod) -> list[DecisionTimeRow]:
    """Median and 90th percentile from submission to decision, per requester's directorate,
    for cases decided in the period."""
    decided = BusinessCase.objects.filter(
        status__in=BusinessCase.Status.decided(),
        decided_at__gte=period.since,
        decided_at__lt=period.until,
        submitted_at__isnull=False,
    ).values(
        directorate=F("requester__profile__business_unit__directorate__name"),
        organisation=F("requester__profile__business_unit__directorate__organisation__name"),
    )
    if connection.vendor == "postgresql":
        waited = ExpressionWrapper(
            F("decided_at") - F("submitted_at"), output_field=DurationField()
        )
        rows = decided.annotate(
            decisions=Count("id"),
            median=PercentileCont(waited, fraction=0.5),
            p90=PercentileCont(waited, fraction=0.9),
        ).order_by("organisation", "directorate")
    else:  # the SQLite demo has no percentile_cont: the same interpolation in Python
        rows = _percentiles_in_python(
            decided.values_list("directorate", "organisation", "submitted_at", "decided_at")
        )
    return [
        DecisionTimeRow(
            directorate=row["directorate"] or "No directorate recorded",
            organisation=row["organisation"] or "",
            decisions=row["decisions"],
            median_days=_days(row["median"]),
            p90_days=_days(row["p90"]),
        )
        for row in rows
    ]


def interpolated_percentile(sorted_values: list, fraction: float):
    """percentile_cont: linear interpolation between the two nearest ranks."""
    position = fraction * (len(sorted_values) - 1)
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


def _percentiles_in_python(values) -> list[dict]:
    groups: dict[tuple, list[datetime.timedelta]] = {}
    for directorate, organisation, submitted_at, decided_at in values:
        groups.setdefault((organisation, directorate), []).append(decided_at - submitted_at)
    rows = []
    for (organisation, directorate), waits in sorted(groups.items(), key=lambda i: str(i[0])):
        waits.sort()
        rows.append(
            {
                "directorate": directorate,
                "organisation": organisation,
                "decisions": len(waits),
                "median": interpolated_percentile(waits, 0.5),
                "p90": interpolated_percentile(waits, 0.9),
            }
        )
    return rows


@dataclass(frozen=True)
class CountRow:
    label: str
    count: int


def active_grants_by_tier() -> list[CountRow]:
    counts = dict(
        AccessGrant.objects.filter(status=AccessGrant.Status.ACTIVE)
        .values_list("tier")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [CountRow(label, counts.get(value, 0)) for value, label in AccessTier.choices]


def active_grants_by_site() -> list[CountRow]:
    rows = (
        Site.objects.annotate(n=Count("grants", filter=Q(grants__status=AccessGrant.Status.ACTIVE)))
        .filter(n__gt=0)
        .order_by("-n", "name")
        .values_list("name", "n")
    )
    return [CountRow(name, n) for name, n in rows]


@dataclass(frozen=True)
class PcCostRow:
    business_unit: str
    cost_centre: str
    pcs: int
    yearly_cost: int


def standalone_pcs_by_business_unit() -> list[PcCostRow]:
    """Standalone PCs in use (active grants in the active-participation tier: one PC each)
    and what they cost a year, by the business unit that pays."""
    cost = settings.SNS_STANDALONE_PC_YEARLY_COST
    rows = (
        AccessGrant.objects.filter(status=AccessGrant.Status.ACTIVE, tier=AccessTier.ACTIVE)
        .values(
            unit=F("paying_business_unit__name"),
            cost_centre=F("paying_business_unit__cost_centre"),
        )
        .annotate(pcs=Count("id"))
        .order_by("-pcs", "unit")
    )
    return [
        PcCostRow(
            business_unit=row["unit"] or "No business unit recorded",
            cost_centre=row["cost_centre"] or "",
            pcs=row["pcs"],
            yearly_cost=row["pcs"] * cost,
        )
        for row in rows
    ]


# --- Accountability after approval: access reviews and the budget holders' decisions ----


@dataclass(frozen=True)
class ReviewReportRow:
    """One access review started in the period, and what became of its grants: decided by
    a person (kept, ended), by the review's end (`SNS_ACCESS_REVIEW_DEFAULT`), or not yet."""

    review_id: int
    started_on: datetime.date
    due_on: datetime.date
    closed: bool
    grants: int
    reviewed: int
    kept: int
    ended: int
    ended_by_default: int
    kept_by_default: int
    ended_meanwhile: int
    outstanding: int


def access_reviews_in_period(*, period: ReportPeriod) -> list[ReviewReportRow]:
    """The reviews started in the period, newest first, with their counts: one query."""
    current = AccessGrant.Status.current()
    by_person = Q(items__automatic=False)
    rows = (
        AccessReview.objects.filter(started_at__gte=period.since, started_at__lt=period.until)
        .annotate(
            grants=Count("items"),
            kept=Count("items", filter=by_person & Q(items__decision="keep")),
            ended=Count("items", filter=by_person & Q(items__decision="end")),
            ended_by_default=Count("items", filter=Q(items__automatic=True, items__decision="end")),
            kept_by_default=Count("items", filter=Q(items__automatic=True, items__decision="keep")),
            ended_meanwhile=Count(
                "items", filter=Q(items__decision="") & ~Q(items__grant__status__in=current)
            ),
            outstanding=Count(
                "items", filter=Q(items__decision="", items__grant__status__in=current)
            ),
        )
        .order_by("-started_at", "-pk")
        .values_list(
            "pk",
            "started_at",
            "due_on",
            "closed_at",
            "grants",
            "kept",
            "ended",
            "ended_by_default",
            "kept_by_default",
            "ended_meanwhile",
            "outstanding",
        )
    )
    return [
        ReviewReportRow(
            review_id=pk,
            started_on=timezone.localdate(started_at),
            due_on=due_on,
            closed=closed_at is not None,
            grants=grants,
            reviewed=kept + ended,
            kept=kept,
            ended=ended,
            ended_by_default=ended_by_default,
            kept_by_default=kept_by_default,
            ended_meanwhile=ended_meanwhile,
            outstanding=outstanding,
        )
        for (
            pk,
            started_at,
            due_on,
            closed_at,
            grants,
            kept,
            ended,
            ended_by_default,
            kept_by_default,
            ended_meanwhile,
            outstanding,
        ) in rows
    ]


def budget_holder_decisions(*, period: ReportPeriod) -> list[CountRow]:
    """What happened to the cost of active-tier cases in the period: the budget holders'
    answers (agreed, refused, lapsed unanswered), the director's approval counting for the
    cost (the shortcuts, told apart by who `cost_agreed_by` is), and what waits now. Two
    queries."""
    in_period = Q(decided_at__gte=period.since, decided_at__lt=period.until)
    stage = ApprovalRequest.objects.filter(stage=ApprovalRequest.Stage.BUDGET_HOLDER)
    decided = ApprovalRequest.Status.DECIDED
    answers = stage.aggregate(
        agreed=Count("id", filter=in_period & Q(status=decided, decision="approve")),
        refused=Count("id", filter=in_period & Q(status=decided, decision="reject")),
        lapsed=Count(
            "id",
            filter=Q(
                status=ApprovalRequest.Status.EXPIRED,
                updated_at__gte=period.since,
                updated_at__lt=period.until,
            ),
        ),
        waiting=Count("id", filter=Q(status=ApprovalRequest.Status.OPEN)),
    )
    shortcuts = AccessGrant.objects.filter(
        tier=AccessTier.ACTIVE, approved_at__gte=period.since, approved_at__lt=period.until
    ).aggregate(
        director=Count("id", filter=Q(cost_agreed_by=F("approved_by"))),
        requester=Count(
            "id", filter=Q(cost_agreed_by=F("holder")) & ~Q(cost_agreed_by=F("approved_by"))
        ),
        nobody=Count("id", filter=Q(cost_agreed_by__isnull=True)),
    )
    return [
        CountRow("Agreed by the budget holder", answers["agreed"]),
        CountRow("Refused by the budget holder", answers["refused"]),
        CountRow("Lapsed waiting for the budget holder", answers["lapsed"]),
        CountRow(
            "Director’s approval counted: the director is the budget holder",
            shortcuts["director"],
        ),
        CountRow(
            "Director’s approval counted: the requester is the budget holder",
            shortcuts["requester"],
        ),
        CountRow("Director’s approval counted: no budget holder named", shortcuts["nobody"]),
        CountRow("Waiting for the budget holder now", answers["waiting"]),
    ]
