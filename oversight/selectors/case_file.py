"""One case's file: the case with its answers, decision, grant and full timeline from the
audit trail."""

import json
from dataclasses import dataclass, field

from django.db.models import Q

from access_requests.models import AccessGrant, BusinessCase, SiteIdentity
from access_requests.selectors.case_page import case_page_identities, paying_unit_from_values
from access_requests.selectors.grants import site_names_by_grant
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from core.lookups import ids_any
from core.prepared import PreparedQuery, model_from_values
from notifications.models import OutboundEmail
from people.models import BusinessUnit, Directorate, Organisation, StaffProfile, User

from .accountability import cost_agreed, latest_review_outcomes
from .audit_trail import ACTOR_NAME_FIELDS, AUDIT_ROW_FIELDS, AuditRow, audit_rows


@dataclass
class CaseFile:
    case: BusinessCase
    identities: list[SiteIdentity]
    grant: AccessGrant | None
    approvals: list[ApprovalRequest]
    decision: ApprovalRequest | None
    timeline: list[AuditRow] = field(default_factory=list)


TIMELINE_LIMIT = 1000

GRANT_PEOPLE = (
    "approved_by",
    "approved_on_behalf_of",
    "provisioned_by",
    "revoked_by",
    "cost_agreed_by",
)
APPROVAL_PEOPLE = ("approver", "on_behalf_of")

CASE_FIELDS = tuple(f.attname for f in BusinessCase._meta.concrete_fields)
GRANT_FIELDS = tuple(f.attname for f in AccessGrant._meta.concrete_fields)
# What the page shows of an approval request (not its token's hash or reminders).
APPROVAL_FIELDS = (
    "id",
    "business_case_id",
    "approver_id",
    "routed_because",
    "stage",
    "on_behalf_of_id",
    "status",
    "decision",
    "decision_reason",
    "decided_at",
)


def _case(pk: int):
    return BusinessCase.objects.filter(pk=pk).values_list(
        *CASE_FIELDS,
        "paying_business_unit__name",
        "paying_business_unit__cost_centre",
        "renewal_of__business_case_id",
        "renewal_of__business_case__reference",
        *(f"grant__{name}" for name in GRANT_FIELDS),
    )


def _approvals(case_id: int):
    return (
        ApprovalRequest.objects.filter(business_case_id=case_id)
        .order_by("created_at", "id")
        .values_list(*APPROVAL_FIELDS)
    )


PERSON_FIELDS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "profile__id",
    "profile__commonly_used_name",
    "profile__business_unit_id",
    "profile__business_unit__name",
    "profile__business_unit__directorate_id",
    "profile__business_unit__directorate__name",
    "profile__business_unit__directorate__organisation_id",
    "profile__business_unit__directorate__organisation__name",
)


def _people(ids: list[int]):
    return User.objects.filter(ids_any(User, "id", ids)).values_list(*PERSON_FIELDS)


def _about_case(case_ids, grant_ids, approval_ids) -> Q:
    return (
        Q(ids_any(AuditEvent, "object_id", case_ids), object_type="access_requests.businesscase")
        | Q(ids_any(AuditEvent, "object_id", grant_ids), object_type="access_requests.accessgrant")
        | Q(ids_any(AuditEvent, "object_id", approval_ids), object_type="approvals.approvalrequest")
    )


def _emails(case_ids: list[str], grant_ids: list[str], approval_ids: list[str]):
    about = (
        Q(
            ids_any(OutboundEmail, "object_id", case_ids),
            object_type="access_requests.businesscase",
        )
        | Q(
            ids_any(OutboundEmail, "object_id", grant_ids),
            object_type="access_requests.accessgrant",
        )
        | Q(
            ids_any(OutboundEmail, "object_id", approval_ids),
            object_type="approvals.approvalrequest",
        )
    )
    return OutboundEmail.objects.filter(about).values_list("pk")


def _events(case_ids, grant_ids, approval_ids, email_ids):
    return (
        AuditEvent.objects.filter(
            _about_case(case_ids, grant_ids, approval_ids)
            | Q(
                ids_any(AuditEvent, "object_id", email_ids),
                object_type="notifications.outboundemail",
            )
        )
        .order_by("id")
        .values_list(*AUDIT_ROW_FIELDS, *ACTOR_NAME_FIELDS.values())[:TIMELINE_LIMIT]
    )


# The case file's queries: built once per process and planned once per connection
# (`core.prepared`). As one nine-table join, PostgreSQL spent longer planning the case,
# its grant and the people they name than running it; planned once, the case comes with
# its grant, and everyone named comes in one query by an array of ids.
_STAND_INS = {
    "case_ids": ["-case-"],
    "grant_ids": ["-grant-"],
    "approval_ids": ["-approval-"],
}
_CASE = PreparedQuery("case_file_case", _case, pk=-(2**62) + 79)
_APPROVALS = PreparedQuery("case_file_approvals", _approvals, case_id=-(2**62) + 83)
_PEOPLE = PreparedQuery("case_file_people", _people, ids=[-(2**62) + 89])
_EMAILS = PreparedQuery("case_file_emails", _emails, **_STAND_INS)
_EVENTS = PreparedQuery("case_file_timeline", _events, **_STAND_INS, email_ids=["-email-"])


