from dataclasses import dataclass, replace

from django.conf import settings
from django.urls import NoReverseMatch

from core.templatetags.fixed_urls import fixed_reverse
from people.models import Role
from people.roles import load_roles

from .home_sections import user_decides_cases
from .sent_emails import demo_sent_emails_page_enabled


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


# (label, url name, who sees it). A role check reads the user's prefetched groups;
# a permission check reads Django's per-request permission cache.
NAVIGATION = [
    ("Home", "home", lambda user: True),
    (
        "Your requests",
        "access_requests:case-list",
        lambda user: user.has_perm("access_requests.add_businesscase"),
    ),
    (
        "Cases to decide",
        "approvals:case-list",
        user_decides_cases,
    ),
    (
        "Your directorate",
        "oversight:directorate-access",
        lambda user: user.has_role(Role.DIRECTOR),
    ),
    (
        "Provisioning",
        "access_requests:provisioning-queue",
        lambda user: user.has_perm("access_requests.provision_accessgrant"),
    ),
    (
        "Register",
        "oversight:register",
        lambda user: user.has_perm("access_requests.view_accessgrant"),
    ),
    ("Audit trail", "oversight:audit-trail", lambda user: user.has_perm("audit.view_auditevent")),
    (
        "Reports",
        "oversight:reports",
        lambda user: user.has_perm("access_requests.view_accessgrant"),
    ),
    ("Failed email", "oversight:failed-emails", lambda user: user.has_role(Role.ADMIN)),
    (
        "Sites",
        "access_requests:site-list",
        lambda user: user.has_perm("access_requests.view_site"),
    ),
    ("API tokens", "api:token-list", lambda user: user.has_perm("api.view_servicetoken")),
    ("Admin", "admin:index", lambda user: user.is_staff),
]


def navigation_for(user, current_path: str = "") -> list[NavItem]:
    if not user.is_authenticated:
        return []
    load_roles(user)
    items = []
    for label, url_name, may_see in NAVIGATION:
        if not may_see(user):
            continue
        try:
            url = fixed_reverse(url_name)
        except NoReverseMatch:
            continue  # the page's app is not installed in this build
        items.append(NavItem(label, url, False))
    # One item is current: the one whose address is the longest start of the page's (the
    # provisioning queue lies under Your requests' /requests/, and only Provisioning is it).
    matches = [
        item
        for item in items
        if (current_path == item.url if item.url == "/" else current_path.startswith(item.url))
    ]
    if matches:
        current = max(matches, key=lambda item: len(item.url))
        items = [replace(item, active=item is current) for item in items]
    return items


def portal(request):
    return {
        "service_name": settings.SERVICE_NAME,
        "department_name": settings.DEPARTMENT_NAME,
        # The footer's and the password page's link to the demo's Sent emails page.
        "demo_outbox": demo_sent_emails_page_enabled(),
        "contact_email": settings.SNS_CONTACT_EMAIL,
        "contact_url": settings.SNS_CONTACT_URL,
        "feedback_url": settings.SNS_FEEDBACK_URL,
        "navigation": navigation_for(request.user, request.path)
        if hasattr(request, "user")
        else [],
    }
