"""What the audit trail's codes mean in plain English: every page that shows events (the
audit trail, an event's own page, the case file's timeline, the requester's timeline) reads
its words from here, so an action, a field or a value is described once.

- `ACTIONS`: each recorded action (`case.identity_saved`) as a sentence ("Identity on a
  site answered"). `audit/tests/test_descriptions.py` fails when the code records an action
  that has none.
- `OBJECT_TYPES`: what an event is about (`access_requests.businesscase` → "Business case").
- `FIELDS`: each changed field's label ("uses_pseudonym" → "Uses a pseudonym"), and
  `VALUES` the words for coded values (a status, a tier, a routing reason).
- `change_lines`: an event's changes as "Uses a pseudonym: changed from No to Yes", with
  yes/no for booleans and GOV.UK dates and times.
- `actor_in_words`: who acted, as a reader would say it.

The labels of coded values repeat the models' choices here because the trail sits below the
apps that define them; a test checks that they agree.
"""

import datetime
import re
from dataclasses import dataclass

from core.templatetags.list_filters import govuk_date_time, long_date

ACTIONS = {
    # Business cases (the requester, the portal's sweeps)
    "case.started": "Draft started",
    "case.renewal_started": "Renewal started as a new draft",
    "case.asked_again": "Asked again: a new draft with an earlier request's answers",
    "case.sites_changed": "Sites chosen",
    "case.answers_saved": "Answers saved",
    "case.identity_saved": "Identity on a site answered",
    "case.draft_deleted": "Draft deleted",
    "case.submitted": "Sent for a decision",
    "case.sent_again": "Sent again with more information",
    "case.withdrawn": "Withdrawn",
    "case.lapsed": "Expired without a decision",
    "case.texts_removed": "Closed cases' written reasons removed after the retention period",
    # Approval requests (routing, the approver's link, decisions, reminders)
    "approval.sent": "Sent to an approver",
    "approval.opened": "Approver's link opened",
    "approval.decided": "Decision made",
    "approval.more_information_asked": "Approver asked for more information",
    "approval.superseded": "Approval request closed",
    "approval.reminded": "Reminder sent to the approver",
    "approval.reminders_stopped": "Reminders to the approver stopped",
    "approval.escalated": "Escalated to another approver",
    "approval.budget_holder_asked": "Budget holder asked to agree to the cost",
    "people.budget_holder_changed": "Business unit's budget holder changed",
    "approval.email_undeliverable": "Approver's email could not be delivered; the case escalated",
    "approval.authority_lost": "Approval request closed: the approver may no longer decide",
    "approval.no_approver": "Nobody may decide the case now; it waits to lapse",
    "approval.rerouted": "Sent to whoever decides now, after a change in the staff directory",
    # The site catalogue (Manage sites)
    "site.created": "Site added to the catalogue",
    "site.renamed": "Site renamed",
    "site.retired": "Site retired: no longer offered",
    "site.unretired": "Site offered again",
    # Access reviews (recertification)
    "access_review.started": "Access review started; each reviewer emailed",
    "access_review.decided": "Access reviewed: kept or ended",
    "access_review.reminded": "Reviewers reminded of the access review's due date",
    "access_review.escalated": "Access nobody reviewed by the due date sent to the fallback approver",
    "access_review.closed": "Access review ended; what nobody reviewed kept or ended",
    # Delegations
    "delegation.created": "Deputy named",
    "delegation.cancelled": "Deputy's delegation cancelled",
    "delegation.ended": "Deputy's delegation ended by a change in the staff directory",
    # Access grants
    "grant.created": "Access granted",
    "grant.provisioned": "Access set up by ICT",
    "grant.returned": "Returned by ICT",
    "grant.revoked": "Access revoked",
    "grant.surrendered": "Access given up",
    "grant.lapse_chosen": "Chose to let access lapse",
    "grant.lapse_undone": "Took back the choice to let access lapse",
    "grant.expired": "Access expired",
    "grant.expiry_notice_sent": "Expiry notice sent",
    "grant.safe_use_reminded": "Safe use reminder sent",
    "grant.safe_use_confirmed": "Safe use confirmed",
    "grant.access_withdrawn": "ICT withdrew the access (sites closed or PC recovered)",
    "grant.holder_moved": "Holder moved to another directorate; its director told",
    # Emails
    "email.delivery_reported": "GOV.UK Notify reported how an email was delivered",
    "email.sent": "Email sent",
    "email.send_failed": "Email not sent yet: sending failed, will try again",
    "email.failed": "Email not sent: gave up after repeated failures",
    "email.not_needed": "Email not sent: what it was about had moved on",
    "email.bodies_removed": "Sent emails' text removed after the retention period",
    # Signing in and people
    "auth.signed_in": "Signed in",
    "auth.signed_out": "Signed out",
    "auth.sign_in_failed": "Sign-in failed",
    "auth.sso_refused": "Single sign-on refused: nobody signed in",
    "people.staff_created": "Person added from the staff directory",
    "people.staff_updated": "Person updated from the staff directory",
    "people.staff_imported": "Staff directory imported",
    "people.director_changed": "Directorate's director changed by the staff directory",
    "people.switched_off": "Switched off: can no longer sign in",
    "people.switched_on": "Switched on again",
    "people.password_set": "Password set",
    "people.password_link_sent": "Emailed the link to create a password (added by an admin)",
    "people.password_reset_requested": "Password link asked for",
    "people.password_reset_throttled": "Password link refused: asked for too often",
    "sign_in_records.removed": "Old sign-in records removed after the retention period",
    # The read API's service tokens (api/)
    "service_token.created": "API token created",
    "service_token.revoked": "API token revoked",
    "service_token.used_from_new_address": "API token used from a new address",
    # The Django admin and the trail itself
    "admin.created": "Added in the admin pages",
    "admin.changed": "Changed in the admin pages",
    "admin.deleted": "Deleted in the admin pages",
    "audit.client_fields_cleared": (
        "Old events' addresses and browsers removed after the retention period"
    ),
}

