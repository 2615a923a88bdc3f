"""The approval step's business rules, one concern per module:

- `links`: the emailed decision links and their tokens;
- `routing`: who decides a submitted case, and sending it to them (`case_submit`);
- `decisions`: opening a link, and the decision (`approval_decide`);
- `more_information`: the approver asking the requester for more information
  (`approval_ask_more_information`), and the case sent again to them (`case_send_again`);
- `closing`: a case withdrawn (`case_withdraw`) or lapsed closes its open requests, and a
  grant revoked or given up closes its renewal under way;
- `reminders`: reminders to approvers and escalation after the last one;
- `lapse`: cases nobody decided in time;
- `delegations`: a director's deputies;
- `rerouting`: sending a case again when who decides it changed (`case_reroute`);
- `people_changes`: what the staff directory's changes mean for access (a leaver, a
  mover, a directorate's new director, an admin switching a person off or on).
- `authority`: open requests whose approver lost their authority (a director replaced, a
  delegation ended) are superseded and the case routed afresh; the delegation end sweep.
- `undeliverable`: GOV.UK Notify's delivery receipts, and escalating a case whose
  approver's email cannot be delivered.

The business case's own status changes are `access_requests.services.business_cases`'s;
these services lock the case and call them. Lock order, everywhere: the business case
first, then its approval requests. The public services are re-exported here.
"""

from .authority import (
    approvals_supersede_lost_authority,
    delegation_end,
    delegations_end_due,
)
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
from .more_information import approval_ask_more_information, case_send_again
from .people_changes import (
    directorate_director_change,
    person_leave,
    person_move,
    person_switch_off,
    person_switch_on,
)
from .reminders import approval_remind_due, approval_remind_one
from .rerouting import case_reroute
from .routing import approval_request_send, case_routing, case_submit
from .undeliverable import approval_escalate_undeliverable, delivery_receipt_apply

__all__ = [
    "VIA_LINK",
    "VIA_SIGNED_IN",
    "approval_ask_more_information",
    "approval_decide",
    "approval_escalate_undeliverable",
    "approval_link",
    "approval_opened",
    "approval_remind_due",
    "approval_remind_one",
    "approval_request_send",
    "approval_requests_withdraw",
    "approvals_supersede_lost_authority",
    "case_lapse_due",
    "case_lapse_one",
    "case_reroute",
    "case_routing",
    "case_send_again",
    "case_submit",
    "case_withdraw",
    "delegation_cancel",
    "delegation_create",
    "directorate_director_change",
    "delegation_end",
    "delegations_end_due",
    "delivery_receipt_apply",
    "grant_choose_lapse_closing_renewals",
    "grant_revoke_closing_renewals",
    "grant_surrender_closing_renewals",
    "person_leave",
    "person_move",
    "person_switch_off",
    "person_switch_on",
]
