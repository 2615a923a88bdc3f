"""What the read API reads: the register's grants (through the register's own filters,
keyset pages and row pieces in `oversight.selectors`), business cases, and service tokens
for the admins' pages."""

from django.db.models import Prefetch, QuerySet

from access_requests.models import TIER_LABELS, BusinessCase, SiteIdentity
from access_requests.selectors.grants import site_names_by_grant
from oversight.selectors.accountability import cost_agreed_of
from oversight.selectors.people import NOBODY
from oversight.selectors.register import GRANT_STATUS_LABELS, register_page_people
from people.models import BusinessUnit

from .models import ServiceToken

CASE_STATUS_LABELS = dict(BusinessCase.Status.choices)


def _units(ids: set[int]) -> dict[int, dict]:
    return {
        unit["id"]: {"id": unit["id"], "name": unit["name"], "cost_centre": unit["cost_centre"]}
        for unit in BusinessUnit.objects.filter(pk__in=ids).values("id", "name", "cost_centre")
    }


def _person(person, pk) -> dict | None:
    if pk is None:
        return None
    return {"id": pk, "name": person.name, "email": person.email}


def _cost_agreement(v: dict, people: dict, name_of) -> dict:
    agreed = cost_agreed_of(v, name_of)
    by_id = None if agreed.shortcut else v["cost_agreed_by_id"]
    return {
        "text": agreed.text,
        "agreed_by": _person(people.get(by_id, NOBODY), by_id),
        "agreed_on": agreed.on,
        "counted_as_director": agreed.shortcut,
    }


def _review(outcome, people: dict, name_of) -> dict | None:
    if outcome is None:
        return None
    return {
        "review_id": outcome.review_id,
        "outcome": outcome.outcome,
        "decided_by": _person(people.get(outcome.decided_by_id, NOBODY), outcome.decided_by_id),
        "decided_on": outcome.decided_on,
        "text": outcome.text(name_of),
    }


def grant_items(values: list[dict]) -> list[dict]:
    """A page of `register_page_values(..., extra=("paying_business_unit_id",))` as the API's
    grants: four more queries, for the latest access reviews, the people on the page, the
    sites and the paying units."""
    if not values:
        return []
    people, reviews = register_page_people(values)

    def name_of(pk: int) -> str:
        return people.get(pk, NOBODY).name

    sites = site_names_by_grant([v["id"] for v in values])
    units = _units({v["paying_business_unit_id"] for v in values} - {None})
    items = []
    for v in values:
        holder = people.get(v["holder_id"], NOBODY)
        items.append(
            {
                "id": v["id"],
                "reference": v["reference"],
                "case_id": v["business_case_id"],
                "holder": {
                    "id": v["holder_id"],
                    "name": holder.name,
                    "email": holder.email,
                    "directorate": holder.directorate,
                    "business_unit": holder.business_unit,
                },
                "sites": sites.get(v["id"], []),
                "tier": v["tier"],
                "tier_label": TIER_LABELS.get(v["tier"], v["tier"]),
                "start_date": v["start_date"],
                "end_date": v["end_date"],
                "status": v["status"],
                "status_label": GRANT_STATUS_LABELS.get(v["status"], v["status"]),
                "approved_by": _person(
                    people.get(v["approved_by_id"], NOBODY), v["approved_by_id"]
                ),
                "approved_on_behalf_of": _person(
                    people.get(v["approved_on_behalf_of_id"], NOBODY),
                    v["approved_on_behalf_of_id"],
                ),
                "paying_unit": units.get(v["paying_business_unit_id"]),
                "cost_agreed": _cost_agreement(v, people, name_of),
                "latest_review": _review(reviews.get(v["id"]), people, name_of),
            }
        )
    return items


def cases_for_api(*, status: str = "", reference: str = "") -> QuerySet[BusinessCase]:
    """Sent business cases (drafts are their writer's own), for keyset pages by id."""
    cases = BusinessCase.objects.exclude(status=BusinessCase.Status.DRAFT)
    if status:
        cases = cases.filter(status=status)
    if reference:
        cases = cases.filter(reference=reference)
    return cases.select_related(
        "requester__profile", "paying_business_unit", "budget_holder__profile", "grant"
    ).prefetch_related(
        Prefetch(
            "site_identities",
            queryset=SiteIdentity.objects.select_related("site").order_by("site__name"),
        )
    )


def case_item(case: BusinessCase, *, with_reasons: bool) -> dict:
    """A business case as the API gives it; its free text (the business need and people's
    reasons) only `with_reasons` (the `cases:reasons` scope)."""
    grant = getattr(case, "grant", None)
    unit = case.paying_business_unit
    item = {
        "id": case.pk,
        "reference": case.reference,
        "status": case.status,
        "status_label": CASE_STATUS_LABELS.get(case.status, case.status),
        "requester": {
            "id": case.requester_id,
            "name": case.requester.display_name,
            "email": case.requester.email,
        },
        "tier": case.tier,
        "tier_label": TIER_LABELS.get(case.tier, case.tier),
        "sites": [
            {
                "site": identity.site.name,
                "display_name": identity.display_name,
                "uses_pseudonym": identity.uses_pseudonym,
                "identifies_as_official": identity.identifies_as_official,
                **(
                    {
                        "pseudonym_reason": identity.pseudonym_reason,
                        "not_official_reason": identity.not_official_reason,
                    }
                    if with_reasons
                    else {}
                ),
            }
            for identity in case.site_identities.all()
        ],
        "paying_unit": (
            {"id": unit.pk, "name": unit.name, "cost_centre": unit.cost_centre} if unit else None
        ),
        "budget_holder": case.budget_holder_label,
        "start_date": case.start_date,
        "end_date": case.end_date,
        "submitted_at": case.submitted_at,
        "decided_at": case.decided_at,
        "withdrawn_at": case.withdrawn_at,
        "lapsed_at": case.lapsed_at,
        "grant_id": grant.pk if grant else None,
        "renewal_of": case.renewal_of_id,
    }
    if with_reasons:
        item.update(
            purpose=case.purpose,
            audience=case.audience,
            integration=case.integration,
            decision_reason=case.decision_reason,
            withdrawal_reason=case.withdrawal_reason,
        )
    return item


def service_tokens() -> QuerySet[ServiceToken]:
    """Every token, newest first, with its owner, for the admins' list."""
    return ServiceToken.objects.select_related("owner__profile", "created_by__profile")
