"""The portal's own pages, as each role sees them, in each state a test client can reach."""

from dataclasses import dataclass

from tests import walk_map
from tests.forms_found import CSRF_FIELD, forms_on_pages, signed_in_client
from tests.portal_map import (
    ROLES,
    UnknownParameter,
    World,
    portal_routes,
    state_pages,
    url_for,
)

# Pages that are not the portal's own GOV.UK pages: Django's admin has its own markup.
NOT_OURS = ("admin:",)


@dataclass(frozen=True)
class Page:
    name: str
    role: str
    url: str
    state: str  # "empty" (as opened) or "errors" (a form posted with nothing filled in)
    html: str

    @property
    def label(self) -> str:
        return f"{self.name} as {self.role} ({self.state})"


def objects_from_matrix() -> dict:
    from tests.security.test_permission_matrix import EXPECTED

    return {name: row["object"] for name, row in EXPECTED.items() if "object" in row}


# States of a page that the one object its URL is walked with does not show:
# (url name, role, object of side A). Each is visited as "<url name> [<object>]".
EXTRA_STATES = [
    # A draft's page is its task list: every section completed, and just started (sections
    # that cannot start yet).
    ("access_requests:case-detail", "staff", "draft_case"),
    ("access_requests:case-detail", "staff", "empty_draft"),
    # A withdrawn case offers "Ask again with these answers".
    ("access_requests:case-detail", "staff", "closed_case"),
]


def page_urls(world: World, roles=ROLES) -> list[tuple[str, str, str]]:
    """(url name, role, url) of every page of ours that answers 200 with HTML, and the
    extra states of EXTRA_STATES, for the given roles (all by default; a suite split by role,
    so that parallel workers share it, asks for one). A role whose pages a walk of this run
    already found (`tests/walk_map.py`) is not walked again: its URLs are made in this world
    from what that walk wrote down."""
    objects = objects_from_matrix()
    found = []
    for role in roles:
        known = walk_map.recall(walk_map.key("pages", role, objects))
        if known is None:
            found += [(name, r, url) for name, r, url, _html in opened_pages(world, [role])]
            continue
        for route in portal_routes():
            obj = objects.get(route.name)
            if (route.name, repr(obj)) in known:
                found.append((route.name, role, url_for(route, world.own, obj)))
        found += [(name, r, url) for name, r, url, _html in _extra_states(world, [role])]
    return found


def opened_pages(world: World, roles=ROLES) -> list[tuple[str, str, str, str]]:
    """`page_urls` with each page's HTML as it was opened. The first walk of a role in the
    run opens every URL and writes down which answered with a page (`tests/walk_map.py`); a
    later one opens only those."""
    objects = objects_from_matrix()
    found = []
    for role in roles:
        entry = walk_map.key("pages", role, objects)
        known = walk_map.recall(entry)
        client = signed_in_client(world, role)
        answered = set()
        for route in portal_routes():
            if route.name.startswith(NOT_OURS):
                continue
            obj = objects.get(route.name)
            if known is not None and (route.name, repr(obj)) not in known:
                continue
            try:
                url = url_for(route, world.own, obj)
            except UnknownParameter:
                continue
            response = client.get(url)
            if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
                found.append((route.name, role, url, response.content.decode()))
                answered.add((route.name, repr(obj)))
        if known is None:
            walk_map.remember(entry, answered)
    return found + _extra_states(world, roles)


def _extra_states(world: World, roles) -> list[tuple[str, str, str, str]]:
    """The pages of EXTRA_STATES and `state_pages`, opened, for the given roles."""
    found = []
    routes = {route.name: route for route in portal_routes()}
    for name, role, obj in EXTRA_STATES:
        if role not in roles:
            continue
        url = url_for(routes[name], world.own, obj)
        response = signed_in_client(world, role).get(url)
        assert response.status_code == 200, f"{name} [{obj}] as {role}: {response.status_code}"
        found.append((f"{name} [{obj}]", role, url, response.content.decode()))
    for name, role, url in state_pages(world):
        if role not in roles:
            continue
        response = signed_in_client(world, role).get(url)
        assert response.status_code == 200, name
        found.append((name, role, url, response.content.decode()))
    return found


def pages_in_every_state(world: World, roles=ROLES) -> list[Page]:
    """Every page of ours as the given roles see it: as opened, the service's error pages and
    the password link's, and every POST form sent with only its hidden fields ("errors")."""
    opened = opened_pages(world, roles)
    pages = [Page(name, role, url, "empty", html) for name, role, url, html in opened]
    if "anonymous" in roles:
        pages += password_link_pages(world)
    pages += [page for page in error_pages(world) if page.role in roles]
    # The forms of the pages as opened (the walk find_forms makes), not those of the extra
    # states.
    routes = {route.name for route in portal_routes()}
    for form in forms_on_pages(page for page in opened if page[0] in routes):
        if form.method != "post":
            continue
        client = signed_in_client(world, form.role)
        hidden = {
            field: spec["values"][0]
            for field, spec in form.fields.items()
            if spec["type"] == "hidden" and spec["values"] and field != CSRF_FIELD
        }
        response = client.post(form.action, hidden)
        if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            pages.append(
                Page(form.page, form.role, form.action, "errors", response.content.decode())
            )
    return pages


