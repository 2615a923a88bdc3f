"""What the approvals emails show, as plain values (the outbox row stores its context).

The approver's emails (the request and its reminders) and the decision emails are built by
one set of builders from value rows (`approval_rows`, `case_rows`, `identity_rows`): a model
instance for each joined row would cost the reminder sweep most of its time.

A reminder's row stores only what is its own (`reminder_stored_context`: the request, the
reminder's number, its link's expiry; the link itself sealed beside it) and is completed
from the request and its case when it is rendered (`reminder_context_complete`): the
reminder sweep writes 100,000 of them, and each would otherwise repeat the whole case
(about 1.6 KB of JSON for PostgreSQL to parse and write).
"""

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from access_requests.models import TIER_LABELS, AccessTier, BusinessCase, SiteIdentity
from core.links import absolute_url
from core.lookups import ids_any
from core.prepared import PreparedQuery
from notifications.models import OutboundEmail
from notifications.rendering import email_context_completer, email_date, email_still_needed
from people.models import display_name_of

from .models import ApprovalRequest

# A person's columns, under a prefix (`approver__`, `requester__`…).
_PERSON = ("email", "first_name", "last_name", "profile__commonly_used_name")
APPROVAL_VALUES = (
    "pk",
    "business_case_id",
    "routed_because",
    "decide_by",
    "token_expires_at",
    "decision",
    "decision_reason",
    "decided_at",
    "approved_end_date",
    "on_behalf_of_id",
    *(f"approver__{name}" for name in _PERSON),
    *(f"on_behalf_of__{name}" for name in _PERSON),
)
CASE_VALUES = (
    "pk",
    "reference",
    "submitted_at",
    "routing_note",
    "tier",
    "paying_business_unit_id",
    "paying_business_unit__name",
    "paying_business_unit__cost_centre",
    "budget_holder_name",
    *(f"budget_holder__{name}" for name in _PERSON),
    "pc_choice",
    "pc_asset_tag",
    "start_date",
    "end_date",
    "purpose",
    "audience",
    "integration",
    *(f"requester__{name}" for name in _PERSON),
    "requester__profile__id",
    "requester__profile__job_title",
    "requester__profile__business_unit__name",
    "requester__profile__business_unit__directorate__name",
)
IDENTITY_VALUES = (
    "business_case_id",
    "site__name",
    "display_name",
    "uses_pseudonym",
    "pseudonym_reason",
    "identifies_as_official",
    "not_official_reason",
)
_PC_CHOICE_LABELS = {
    str(value): str(label) for value, label in BusinessCase._meta.get_field("pc_choice").flatchoices
}


def _approvals_by_ids(ids: list[int]):
    return (
        ApprovalRequest.objects.filter(ids_any(ApprovalRequest, "id", ids))
        .order_by()
        .values_list(*APPROVAL_VALUES)
    )


def _cases_by_ids(ids: list[int]):
    return (
        BusinessCase.objects.filter(ids_any(BusinessCase, "id", ids))
        .order_by()
        .values_list(*CASE_VALUES)
    )


def _identities_by_case_ids(ids: list[int]):
    return (
        SiteIdentity.objects.filter(ids_any(SiteIdentity, "business_case_id", ids))
        .order_by("site__name")
        .values_list(*IDENTITY_VALUES)
    )


# The reminder sweep reads these for every batch of hundreds, a decision for each email:
# each is built once per process and planned once per connection (`core.prepared`), with
# the ids as one array and no default order. The case's joins (ten tables) cost PostgreSQL
# more to plan than to run, and planned afresh for a few hundred ids PostgreSQL chose a
# parallel merge join over every user.
_STAND_IN_IDS = [-(2**62) + 13]
_APPROVALS = PreparedQuery("approvals_email_approvals", _approvals_by_ids, ids=_STAND_IN_IDS)
_CASES = PreparedQuery("approvals_email_cases", _cases_by_ids, ids=_STAND_IN_IDS)
_IDENTITIES = PreparedQuery(
    "approvals_email_identities", _identities_by_case_ids, ids=_STAND_IN_IDS
)


def _rows(prepared: PreparedQuery, ids, names: tuple[str, ...]) -> list[dict]:
    return [dict(zip(names, row, strict=True)) for row in prepared.run(ids=list(ids))]