def _person(values: dict) -> User:
    profile = None
    if values["profile__id"] is not None:
        unit = None
        if values["profile__business_unit_id"] is not None:
            organisation = model_from_values(
                Organisation,
                {
                    "id": values["profile__business_unit__directorate__organisation_id"],
                    "name": values["profile__business_unit__directorate__organisation__name"],
                },
            )
            directorate = model_from_values(
                Directorate,
                {
                    "id": values["profile__business_unit__directorate_id"],
                    "name": values["profile__business_unit__directorate__name"],
                    "organisation_id": organisation.pk,
                },
                related={"organisation": organisation},
            )
            unit = model_from_values(
                BusinessUnit,
                {
                    "id": values["profile__business_unit_id"],
                    "name": values["profile__business_unit__name"],
                    "directorate_id": directorate.pk,
                },
                related={"directorate": directorate},
            )
        profile = model_from_values(
            StaffProfile,
            {
                "id": values["profile__id"],
                "user_id": values["id"],
                "commonly_used_name": values["profile__commonly_used_name"],
                "business_unit_id": values["profile__business_unit_id"],
            },
            related={"business_unit": unit},
        )
    return model_from_values(
        User,
        {name: values[name] for name in ("id", "email", "first_name", "last_name")},
        related={"profile": profile},
    )


def _attach_people(obj, names: tuple[str, ...], people: dict[int, User]) -> None:
    for name in names:
        person_id = getattr(obj, f"{name}_id")
        obj._meta.get_field(name).set_cached_value(
            obj, people[person_id] if person_id is not None else None
        )


def _case_and_grant(pk: int) -> tuple[BusinessCase, AccessGrant | None] | None:
    rows = _CASE.run(pk=pk)
    if not rows:
        return None
    row = rows[0]
    case_values = dict(zip(CASE_FIELDS, row, strict=False))
    unit_name, cost_centre, renewed_case_id, renewed_reference = row[len(CASE_FIELDS) :][:4]
    grant_values = dict(zip(GRANT_FIELDS, row[len(CASE_FIELDS) + 4 :], strict=True))
    related = {}
    if case_values["paying_business_unit_id"] is not None:
        related["paying_business_unit"] = paying_unit_from_values(
            case_values["paying_business_unit_id"], name=unit_name, cost_centre=cost_centre
        )
    if case_values["renewal_of_id"] is not None:
        renewed_case = model_from_values(
            BusinessCase, {"id": renewed_case_id, "reference": renewed_reference}
        )
        related["renewal_of"] = model_from_values(
            AccessGrant,
            {"id": case_values["renewal_of_id"], "business_case_id": renewed_case_id},
            related={"business_case": renewed_case},
        )
    case = model_from_values(BusinessCase, case_values, related=related)
    grant = None
    if grant_values["id"] is not None:
        grant = model_from_values(AccessGrant, grant_values, related={"business_case": case})
    return case, grant


def case_file(*, pk: int) -> CaseFile | None:
    """A case with its answers, decision, grant and full timeline from the audit trail."""
    found = _case_and_grant(pk)
    if found is None:
        return None
    case, grant = found
    approvals = [
        model_from_values(ApprovalRequest, dict(zip(APPROVAL_FIELDS, row, strict=True)))
        for row in _APPROVALS.run(case_id=pk)
    ]
    people_ids = {case.requester_id}
    review = None
    if grant is not None:
        grant.site_names = site_names_by_grant([grant.pk]).get(grant.pk, [])
        people_ids |= {getattr(grant, f"{name}_id") for name in GRANT_PEOPLE}
        review = latest_review_outcomes([grant.pk]).get(grant.pk)
        if review is not None:
            people_ids.add(review.decided_by_id)
    for approval in approvals:
        people_ids |= {getattr(approval, f"{name}_id") for name in APPROVAL_PEOPLE}
    people = {
        values["id"]: _person(values)
        for values in (
            dict(zip(PERSON_FIELDS, row, strict=True))
            for row in _PEOPLE.run(ids=sorted(people_ids - {None}))
        )
    }
    _attach_people(case, ("requester",), people)
    if grant is not None:
        _attach_people(grant, GRANT_PEOPLE, people)

        def name_of(pk: int) -> str:
            return people[pk].display_name

        grant.cost_agreed = cost_agreed(
            tier=grant.tier,
            cost_agreed_by_id=grant.cost_agreed_by_id,
            approved_by_id=grant.approved_by_id,
            holder_id=grant.holder_id,
            approved_at=grant.approved_at,
            name_of=name_of,
        ).text
        grant.review = review.text(name_of) if review is not None else ""
        grant.review_id = review.review_id if review is not None else None
    for approval in approvals:
        _attach_people(approval, APPROVAL_PEOPLE, people)
    decision = next((a for a in approvals if a.status == ApprovalRequest.Status.DECIDED), None)
    identities = case_page_identities(case_id=pk)

    about = {
        "case_ids": [str(pk)],
        "grant_ids": [str(grant.pk)] if grant is not None else [],
        "approval_ids": [str(a.pk) for a in approvals],
    }
    email_ids = [str(email_id) for (email_id,) in _EMAILS.run(**about)]
    # The events as the audit trail reads them (plain values, the actor's name joined in),
    # so `timeline_html` writes them without loading AuditEvent instances.
    names = (*AUDIT_ROW_FIELDS, *ACTOR_NAME_FIELDS)
    timeline = audit_rows(
        [
            _event_values(dict(zip(names, row, strict=True)))
            for row in _EVENTS.run(**about, email_ids=email_ids)
        ]
    )
    return CaseFile(
        case=case,
        identities=identities,
        grant=grant,
        approvals=approvals,
        decision=decision,
        timeline=timeline,
    )


def _event_values(values: dict) -> dict:
    # A prepared query's rows are the database's values: `changes` (jsonb) comes as its
    # text, which the ORM's values() would have decoded.
    changes = values["changes"]
    if isinstance(changes, str):
        values["changes"] = json.loads(changes)
    return values