# Draft answers on the requester's question pages: the requester's own timeline shows a run
# of them as one line.
DRAFT_ACTIONS = frozenset({"case.sites_changed", "case.answers_saved", "case.identity_saved"})
DRAFT_ANSWERED = "Draft answered"

OBJECT_TYPES = {
    "access_requests.businesscase": "Business case",
    "access_requests.accessgrant": "Access grant",
    "access_requests.site": "Site",
    "access_requests.siteidentity": "Identity on a site",
    "approvals.approvalrequest": "Approval request",
    "approvals.delegation": "Delegation",
    "notifications.outboundemail": "Email",
    "people.user": "Person",
    "people.staffprofile": "Staff profile",
    "people.organisation": "Organisation",
    "people.directorate": "Directorate",
    "people.businessunit": "Business unit",
    "auth.group": "Role",
    "api.servicetoken": "API token",
    "reviews.accessreview": "Access review",
}

FIELDS = {
    "asked_again_from": "Asked again from",
    "withdrawn_at": "Access withdrawn",
    # Access reviews
    "due_on": "Due on",
    "directorates": "Directorates (none: the whole department)",
    "tiers": "Tiers (none: both)",
    "grants_to_review": "Grants to review",
    "reviewers": "Reviewers emailed",
    "access_review": "Access review",
    "review_decision": "Review decision",
    "kept_with_all_unmarked": "Kept with all that were not marked",
    "automatic": "Decided by the review's end",
    "grants_outstanding": "Grants not reviewed yet",
    "grants_escalated": "Grants sent to the fallback approver",
    "default_applied": "What happened to access nobody reviewed",
    "grants_not_reviewed": "Grants nobody reviewed",
    "name": "Name",
    # API tokens
    "owner": "Owner",
    "scope": "May read",
    "expires_at": "Expires",
    "revoked_at": "Revoked",
    "address": "Used from",
    "url": "Address",
    "allows_shared_display_names": "Accounts may share a display name",
    "offered": "Offered to staff",
    "escalated_because": "Escalated because",
    "escalated": "Escalated",
    "delivery_status": "Delivery reported by GOV.UK Notify",
    "provider_id": "GOV.UK Notify's reference",
    "refused_from_address": "Refusals from this address in 15 minutes",
    "is_active": "Can sign in",
    "director_told": "Director told",
    "directorate": "Directorate",
    "full": "The file was the whole directory",
    "moved": "People who moved",
    "directors_changed": "Directorates with a new director",
    "switched_off": "People switched off",
    # Case and grant status, answers and dates
    "status": "Status",
    "approval_status": "Approval request's status",
    "reference": "Reference",
    "case": "Case",
    "grant": "Grant",
    "renewal_of": "Renews",
    "renewed_from": "Renews grant",
    "continues_without_reprovisioning": "Continues without setting up again",
    "sites": "Sites",
    "site": "Site",
    "tier": "Kind of access",
    "purpose": "What and why",
    "audience": "Who with",
    "integration": "How it supports other communications",
    "start_date": "Start date",
    "end_date": "End date",
    "approved_end_date": "End date approved",
    "paying_business_unit": "Business unit paying",
    "budget_holder": "Budget holder",
    "budget_holder_name": "Budget holder's name",
    "pc_choice": "Standalone PC",
    "pc_asset_tag": "PC asset tag",
    "declared_read_guidance": "Declared: read the guidance",
    "declared_civil_service_code": "Declared: will follow the Civil Service Code",
    "declared_no_protected_information": "Declared: will share no protected information",
    "declared_media_to_press_office": "Declared: will refer the media to the press office",
    "declared_separate_identities": "Declared: will keep identities separate",
    # Identities
    "display_name": "Display name",
    "uses_pseudonym": "Uses a pseudonym",
    "pseudonym_reason": "Why a pseudonym",
    "identifies_as_official": "Identifies as an official",
    "not_official_reason": "Why not as an official",
    # Approval requests and decisions
    "approval_request": "Approval request",
    "approver": "Approver",
    "routed_because": "Sent to them as",
    "on_behalf_of": "On behalf of",
    "decide_by": "Decision due by",
    "link_expires_at": "Link works until",
    "escalated_from": "Escalated from",
    "stage": "Stage",
    "cost_note": "Who agreed to the cost",
    "cost_agreed_by": "Cost agreed by",
    "decision": "Decision",
    "decided_by": "Decided by",
    "question": "Question for the requester",
    "asked_by": "Asked by",
    "via": "How",
    "reason": "Reason",
    "superseded": "Other approval requests closed",
    "approval_requests_expired": "Approval requests expired",
    "because": "Because",
    "reminder": "Reminder number",
    "reminders_sent": "Reminders sent",
    # Delegations
    "director": "Director",
    "deputy": "Deputy",
    "starts_on": "Starts",
    "ends_on": "Ends",
    "cancelled_at": "Cancelled",
    "approval_requests_closed": "Deputy's approval requests closed",
    "delegation": "Delegation",
    # Grant lifecycle
    "lapse_chosen_at": "Chose to let it lapse",
    "days_before": "Days before the end date",
    "period": "Reminder period",
    "confirm_by": "Confirm by",
    "confirmed_at": "Confirmed",
    "revoked_by": "Revoked by",
    # Emails
    "to": "To",
    "subject": "Subject",
    "attempts": "Attempts",
    "error": "Error",
    "emails": "Emails (first and last number)",
    # People, signing in, passwords
    "email": "Email address",
    "role": "Role",
    "business_unit": "Business unit",
    "business_unit_id": "Business unit",
    "commonly_used_name": "Name",
    "job_title": "Job title",
    "profile": "Staff profile",
    "director_of": "Director of",
    "is_staff": "May use the admin pages",
    "created": "People added",
    "updated": "People updated",
    "unchanged": "People unchanged",
    "first_password": "First password",
    "outcome": "Outcome",
    "failures": "Failures for this address and email",
    "failures_from_address": "Failures from this address",
    "failures_for_email": "Failures for this email address",
    "locked_out": "Locked out",
    "requests_from_address": "Links asked for from this address",
    "requests_for_email": "Links asked for this email address",
    # Retention
    "count": "How many",
    "retention_days": "Kept for (days)",
    "cases": "Cases",
    "fields": "Fields cleared",
    "up_to_id": "Up to event",
    # The admin pages
    "summary": "Summary",
}

