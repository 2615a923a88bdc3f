"""Read queries for business cases. Which cases a person may see is decided here."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from access_requests.models import TIER_LABELS, AccessGrant, BusinessCase, Site, SiteIdentity
from core.lookups import ids_any
from core.prepared import PreparedQuery
from people.models import BusinessUnit, User


def business_cases_for_requester(*, user) -> QuerySet[BusinessCase]:
    """The person's own cases, newest first, with their sites and grant for list pages."""
    return (
        BusinessCase.objects.filter(requester=user)
        .select_related("grant")
        .prefetch_related(Prefetch("sites", queryset=Site.objects.order_by("name")))
        .order_by("-created_at", "-id")
    )


def _case_sites(ids: list[int]):
    return (
        SiteIdentity.objects.filter(ids_any(SiteIdentity, "business_case_id", ids))
        .order_by("site__name")
        .values_list("business_case_id", "site__name")
    )


# Read for every line of the home page's cases and of Cases to decide: built once per
# process and planned once per connection (`core.prepared`), the ids as one array.
_CASE_SITES = PreparedQuery("case_site_names", _case_sites, ids=[-(2**62) + 31])


def site_names_by_case(ids: list[int]) -> dict[int, list[str]]:
    """Each case's sites' names, A to Z, as values in one query (no Site instance per row,
    as a prefetch would build); none for no ids."""
    names: dict[int, list[str]] = {}
    if ids:
        for pk, name in _CASE_SITES.run(ids=list(ids)):
            names.setdefault(pk, []).append(name)
    return names


_CASE_STATUS_LABELS = {str(value): str(label) for value, label in BusinessCase.Status.choices}
_GRANT_STATUS_LABELS = {str(value): str(label) for value, label in AccessGrant.Status.choices}


@dataclass(frozen=True)
class CaseListGrant:
    """A case's grant as "Your requests" shows it."""

    status: str
    start_date: datetime.date
    end_date: datetime.date

    def get_status_display(self) -> str:
        return _GRANT_STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class CaseListRow:
    """A row of "Your requests": plain values, no models."""

    pk: int
    reference: str
    status: str
    tier: str
    created_at: datetime.datetime
    start_date: datetime.date | None
    end_date: datetime.date | None
    grant: CaseListGrant | None
    site_names: list[str]

    @property
    def is_draft(self) -> bool:
        return self.status == BusinessCase.Status.DRAFT

    def get_tier_display(self) -> str:
        return TIER_LABELS.get(self.tier, self.tier)

    def get_status_display(self) -> str:
        return _CASE_STATUS_LABELS.get(self.status, self.status)


def case_list_values_for_requester(*, user) -> QuerySet:
    """The person's own cases, newest first, as the values "Your requests" shows (page
    through these, then make a page's rows with `case_list_rows`)."""
    return (
        BusinessCase.objects.filter(requester=user)
        .order_by("-created_at", "-id")
        .values_list(
            "id",
            "reference",
            "status",
            "tier",
            "created_at",
            "start_date",
            "end_date",
            "grant__id",
            "grant__status",
            "grant__start_date",
            "grant__end_date",
        )
    )


def case_list_rows(values) -> list[CaseListRow]:
    """A page of `case_list_values_for_requester` as rows, with each case's sites' names:
    one query more, whatever their number."""
    values = list(values)
    sites = site_names_by_case([row[0] for row in values])
    return [
        CaseListRow(
            pk,
            reference,
            status,
            tier,
            created_at,
            start_date,
            end_date,
            CaseListGrant(grant_status, grant_start, grant_end) if grant_id is not None else None,
            sites.get(pk, []),
        )
        for (
            pk,
            reference,
            status,
            tier,
            created_at,
            start_date,
            end_date,
            grant_id,
            grant_status,
            grant_start,
            grant_end,
        ) in values
    ]


def business_case_for_requester(*, user, pk: int) -> BusinessCase | None:
    """One of the person's own cases (drafts included) with everything its pages show,
    or None: another person's case does not exist as far as this person knows."""
    # At most one row (the primary key): no ORDER BY and no LIMIT to build, as `first()`
    # would (a fifth of this query's Python on every question page).
    found = (
        BusinessCase.objects.filter(requester=user, pk=pk)
        .order_by()
        .select_related(
            "requester__profile__business_unit",
            "paying_business_unit__directorate",
            "budget_holder__profile",
            "grant",
        )
        .prefetch_related(
            Prefetch(
                "site_identities",
                queryset=SiteIdentity.objects.select_related("site").order_by("site__name"),
            )
        )
    )
    return next(iter(found), None)


def sites_offered() -> QuerySet[Site]:
    """The catalogue as staff see it: the sites admins have left switched on."""
    return Site.objects.filter(is_active=True).order_by("name")


def business_units_chargeable_by(*, user) -> QuerySet[BusinessUnit]:
    """The business units this person may charge for a standalone PC: those of their own
    directorate, or of their organisation (`SNS_CHARGEABLE_UNITS`). None for someone
    outside the directory's units."""
    profile = getattr(user, "profile", None)
    unit = profile.business_unit if profile is not None else None
    units = BusinessUnit.objects.select_related("directorate").order_by("name", "cost_centre")
    if unit is None:
        return units.none()
    if settings.SNS_CHARGEABLE_UNITS == "organisation":
        return units.filter(directorate__organisation_id=unit.directorate.organisation_id)
    return units.filter(directorate_id=unit.directorate_id)


def business_unit_is_chargeable_by(*, user, unit: BusinessUnit) -> bool:
    return business_units_chargeable_by(user=user).filter(pk=unit.pk).exists()


def budget_holder_for_unit(*, email: str, unit: BusinessUnit | None, requester) -> tuple:
    """(the person, "") for the budget holder with this email address, or (None, why not):
    they must be an active person in the directory, in the paying unit, not the requester."""
    person = (
        User.objects.select_related("profile__business_unit")
        .filter(email__iexact=email.strip(), is_active=True, profile__isnull=False)
        .first()
    )
    if person is None:
        return None, "Enter the email address of someone in the staff directory"
    if person.pk == requester.pk:
        return None, "The budget holder must be someone other than you"
    if unit is not None and person.profile.business_unit_id != unit.pk:
        return None, f"The budget holder must work in {unit.name}, the unit that will pay"
    return person, ""
