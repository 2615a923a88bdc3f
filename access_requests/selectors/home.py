"""What the home page shows of a person's own grants and cases: plain values, each list read
by a prepared query (`core.prepared`), the sites' names by a second one.

The home page is the page everyone opens. Read as model instances with their sites
prefetched, Django's building and compiling of four querysets and the instances they make
cost more than PostgreSQL's work on them; here each query's SQL is built once per process
and planned once per connection, and the rows stay tuples until the lines below.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import F, OuterRef, Q, Subquery

from access_requests.models import (
    TIER_LABELS,
    AccessGrant,
    AccessTier,
    BusinessCase,
    SafeUseReminder,
)
from core.prepared import PreparedQuery

from .business_cases import site_names_by_case
from .grants import _renewal_under_way, site_names_by_grant

HOME_GRANTS = 10
HOME_CASES = 5
# Grants that ended this many days ago or less are still shown, to renew.
RECENT_DAYS = 30

_GRANT_STATUS_LABELS = {str(value): str(label) for value, label in AccessGrant.Status.choices}
_CASE_STATUS_LABELS = {str(value): str(label) for value, label in BusinessCase.Status.choices}


@dataclass(frozen=True)
class HomeReminder:
    """A grant's newest safe-use reminder, as `grant_next_step` reads it."""

    confirmed_at: datetime.datetime | None
    confirm_by: datetime.date


@dataclass
class HomeGrant:
    """A grant as the home page shows it and `grant_next_step` reads it."""

    pk: int
    tier: str
    status: str
    start_date: datetime.date
    end_date: datetime.date
    returned_reason: str
    lapse_chosen_at: datetime.datetime | None
    case_reference: str
    has_renewal: bool
    reminders_newest_first: list[HomeReminder]
    site_names: list[str] = field(default_factory=list)

    def get_tier_display(self) -> str:
        return TIER_LABELS.get(self.tier, self.tier)

    def get_status_display(self) -> str:
        return _GRANT_STATUS_LABELS.get(self.status, self.status)


@dataclass
class HomeCase:
    """One of the person's own cases as the home page lists it."""

    pk: int
    reference: str
    renewal_of_id: int | None
    status: str
    site_names: list[str] = field(default_factory=list)

    def __str__(self) -> str:  # as BusinessCase's
        return self.reference or f"Draft {self.pk}"

    def get_status_display(self) -> str:
        return _CASE_STATUS_LABELS.get(self.status, self.status)


def _grants(holder_id: int, recent: datetime.date):
    newest = SafeUseReminder.objects.filter(grant=OuterRef("pk")).order_by("-period")
    return (
        AccessGrant.objects.filter(holder_id=holder_id)
        .filter(
            Q(status__in=AccessGrant.Status.current())
            | Q(status=AccessGrant.Status.EXPIRED, end_date__gte=recent)
            | Q(status=AccessGrant.Status.RETURNED, updated_at__date__gte=recent)
        )
        .annotate(
            case_reference=F("business_case__reference"),
            has_renewal=_renewal_under_way(),
            reminder_confirmed_at=Subquery(newest.values("confirmed_at")[:1]),
            reminder_confirm_by=Subquery(newest.values("confirm_by")[:1]),
        )
        .order_by("-end_date", "-id")
        .values_list(
            "id",
            "tier",
            "status",
            "start_date",
            "end_date",
            "returned_reason",
            "lapse_chosen_at",
            "case_reference",
            "has_renewal",
            "reminder_confirmed_at",
            "reminder_confirm_by",
        )[:HOME_GRANTS]
    )


def _cases(requester_id: int):
    return (
        BusinessCase.objects.filter(requester_id=requester_id)
        .order_by("-created_at", "-id")
        .values_list("id", "reference", "renewal_of_id", "status")[:HOME_CASES]
    )


_GRANTS = PreparedQuery(
    "home_grants", _grants, holder_id=-(2**62) + 19, recent=datetime.date(1, 1, 5)
)
_CASES = PreparedQuery("home_cases", _cases, requester_id=-(2**62) + 23)


def grants_for_home(*, user, today: datetime.date) -> list[HomeGrant]:
    """The person's first `HOME_GRANTS` current grants, and those that ended in the last
    `RECENT_DAYS` days (to renew), newest end first: each with its case's reference,
    whether a renewal is under way (`_renewal_under_way`), its newest safe-use reminder
    (only ever sent on the active tier) and its sites' names, A to Z. Two queries."""
    recent = today - datetime.timedelta(days=RECENT_DAYS)
    grants = []
    for row in _GRANTS.run(holder_id=user.pk, recent=recent):
        (pk, tier, status, start, end, returned, lapse, reference, renewal) = row[:9]
        confirmed_at, confirm_by = row[9:]
        reminders = (
            [HomeReminder(confirmed_at, confirm_by)]
            if tier == AccessTier.ACTIVE and confirm_by is not None
            else []
        )
        grants.append(
            HomeGrant(pk, tier, status, start, end, returned, lapse, reference, renewal, reminders)
        )
    names = site_names_by_grant([grant.pk for grant in grants])
    for grant in grants:
        grant.site_names = names.get(grant.pk, [])
    return grants


def cases_for_home(*, user) -> list[HomeCase]:
    """The person's `HOME_CASES` newest cases, with their sites' names, A to Z. Two
    queries."""
    cases = [HomeCase(*row) for row in _CASES.run(requester_id=user.pk)]
    names = site_names_by_case([case.pk for case in cases])
    for case in cases:
        case.site_names = names.get(case.pk, [])
    return cases