def password_link_pages(world: World) -> list[Page]:
    """The pages behind the emailed password link, which a plain GET of a URL does not reach:
    the link redirects to its form, which needs the session the redirect set. As opened,
    with errors, and the page of a link that no longer works."""
    from django.test import Client
    from django.urls import reverse

    side = world.own
    token = side.password_token  # made on each read, and it holds the time in seconds
    link = reverse(
        "people:password-reset-confirm", kwargs={"uidb64": side.password_uidb64, "token": token}
    )
    client = Client()
    form_url = client.get(link)["Location"]
    name = "people:password-reset-confirm"
    expired = client.get(link.replace(token, "0-expired"))
    assert expired.status_code == 410
    return [
        Page(name, "anonymous", form_url, "empty", client.get(form_url).content.decode()),
        Page(name, "anonymous", form_url, "errors", client.post(form_url, {}).content.decode()),
        Page(name, "anonymous", link, "link expired", expired.content.decode()),
    ]


ERROR_URLS = {
    # (role, what is asked) → the status the service's error page answers with
    ("anonymous", "/no-such-page/"): 404,
    ("staff", "/no-such-page/"): 404,
    ("staff", "/requests/provisioning/"): 403,
}


def error_pages(world: World) -> list[Page]:
    """The service's error pages: page not found, not allowed, a method the page does not
    take, a form without its CSRF token, and the page for a failure of the service."""
    from django.test import Client, RequestFactory
    from django.urls import reverse

    from portal.error_pages import server_error

    pages = []
    for (role, url), status in ERROR_URLS.items():
        response = signed_in_client(world, role).get(url)
        assert response.status_code == status, url
        pages.append(Page(f"error {status}", role, url, "error", response.content.decode()))
    guidance = reverse("guidance")
    response = signed_in_client(world, "staff").post(guidance)
    assert response.status_code == 405
    pages.append(Page("error 405", "staff", guidance, "error", response.content.decode()))
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.user("staff"))
    response = strict.post(reverse("sign-out"))
    assert response.status_code == 403
    pages.append(Page("error csrf", "staff", "sign-out", "error", response.content.decode()))
    response = server_error(RequestFactory().get("/"))
    pages.append(Page("error 500", "anonymous", "/", "error", response.content.decode()))
    return pages


# --- the Django admin ------------------------------------------------------------------------


def admin_pages(world: World) -> list[tuple[str, str, str]]:
    """(url name, role, url) of the Django admin pages the portal's admins use: the sign-in,
    the index, an app, and the changelist, add and change forms of the models they edit
    (people and business units, sites) or read (access grants, the audit trail)."""
    from django.urls import reverse

    own = world.own
    unit = own.staff.profile.business_unit
    pages = [
        ("admin:login", "anonymous", ()),
        ("admin:index", "admin", ()),
        ("admin:app_list", "admin", ("people",)),
        ("admin:people_user_changelist", "admin", ()),
        ("admin:people_user_add", "admin", ()),
        ("admin:people_user_change", "admin", (own.staff.pk,)),
        ("admin:auth_user_password_change", "admin", (own.staff.pk,)),
        ("admin:people_businessunit_changelist", "admin", ()),
        ("admin:people_businessunit_add", "admin", ()),
        ("admin:people_businessunit_change", "admin", (unit.pk,)),
        ("admin:access_requests_site_add", "admin", ()),
        ("admin:access_requests_site_change", "admin", (own.site.pk,)),
        ("admin:access_requests_accessgrant_changelist", "admin", ()),
        ("admin:access_requests_accessgrant_change", "admin", (own.grant.pk,)),
        ("admin:audit_auditevent_changelist", "admin", ()),
    ]
    return [(name, role, reverse(name, args=args)) for name, role, args in pages]


def admin_pages_in_every_state(world: World) -> list[Page]:
    """Each admin page as opened, and each of its forms sent with nothing filled in."""
    pages = []
    for name, role, url in admin_pages(world):
        client = signed_in_client(world, role)
        response = client.get(url)
        assert response.status_code == 200, f"{name}: {response.status_code}"
        pages.append(Page(name, role, url, "empty", response.content.decode()))
        if name.endswith(("_add", "_change", "password_change")) or name == "admin:login":
            response = client.post(url, {})
            if response.status_code == 200:
                pages.append(Page(name, role, url, "errors", response.content.decode()))
    return pages
