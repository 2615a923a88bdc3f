"""One case's file: the case with its answers, decision, grant and full timeline from the
audit trail."""

from dataclasses import dataclass, field

from django.db.models import Q

from access_requests.models import AccessGrant, BusinessCase, Site, SiteIdentity
from approvals.models import ApprovalRequest
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.models import User

from .accountability import cost_agreed, latest_review_outcomes
from .audit_trail import AuditRow, audit_page_values, audit_rows


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


def _people(ids: set[int]) -> dict[int, User]:
    """The people a case file names, with what the page shows of them (name, email and
    the requester's business unit, directorate and organisation), in one query."""
    return (
        User.objects.select_related("profile__business_unit__directorate__organisation")
        .only(
            "email",
            "first_name",
            "last_name",
            "profile__commonly_used_name",
            "profile__business_unit__name",
            "profile__business_unit__directorate__name",
            "profile__business_unit__directorate__organisation__name",
        )
        .in_bulk(ids - {None})
    )


def _attach_people(obj, names: tuple[str, ...], people: dict[int, User]) -> None:
    for name in names:
        person_id = getattr(obj, f"{name}_id")
        if person_id is not None:
            setattr(obj, name, people[person_id])


def case_file(*, pk: int) -> CaseFile | None:
    """A case with its answers, decision, grant and full timeline from the audit trail."""
    # The case, its grant, the grant's sites, its approvals and the people they name each
    # come from a small query of their own: as one nine-table join, PostgreSQL spends
    # longer planning it than running it. Everyone named is read in one query (`_people`).
    # get(), not first(): first() adds an ORDER BY that Django and PostgreSQL then plan.
    try:
        case = BusinessCase.objects.select_related("paying_business_unit").get(pk=pk)
    except BusinessCase.DoesNotExist:
        return None
    if case.renewal_of_id is not None:
        # Few cases renew a grant: the two joins for it would cost every other case their
        # planning.
        case.renewal_of = AccessGrant.objects.select_related("business_case").get(
            pk=case.renewal_of_id
        )
    try:
        grant = AccessGrant.objects.get(business_case_id=pk)
    except AccessGrant.DoesNotExist:
        grant = None
    else:
        grant.site_names = list(
            Site.objects.filter(grants=grant).order_by("name").values_list("name", flat=True)
        )
    approvals = list(
        ApprovalRequest.objects.filter(business_case_id=pk).order_by("created_at", "id")
    )
    people_ids = {case.requester_id}
    review = None
    if grant is not None:
        people_ids |= {getattr(grant, f"{name}_id") for name in GRANT_PEOPLE}
        review = latest_review_outcomes([grant.pk]).get(grant.pk)
        if review is not None:
            people_ids.add(review.decided_by_id)
    for approval in approvals:
        people_ids |= {getattr(approval, f"{name}_id") for name in APPROVAL_PEOPLE}
    people = _people(people_ids)
    case.requester = people[case.requester_id]
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
    identities = list(
        SiteIdentity.objects.filter(business_case_id=pk)
        .select_related("site")
        .order_by("site__name")
    )

    by_type = {"access_requests.businesscase": [str(case.pk)]}
    if grant is not None:
        by_type["access_requests.accessgrant"] = [str(grant.pk)]
    if approvals:
        by_type["approvals.approvalrequest"] = [str(a.pk) for a in approvals]
    about_case = Q()
    for object_type, ids in by_type.items():
        about_case |= Q(object_type=object_type, object_id__in=ids)
    email_ids = [
        str(email_id)
        for email_id in OutboundEmail.objects.filter(about_case).values_list("pk", flat=True)
    ]
    if email_ids:
        about_case |= Q(object_type="notifications.outboundemail", object_id__in=email_ids)
    # The events as the audit trail reads them (plain values, the actor's name joined in),
    # so `timeline_html` writes them without loading AuditEvent instances.
    timeline = audit_rows(
        audit_page_values(AuditEvent.objects.filter(about_case).order_by("id"))[:TIMELINE_LIMIT]
    )
    return CaseFile(
        case=case,
        identities=identities,
        grant=grant,
        approvals=approvals,
        decision=decision,
        timeline=timeline,
    )
