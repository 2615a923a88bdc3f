"""What the home page shows each person: one section per role they hold."""

from access_requests.selectors import business_cases as case_selectors, grants as grant_selectors
from approvals import selectors as approval_selectors
from people.models import Role


def for_user(user) -> dict:
    sections = {
        "cases": list(case_selectors.business_cases_for_requester(user=user)[:5]),
        "grants": list(
            grant_selectors.grants_for_holder(user=user).filter(status__in=["awaiting", "active"])[
                :10
            ]
        ),
    }
    if user.has_role(Role.DIRECTOR) or user.has_role(Role.ADMIN):
        sections["to_decide"] = list(approval_selectors.approval_requests_open_for(user=user)[:10])
    if user.has_perm("access_requests.provision_accessgrant"):
        sections["provisioning_count"] = grant_selectors.grants_awaiting_provisioning().count()
    sections["oversight"] = user.has_perm("access_requests.view_accessgrant")
    return sections
