"""The admins' page of failed email: emails the outbox gave up on (or that were refused
outright), and emails GOV.UK Notify reported could never be delivered. Each row says who it
was to, which case it was about, when it failed and why."""

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from access_requests.models import AccessGrant, BusinessCase
from approvals.models import ApprovalRequest
from notifications.models import OutboundEmail
from people.models import User, display_name_of

PAGE_FIELDS = (
    "id",
    "to",
    "subject",
    "template",
    "status",
    "last_error",
    "delivery_status",
    "delivery_updated_at",
    "updated_at",
    "object_type",
    "object_id",
)


def failed_emails() -> QuerySet:
    """Failed or undeliverable emails as plain rows; ordered by id (keyset) in the caller,
    through the partial index on exactly these rows."""
    return OutboundEmail.objects.filter(
        Q(status=OutboundEmail.Status.FAILED)
        | Q(delivery_status=OutboundEmail.Delivery.PERMANENT_FAILURE)
    ).values(*PAGE_FIELDS)


@dataclass(frozen=True)
class FailedEmailRow:
    id: int
    to: str
    to_name: str  # the person's name, when the address is someone's
    subject: str
    failed_at: datetime.datetime
    why: str
    undeliverable: bool  # reported by Notify, rather than never sent
    case_id: int | None
    case_reference: str


def _ids(rows, model) -> set[int]:
    label = model._meta.label_lower
    return {int(r["object_id"]) for r in rows if r["object_type"] == label and r["object_id"]}


def _case_of_each(rows) -> dict[tuple[str, str], int]:
    """(object type, object id) → the case it belongs to, for the emails about a case, an
    approval request or a grant; two queries at most."""
    found = {(BusinessCase._meta.label_lower, str(pk)): pk for pk in _ids(rows, BusinessCase)}
    for model in (ApprovalRequest, AccessGrant):
        if ids := _ids(rows, model):
            for pk, case_id in model.objects.filter(pk__in=ids).values_list(
                "pk", "business_case_id"
            ):
                found[(model._meta.label_lower, str(pk))] = case_id
    return found


def failed_email_rows(rows: list[dict]) -> list[FailedEmailRow]:
    """A page's rows with each one's person and case: three queries whatever its size."""
    cases_of = _case_of_each(rows)
    references = dict(
        BusinessCase.objects.filter(pk__in=set(cases_of.values())).values_list("pk", "reference")
    )
    names = {
        email.lower(): display_name_of(common, first, last, email)
        for email, common, first, last in User.objects.filter(
            email__in={r["to"] for r in rows}
        ).values_list("email", "profile__commonly_used_name", "first_name", "last_name")
    }
    page = []
    for row in rows:
        undeliverable = row["delivery_status"] == OutboundEmail.Delivery.PERMANENT_FAILURE
        if undeliverable:
            why = "GOV.UK Notify: the email address does not exist or refuses email"
        else:
            why = row["last_error"] or "Not sent"
        case_id = cases_of.get((row["object_type"], row["object_id"]))
        page.append(
            FailedEmailRow(
                id=row["id"],
                to=row["to"],
                to_name=names.get(row["to"].lower(), ""),
                subject=row["subject"] or row["template"],
                failed_at=(undeliverable and row["delivery_updated_at"]) or row["updated_at"],
                why=why,
                undeliverable=undeliverable,
                case_id=case_id,
                case_reference=(references.get(case_id) or f"Draft {case_id}") if case_id else "",
            )
        )
    return page
