"""A sent case's own page for its requester: the case with what its page shows of its
grant, paying unit, budget holder and sites, and its timeline, each from one prepared
query (`core.prepared`: built once per process, planned once per connection).

The case and its identities are model instances made from the queries' values
(`model_from_values`), with their related rows cached as `select_related` caches them, so
the page's templates (and `_summary.html`, shared with "Check your answers") read them as
they read the ORM's."""

import datetime
from dataclasses import dataclass

from django.db.models import Q

from access_requests.models import AccessGrant, BusinessCase, Site, SiteIdentity
from audit import descriptions
from audit.models import AuditEvent
from core.lookups import ids_any
from core.prepared import PreparedQuery, model_from_values
from people.models import BusinessUnit, StaffProfile, User, display_name_of

CASE_FIELDS = tuple(field.attname for field in BusinessCase._meta.concrete_fields)
GRANT_FIELDS = ("id", "status", "start_date", "end_date")


def _case(requester_id: int, pk: int):
    return BusinessCase.objects.filter(requester_id=requester_id, pk=pk).values_list(
        *CASE_FIELDS,
        *(f"grant__{name}" for name in GRANT_FIELDS),
        "paying_business_unit__name",
        "paying_business_unit__cost_centre",
        "budget_holder__first_name",
        "budget_holder__last_name",
        "budget_holder__email",
        "budget_holder__profile__id",
        "budget_holder__profile__commonly_used_name",
        "requester__profile__id",
        "requester__profile__job_title",
    )


_CASE = PreparedQuery("case_page_case", _case, requester_id=-(2**62) + 61, pk=-(2**62) + 67)


def _profile(pk: int | None, **values) -> StaffProfile | None:
    return None if pk is None else model_from_values(StaffProfile, {"id": pk, **values})


def paying_unit_from_values(pk: int, *, name: str, cost_centre: str) -> BusinessUnit:
    """The paying business unit as a case's pages show it (its name and cost centre), from
    a prepared query's values."""
    return model_from_values(BusinessUnit, {"id": pk, "name": name, "cost_centre": cost_centre})


def case_page_case(*, user, pk: int) -> BusinessCase | None:
    """One of the person's own cases with what its page shows, or None (another person's
    case, as `business_case_for_requester`)."""
    rows = _CASE.run(requester_id=user.pk, pk=pk)
    if not rows:
        return None
    row = rows[0]
    case_values = dict(zip(CASE_FIELDS, row, strict=False))
    rest = row[len(CASE_FIELDS) :]
    grant_values = dict(zip(GRANT_FIELDS, rest, strict=False))
    (
        unit_name,
        unit_cost_centre,
        holder_first,
        holder_last,
        holder_email,
        holder_profile_id,
        holder_common_name,
        requester_profile_id,
        requester_job_title,
    ) = rest[len(GRANT_FIELDS) :]
    grant = None
    if grant_values["id"] is not None:
        grant = model_from_values(AccessGrant, {**grant_values, "business_case_id": pk})
    related = {
        "grant": grant,
        "requester": model_from_values(
            User,
            {"id": case_values["requester_id"]},
            related={
                "profile": _profile(requester_profile_id, job_title=requester_job_title),
            },
        ),
    }
    if case_values["paying_business_unit_id"] is not None:
        related["paying_business_unit"] = paying_unit_from_values(
            case_values["paying_business_unit_id"], name=unit_name, cost_centre=unit_cost_centre
        )
    if case_values["budget_holder_id"] is not None:
        related["budget_holder"] = model_from_values(
            User,
            {
                "id": case_values["budget_holder_id"],
                "first_name": holder_first,
                "last_name": holder_last,
                "email": holder_email,
            },
            related={
                "profile": _profile(holder_profile_id, commonly_used_name=holder_common_name),
            },
        )
    return model_from_values(BusinessCase, case_values, related=related)


IDENTITY_FIELDS = tuple(
    field.attname
    for field in SiteIdentity._meta.concrete_fields
    if field.attname not in ("created_at", "updated_at")
)


def _identities(case_id: int):
    return (
        SiteIdentity.objects.filter(business_case_id=case_id)
        .order_by("site__name")
        .values_list(*IDENTITY_FIELDS, "site__name")
    )


_IDENTITIES = PreparedQuery("case_page_identities", _identities, case_id=-(2**62) + 73)


def case_page_identities(*, case_id: int) -> list[SiteIdentity]:
    """The case's identities, by site name, each with its site's name."""
    identities = []
    for *values, site_name in _IDENTITIES.run(case_id=case_id):
        identity = dict(zip(IDENTITY_FIELDS, values, strict=True))
        site = model_from_values(Site, {"id": identity["site_id"], "name": site_name})
        identities.append(model_from_values(SiteIdentity, identity, related={"site": site}))
    return identities


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the requester's timeline: what happened (`audit.descriptions`), when,
    and who did it (None when the reader did it themselves)."""

    description: str
    occurred_at: datetime.datetime
    actor_id: int | None
    actor: str  # who, in words: a person's name, "the portal", "someone with the link"


def _events(case_id: str, approval_ids: list[str], grant_ids: list[str]):
    return (
        AuditEvent.objects.filter(
            Q(object_type="access_requests.businesscase", object_id=case_id)
            | Q(
                ids_any(AuditEvent, "object_id", approval_ids),
                object_type="approvals.approvalrequest",
            )
            | Q(
                ids_any(AuditEvent, "object_id", grant_ids),
                object_type="access_requests.accessgrant",
            )
        )
        .order_by("occurred_at", "id")
        .values_list(
            "action",
            "occurred_at",
            "actor_id",
            "actor_label",
            "actor__profile__commonly_used_name",
            "actor__first_name",
            "actor__last_name",
            "actor__email",
        )
    )


_EVENTS = PreparedQuery(
    "case_page_timeline",
    _events,
    case_id="-stand-in-case-",
    approval_ids=["-stand-in-approvals-"],
    grant_ids=["-stand-in-grants-"],
)


def business_case_timeline(*, case: BusinessCase, approval_ids: list[int]) -> list[TimelineEntry]:
    """Everything the audit trail records about the case, its approval requests
    (`approval_ids`) and its grant, oldest first, in words. A run of answers saved on the
    question pages is one "Draft answered" line, at the time of its last save. One query
    whatever the length (the events by `audit_object_idx`)."""
    grant = case.grant if hasattr(case, "grant") else None
    rows = _EVENTS.run(
        case_id=str(case.pk),
        approval_ids=[str(pk) for pk in approval_ids],
        grant_ids=[str(grant.pk)] if grant is not None else [],
    )
    entries: list[TimelineEntry] = []
    for action, occurred_at, actor_id, actor_label, common, first, last, email in rows:
        drafting = action in descriptions.DRAFT_ACTIONS
        if actor_id is not None:
            actor = display_name_of(common, first, last, email)
        elif actor_label.startswith("system:"):
            actor = "the portal"
        else:
            actor = descriptions.actor_in_words(actor_label=actor_label, action=action)
        entry = TimelineEntry(
            description=descriptions.DRAFT_ANSWERED
            if drafting
            else descriptions.action_description(action),
            occurred_at=occurred_at,
            actor_id=actor_id,
            actor=actor,
        )
        previous = entries[-1] if entries else None
        if (
            drafting
            and previous is not None
            and previous.description == descriptions.DRAFT_ANSWERED
            and previous.actor_id == actor_id
        ):
            entries[-1] = entry
        else:
            entries.append(entry)
    return entries