# The words for coded values, by field. A status's words depend on what the event is about.
CASE_STATUSES = {
    "draft": "Draft",
    "submitted": "Awaiting decision",
    "more_information": "More information needed",
    "approved": "Approved",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
    "lapsed": "Expired without decision",
}
GRANT_STATUSES = {
    "awaiting": "Awaiting provisioning",
    "active": "Active",
    "expired": "Expired",
    "revoked": "Revoked",
    "surrendered": "Given up",
    "returned": "Returned by ICT",
}
APPROVAL_STATUSES = {
    "open": "Waiting for a decision",
    "decided": "Decided",
    "superseded": "Superseded",
    "expired": "Expired",
    "sent_back": "Sent back for more information",
}
EMAIL_STATUSES = {
    "pending": "Waiting to send",
    "sent": "Sent",
    "failed": "Failed",
    "not_needed": "Not sent: no longer needed",
}
STATUSES_BY_OBJECT_TYPE = {
    "access_requests.businesscase": CASE_STATUSES,
    "access_requests.accessgrant": GRANT_STATUSES,
    "approvals.approvalrequest": APPROVAL_STATUSES,
    "notifications.outboundemail": EMAIL_STATUSES,
}
TIERS = {"passive": "Passive monitoring", "active": "Active participation"}
VALUES = {
    "tier": TIERS,
    "pc_choice": {
        "existing": "Use an existing standalone PC",
        "new": "A new standalone PC is needed",
    },
    "routed_because": {
        "director": "Director of the requester's directorate",
        "deputy": "Deputy named by the director",
        "fallback": "Fallback approver",
        "escalation": "Escalated after reminders",
        "budget_holder": "Budget holder of the paying business unit",
    },
    "stage": {
        "director": "Director's approval",
        "budget_holder": "Budget holder's agreement to the cost",
    },
    "decision": {"approve": "Approve", "reject": "Reject"},
    "review_decision": {"": "Not reviewed", "keep": "Kept", "end": "Ended"},
    "default_applied": {"keep": "Kept", "end": "Ended"},
    "approval_status": APPROVAL_STATUSES,
}
# Fields that hold one list, never a [before, after] pair (even with two items).
LIST_FIELDS = frozenset(
    {
        "cases",
        "fields",
        "emails",
        "superseded",
        "approval_requests_expired",
        "approval_requests_closed",
        "directorates",
        "tiers",
    }
)