def approval_rows(ids) -> dict[int, dict]:
    """These approval requests as the emails read them, by id."""
    return {row["pk"]: row for row in _rows(_APPROVALS, ids, APPROVAL_VALUES)}


def case_rows(ids) -> dict[int, dict]:
    """These business cases as the emails read them, by id."""
    return {row["pk"]: row for row in _rows(_CASES, ids, CASE_VALUES)}


def identity_rows(case_ids) -> dict[int, list[dict]]:
    """The site identities of these cases (sites A to Z) as the emails read them, by case id."""
    identities: dict[int, list[dict]] = {}
    for identity in _rows(_IDENTITIES, case_ids, IDENTITY_VALUES):
        identities.setdefault(identity["business_case_id"], []).append(identity)
    return identities


def person(user) -> dict | None:
    """A person as the emails name them, from a user (None for nobody)."""
    if user is None:
        return None
    return {"display_name": user.display_name, "email": user.email}


def person_of(row: dict, prefix: str) -> dict | None:
    """`person` from a row's joined columns under `prefix` (None when nobody is joined)."""
    email = row[f"{prefix}email"]
    if email is None:
        return None
    name = display_name_of(
        row[f"{prefix}profile__commonly_used_name"],
        row[f"{prefix}first_name"],
        row[f"{prefix}last_name"],
        email,
    )
    return {"display_name": name, "email": email}


def approval_summary(approval: dict, *, token_expires_text: str | None = None) -> dict:
    """An approval request as the emails show it. `token_expires_text` is given when the
    link was renewed after the row was read (a reminder)."""
    return {
        "approver": person_of(approval, "approver__"),
        "on_behalf_of": person_of(approval, "on_behalf_of__")
        if approval["on_behalf_of_id"] is not None
        else None,
        "routed_because": approval["routed_because"],
        "decide_by": email_date(approval["decide_by"]),
        "token_expires_at": token_expires_text
        if token_expires_text is not None
        else email_date(approval["token_expires_at"]),
        "decision": approval["decision"],
        "decision_reason": approval["decision_reason"],
        "decided_at": email_date(approval["decided_at"]),
        "approved_end_date": email_date(approval["approved_end_date"]),
    }


def case_summary(case: dict, *, tz=None) -> dict:
    """A business case as the approval and decision emails show it (its time of sending in
    `tz`, the current time zone unless given: see `email_date`)."""
    return {
        "reference": case["reference"],
        "requester": person_of(case, "requester__"),
        "submitted_at": email_date(case["submitted_at"], tz),
        "routing_note": case["routing_note"],
        "tier_display": TIER_LABELS.get(case["tier"], case["tier"]),
        "is_active_tier": case["tier"] == AccessTier.ACTIVE,
        "paying_business_unit": {
            "name": case["paying_business_unit__name"],
            "cost_centre": case["paying_business_unit__cost_centre"],
        }
        if case["paying_business_unit_id"] is not None
        else None,
        # The person from the directory; the typed name on cases from before.
        "budget_holder_name": (person_of(case, "budget_holder__") or {}).get(
            "display_name", case["budget_holder_name"]
        ),
        "pc_choice_display": _PC_CHOICE_LABELS.get(case["pc_choice"], case["pc_choice"]),
        "pc_asset_tag": case["pc_asset_tag"],
        "start_date": email_date(case["start_date"]),
        "end_date": email_date(case["end_date"]),
        "purpose": case["purpose"],
        "audience": case["audience"],
        "integration": case["integration"],
    }


def _profile_summary(case: dict) -> dict | None:
    if case["requester__profile__id"] is None:
        return None
    return {
        "job_title": case["requester__profile__job_title"],
        "business_unit": {
            "name": case["requester__profile__business_unit__name"],
            "directorate": {"name": case["requester__profile__business_unit__directorate__name"]},
        },
    }


def _identity_summary(identity: dict) -> dict:
    return {
        "site": {"name": identity["site__name"]},
        "display_name": identity["display_name"],
        "uses_pseudonym": identity["uses_pseudonym"],
        "pseudonym_reason": identity["pseudonym_reason"],
        "identifies_as_official": identity["identifies_as_official"],
        "not_official_reason": identity["not_official_reason"],
    }


