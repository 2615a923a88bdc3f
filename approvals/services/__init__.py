"""The approval step's business rules, one concern per module:

- `links`: the emailed decision links and their tokens;
- `routing`: who decides a submitted case, and sending it to them (`case_submit`);
- `decisions`: opening a link, and the decision (`approval_decide`);
- `closing`: a case withdrawn (`case_withdraw`) or lapsed closes its open requests, and a
  grant revoked or given up closes its renewal under way;
- `reminders`: reminders to approvers and escalation after the last one;
- `lapse`: cases nobody decided in time;
- `delegations`: a director's deputies;
- `undeliverable`: GOV.UK Notify's delivery receipts, and escalating a case whose
  approver's email cannot be delivered.

The business case's own status changes are `access_requests.services.business_cases`'s;
these services lock the case and call them. Lock order, everywhere: the business case
first, then its approval requests. The public services are re-exported here.
"""

from .closing import (
    approval_requests_withdraw,
    case_withdraw,
    grant_choose_lapse_closing_renewals,
    grant_revoke_closing_renewals,
    grant_surrender_closing_renewals,
)
from .decisions import VIA_LINK, VIA_SIGNED_IN, approval_decide, approval_opened
from .delegations import delegation_cancel, delegation_create
from .lapse import case_lapse_due, case_lapse_one
from .links import approval_link
from .reminders import approval_remind_due, approval_remind_one
from .routing import approval_request_send, case_routing, case_submit
from .undeliverable import approval_escalate_undeliverable, delivery_receipt_apply

__all__ = [
    "VIA_LINK",
    "VIA_SIGNED_IN",
    "approval_decide",
    "approval_escalate_undeliverable",
    "approval_link",
    "approval_opened",
    "approval_remind_due",
    "approval_remind_one",
    "approval_request_send",
    "approval_requests_withdraw",
    "case_lapse_due",
    "case_lapse_one",
    "case_routing",
    "case_submit",
    "case_withdraw",
    "delegation_cancel",
    "delegation_create",
    "delivery_receipt_apply",
    "grant_choose_lapse_closing_renewals",
    "grant_revoke_closing_renewals",
    "grant_surrender_closing_renewals",
]