# The portal's own tasks, as `SystemActor` names them.
SYSTEM_ACTORS = {
    "outbox": "the portal, sending emails",
    "grant_expiry_sweep": "the portal, expiring access at its end date",
    "grant_expiry_notice_sweep": "the portal, sending expiry notices",
    "grant_safe_use_sweep": "the portal, sending safe use reminders",
    "approval_remind_due": "the portal, reminding approvers",
    "case_lapse_due": "the portal, expiring undecided cases",
    "retention sweep": "the portal, removing what is kept no longer",
    "import_staff": "the staff directory import",
    "load_demo_data": "the demo data loader",
    "access_review_schedule": "the portal, starting the scheduled access review",
    "access_review_remind_due": "the portal, reminding access reviewers",
    "access_review_escalate_due": "the portal, escalating access nobody reviewed",
    "access_review_close_due": "the portal, ending an access review",
}
# Who acts without signing in, by what they did.
ANONYMOUS_ACTORS = {
    "approval.opened": "someone with the approver's emailed link, not signed in",
    "auth.sign_in_failed": "someone trying to sign in",
    "auth.sso_refused": "someone trying to sign in with single sign-on",
    "people.password_reset_requested": "someone asking for a password link",
    "people.password_reset_throttled": "someone asking for a password link",
}
NOBODY = "someone not signed in"

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _humanised(code: str) -> str:
    return code.replace("_", " ").replace("-", " ").strip().capitalize()


