"""What the home page shows each person: one section per role they hold."""

from django.utils import timezone

from access_requests.selectors import grants as grant_selectors, home as home_selectors
from approvals import selectors as approval_selectors
from people import selectors as people_selectors
from people.models import Role
from people.roles import load_roles
from reviews import selectors as review_selectors

APPROVER_ROLES = (Role.DIRECTOR, Role.ADMIN, Role.DEPUTY)


def user_decides_cases(user) -> bool:
    """Whether "Cases to decide" is shown (navigation and home): to directors, admins and
    deputy directors always, and to anyone else (a deputy or fallback approver without
    those roles) while they have a case to decide; never to auditors, who read only.
    Reads prefetched roles first, so the query runs only for the others, once a request."""
    if any(user.has_role(role) for role in APPROVER_ROLES):
        return True
    return not user.has_role(Role.AUDITOR) and approval_selectors.approver_has_cases_to_decide(
        user=user
    )


def for_user(user) -> dict:
    load_roles(user)
    today = timezone.localdate()
    grants = home_selectors.grants_for_home(user=user, today=today)
    sections = {
        "cases": home_selectors.cases_for_home(user=user),
        "grants": [
            {"grant": grant, "next_step": grant_selectors.grant_next_step(grant, today)}
            for grant in grants
        ],
        "today": today,
    }
    if user_decides_cases(user):
        # The home page lists reference, requester and date: not the sites the list page shows.
        sections["to_decide"] = approval_selectors.cases_to_decide_first(user=user)
    if user.has_role(Role.DIRECTOR) or user.has_role(Role.ADMIN):
        # Holders who have not confirmed their safe-use review in time (directors see
        # their directorate's, admins everyone's).
        sections["safe_use_unconfirmed"] = grant_selectors.safe_use_unconfirmed_list(
            user=user, today=today
        )
    sections["directorate_access"] = user.has_role(Role.DIRECTOR)
    # The greeting's name, and the units whose budget the person holds: a budget holder
    # agrees to costs and may name a deputy to agree while they are away.
    person = people_selectors.person_on_home(user=user)
    sections["name"] = person.name
    sections["budget_held"] = person.budget_held
    if not user.has_role(Role.AUDITOR):
        # Reviewers are directors and fallback approvers, but escalation can reach anyone
        # who decides cases; auditors read only.
        sections["reviews_to_do"] = review_selectors.reviews_to_do(user=user)
    if user.has_perm("access_requests.provision_accessgrant"):
        sections["provisioning_count"] = grant_selectors.grants_awaiting_provisioning().count()
    sections["oversight"] = user.has_perm("access_requests.view_accessgrant")
    return sections