def approval_email_context(
    *,
    approval: dict,
    case: dict,
    identities: list[dict],
    cases_to_decide_url: str,
    token_expires_text: str | None = None,
    tz=None,
    **extra,
) -> dict:
    """What the approver's emails (the request and its reminders) show: the request, the
    whole case with its sites. The link to decide it is not here: it is a live value the
    outbox keeps sealed (`Outgoing.secrets`), never in a stored context. `extra` adds what one kind of
    email shows besides (a reminder's number, whom an escalation comes from). `tz`: as
    `case_summary`'s."""
    return {
        "approval": approval_summary(approval, token_expires_text=token_expires_text),
        "case": case_summary(case, tz=tz),
        "requester": person_of(case, "requester__"),
        "profile": _profile_summary(case),
        "identities": [_identity_summary(identity) for identity in identities],
        "cases_to_decide_url": cases_to_decide_url,
        **extra,
    }


def reminder_stored_context(*, approval_id: int, number: int, token_expires_text: str) -> dict:
    """What a reminder's outbox row stores: the request it reminds of, which reminder it is
    and when its link stops working (the request's `token_expires_at` moves on with the next
    reminder, so the email keeps its own). The rest is read when it is rendered
    (`reminder_context_complete`)."""
    return {
        "approval_request": approval_id,
        "number": number,
        "token_expires_at": token_expires_text,
    }


@email_context_completer("approval_reminder")
def reminder_context_complete(stored: dict) -> dict:
    """A reminder's whole context, as the request email's (`approval_email_context`): the
    request and its case with its sites as they are when it is rendered (sent, or shown on
    the demo's Sent emails page), its number and its link's expiry as stored. A context
    stored whole (written before reminders stored only their own values) is used as it is.
    A request that is gone raises LookupError: the sender records it and retries."""
    if "approval_request" not in stored:
        return stored
    approval_id = stored["approval_request"]
    approval = approval_rows([approval_id]).get(approval_id)
    if approval is None:
        raise LookupError(f"Approval request {approval_id} no longer exists")
    case_id = approval["business_case_id"]
    return approval_email_context(
        approval=approval,
        case=case_rows([case_id])[case_id],
        identities=identity_rows([case_id]).get(case_id, []),
        cases_to_decide_url=absolute_url(reverse("approvals:case-list")),
        token_expires_text=stored["token_expires_at"],
        number=stored["number"],
    )


# The emails that carry an approver's link to decide with.
LINK_TEMPLATES = ("approval_request", "budget_holder_request", "approval_reminder")


def _approval_id_of(email) -> int | None:
    """The approval request an outbox email is about (its `related` object), or None."""
    if email.object_type != ApprovalRequest._meta.label_lower or not email.object_id.isdigit():
        return None
    return int(email.object_id)


@email_still_needed(*LINK_TEMPLATES)
def decision_email_not_needed_because(email) -> str | None:
    """An approver's request or reminder whose request is no longer waiting for their
    decision (decided, passed to another approver, sent back, lapsed, its case withdrawn)
    is not sent: its link no longer works. A request that is gone is the completer's to
    report."""
    approval_id = _approval_id_of(email)
    if approval_id is None:
        return None
    status = ApprovalRequest.objects.filter(pk=approval_id).values_list("status", flat=True).first()
    if status is None or status == ApprovalRequest.Status.OPEN:
        return None
    label = ApprovalRequest.Status(status).label.lower()
    return f"The request was no longer waiting for a decision ({label})"


@email_still_needed("approval_closed")
def closed_email_not_needed_because(email) -> str | None:
    """Telling an approver their link no longer works is needed only if a link may have
    reached them: one of their request's link emails was sent, or is being sent now (claimed).
    One still waiting is set aside when its turn comes (the request is no longer open)."""
    if _approval_id_of(email) is None:
        return None
    reached = OutboundEmail.objects.filter(
        Q(status=OutboundEmail.Status.SENT)
        | Q(status=OutboundEmail.Status.PENDING, claimed_until__gte=timezone.now()),
        object_type=email.object_type,
        object_id=email.object_id,
        template__in=LINK_TEMPLATES,
    )
    if reached.exists():
        return None
    return "The approver was never sent a link to decide with"


def case_closed_summary(case: BusinessCase) -> dict:
    """The few facts of a case that the lapse and closed-request emails name."""
    return {
        "reference": case.reference,
        "requester": person(case.requester),
        "submitted_at": email_date(case.submitted_at),
    }