def action_description(action: str) -> str:
    """The action in plain English; an action unknown here (an old one, a test's) in words
    made from its code."""
    if action in ACTIONS:
        return ACTIONS[action]
    return _humanised(action.rsplit(".", 1)[-1]) if action else ""


def object_type_label(object_type: str) -> str:
    if object_type in OBJECT_TYPES:
        return OBJECT_TYPES[object_type]
    return _humanised(object_type.rsplit(".", 1)[-1]) if object_type else ""


def field_label(name: str) -> str:
    if name in FIELDS:
        return FIELDS[name]
    return _humanised(str(name))


def _is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def value_text(name: str, value, object_type: str = "") -> str:
    """One value as a reader would say it: Yes or No, a GOV.UK date, a status's words."""
    if _is_empty(value):
        return "none"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(value_text(name, item, object_type) for item in value)
    if isinstance(value, dict):
        return "; ".join(
            f"{field_label(key)}: {value_text(key, item, object_type)}"
            for key, item in value.items()
        )
    if isinstance(value, datetime.datetime):
        return govuk_date_time(value)
    if isinstance(value, datetime.date):
        return long_date(value)
    if isinstance(value, str):
        words = (
            STATUSES_BY_OBJECT_TYPE.get(object_type, {}) if name == "status" else VALUES.get(name)
        )
        if words and value in words:
            return words[value]
        if _ISO_DATE.match(value):
            return _date_from_iso(value) or value
        if _ISO_DATE_TIME.match(value):
            return _date_time_from_iso(value) or value
    return str(value)


def _date_from_iso(text: str) -> str:
    try:
        return long_date(datetime.date.fromisoformat(text))
    except ValueError:
        return ""


def _date_time_from_iso(text: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return govuk_date_time(moment)


@dataclass(frozen=True)
class ChangeLine:
    label: str
    text: str

    def __str__(self) -> str:
        return f"{self.label}: {self.text}" if self.label else self.text


def _is_pair(name: str, value) -> bool:
    return isinstance(value, list) and len(value) == 2 and name not in LIST_FIELDS


def change_text(name: str, value, object_type: str = "") -> str:
    """A changed field's words: "changed from No to Yes", "set to …", "removed (was …)",
    or the value itself when the event records one value rather than a before and after."""
    if not _is_pair(name, value):
        return value_text(name, value, object_type)
    before, after = value
    if _is_empty(before) and not isinstance(before, bool):
        return f"set to {value_text(name, after, object_type)}"
    if _is_empty(after) and not isinstance(after, bool):
        return f"removed (was {value_text(name, before, object_type)})"
    return (
        f"changed from {value_text(name, before, object_type)} "
        f"to {value_text(name, after, object_type)}"
    )


def change_lines(changes, object_type: str = "") -> list[ChangeLine]:
    """An event's changes, one line per field, in the order recorded."""
    if not changes:
        return []
    if not isinstance(changes, dict):
        return [ChangeLine("", value_text("", changes, object_type))]
    return [
        ChangeLine(field_label(name), change_text(name, value, object_type))
        for name, value in changes.items()
    ]


def actor_in_words(*, actor_label: str, actor_name: str = "", action: str = "") -> str:
    """Who acted: the person's name (and email address), the portal's task, or, for someone
    not signed in, what they were doing ("someone with the approver's emailed link")."""
    if actor_label.startswith("system:"):
        task = actor_label.removeprefix("system:")
        return SYSTEM_ACTORS.get(task, f"the portal ({task.replace('_', ' ')})")
    if actor_label == "anonymous" or not actor_label:
        return ANONYMOUS_ACTORS.get(action, NOBODY)
    if actor_name and actor_name != actor_label:
        return f"{actor_name} ({actor_label})"
    return actor_label
