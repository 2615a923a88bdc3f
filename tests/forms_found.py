"""Finding the portal's forms: GET every page as every role and read its forms."""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from django.test import Client
from django.urls import Resolver404, resolve, reverse

from tests import walk_map
from tests.portal_map import ROLES, UnknownParameter, World, portal_routes, url_for

CSRF_FIELD = "csrfmiddlewaretoken"


@dataclass
class FoundForm:
    page: str  # URL name of the page showing the form
    role: str
    page_url: str
    action: str
    fields: dict = field(default_factory=dict)  # name → {"type", "values"} (options/defaults)
    method: str = "post"
    on_extra_page: bool = False  # found on one of find_forms's `extra` pages

    @property
    def key(self) -> tuple:
        return (self.method, self.action.split("?")[0], self.role, tuple(sorted(self.fields)))

    @property
    def handler(self) -> tuple:
        """What answers the form: the view its action names, the method and the field names.
        Two forms with the same handler are read by the same code, whoever signs in and
        whichever object's URL it is."""
        path = urlsplit(self.action).path
        try:
            view = resolve(path).view_name
        except Resolver404:
            view = path
        return (self.method, view, tuple(sorted(self.fields)))

    def __str__(self):
        return f"{self.page} as {self.role} → {self.method.upper()} {self.action} {sorted(self.fields)}"


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._current = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._current = {
                "method": (a.get("method") or "get").lower(),
                "action": a.get("action"),
                "fields": {},
            }
            self.forms.append(self._current)
            return
        if self._current is None:
            return
        name = a.get("name")
        if tag in {"input", "button"} and name:
            kind = (a.get("type") or ("submit" if tag == "button" else "text")).lower()
            entry = self._current["fields"].setdefault(name, {"type": kind, "values": []})
            if a.get("value") is not None:
                entry["values"].append(a["value"])
        elif tag == "textarea" and name:
            self._current["fields"].setdefault(name, {"type": "textarea", "values": []})
        elif tag == "select" and name:
            self._select = self._current["fields"].setdefault(
                name, {"type": "select", "values": []}
            )
        elif tag == "option" and self._select is not None and a.get("value") is not None:
            self._select["values"].append(a["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


def page_forms(html: str, page_url: str) -> list[dict]:
    """The page's POST forms, and its GET forms that have fields (filters, searches)."""
    parser = _FormParser()
    parser.feed(html)
    forms = []
    for form in parser.forms:
        if form["method"] != "post" and not form["fields"]:
            continue
        form["action"] = urljoin(page_url, form["action"] or page_url)
        forms.append(form)
    return forms


# Forms on every page that are not the page's own: signing out is tested on its own.
NOT_FUZZED_ACTIONS = {"sign-out"}


def signed_in_client(world: World, role: str) -> Client:
    client = Client(raise_request_exception=False)
    if world.user(role) is not None:
        client.force_login(world.user(role))
    return client


def find_forms(world: World, objects: dict | None = None, extra=(), roles=ROLES) -> list[FoundForm]:
    """Every distinct POST form on every page each role can open (side A's objects).

    `objects` maps a URL name to the object that fills its parameters (the permission
    matrix's "object" column); `extra` adds (url name, role, object) pages to visit; `roles`
    narrows the visits to some roles (a form's identity includes its role, so the forms of
    each role are the same whether found alone or with the others).

    The first walk of a role in the run opens every page and writes down which answered with
    a page and which showed a form (`tests/walk_map.py`); a later one opens only the pages
    that showed a form and reads their forms, in its own world.
    """
    objects = objects or {}
    routes = portal_routes()
    by_name = {route.name: route for route in routes}
    found: dict[tuple, FoundForm] = {}
    for role in roles:
        extra_of_role = [item for item in extra if item[1] == role]
        visits = [(route, objects.get(route.name), False) for route in routes]
        visits += [(by_name[name], obj, True) for name, _who, obj in extra_of_role]
        forms_entry = walk_map.key("forms", role, objects, extra_of_role)
        pages_entry = walk_map.key("pages", role, objects)
        with_forms_known = walk_map.recall(forms_entry)
        pages_known = walk_map.recall(pages_entry)
        if with_forms_known is not None:
            visits = [v for v in visits if (v[0].name, repr(v[1])) in with_forms_known]
        elif pages_known is not None:
            # Only a page can show a form: the walk needs no URL that answered otherwise.
            visits = [v for v in visits if v[2] or (v[0].name, repr(v[1])) in pages_known]
        client = signed_in_client(world, role)
        with_forms, pages = set(), set()
        for route, obj, is_extra in visits:
            if route.is_admin:
                continue  # Django's own admin forms are Django's to test
            try:
                url = url_for(route, world.own, obj)
            except UnknownParameter:
                continue
            response = client.get(url)
            if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
                if not is_extra:
                    pages.add((route.name, repr(obj)))
                forms = forms_on_page(route.name, role, url, response.content.decode())
                for form in forms:
                    form.on_extra_page = is_extra
                if forms:
                    with_forms.add((route.name, repr(obj)))
                for form in forms:
                    found.setdefault(form.key, form)
        if with_forms_known is None:
            walk_map.remember(forms_entry, with_forms)
            if pages_known is None:
                walk_map.remember(pages_entry, pages)
    return list(found.values())


def one_per_handler(forms) -> list[FoundForm]:
    """The first form of each handler (`find_forms` lists the roles in ROLES's order)."""
    found: dict[tuple, FoundForm] = {}
    for form in forms:
        found.setdefault(form.handler, form)
    return list(found.values())


def shown_to_an_earlier_role(world: World, form: FoundForm, roles, clients: dict) -> str | None:
    """The first of `roles` whose `find_forms` finds a form of the same handler on the same
    page, or None (`clients`: a signed-in client per role, filled as needed). Every role's
    walk opens the same URLs (the objects fill their parameters alike), so a role shown the
    form at this URL found it there; an extra page is one role's only, never another's."""
    if form.on_extra_page:
        return None
    for role in roles:
        if role not in clients:
            clients[role] = signed_in_client(world, role)
        response = clients[role].get(form.page_url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        shown = forms_on_page(form.page, role, form.page_url, response.content.decode())
        if any(candidate.handler == form.handler for candidate in shown):
            return role
    return None


def forms_on_pages(pages) -> list[FoundForm]:
    """The distinct forms on pages already opened: (url name, role, url, HTML)."""
    found: dict[tuple, FoundForm] = {}
    for page in pages:
        for candidate in forms_on_page(*page):
            found.setdefault(candidate.key, candidate)
    return list(found.values())


def forms_on_page(name: str, role: str, url: str, html: str) -> list[FoundForm]:
    """The forms of one opened page, but those every page has (signing out)."""
    skip = {reverse(action) for action in NOT_FUZZED_ACTIONS}
    forms = []
    for form in page_forms(html, "http://testserver" + url):
        action = form["action"].removeprefix("http://testserver")
        if action.split("?")[0] in skip:
            continue
        method = "post" if form["method"] == "post" else "get"
        forms.append(FoundForm(name, role, url, action, form["fields"], method))
    return forms


def find_admin_forms(world: World, pages: list[tuple[str, str, str]]) -> list[FoundForm]:
    """The forms of the given Django admin pages ((url name, role, url)): sign-in, add and
    change forms, changelist searches. Not the changelists' bulk-action forms (their only
    action is deleting, which no one may do) nor forms with no field but the CSRF token
    (a read-only object's page)."""
    admin_skip = {reverse("sign-out"), reverse("admin:logout")}
    found: dict[tuple, FoundForm] = {}
    clients: dict[str, Client] = {}  # one sign-in per role: the pages are only read
    for name, role, url in pages:
        if role not in clients:
            clients[role] = signed_in_client(world, role)
        response = clients[role].get(url)
        assert response.status_code == 200, f"{name}: {response.status_code}"
        for form in page_forms(response.content.decode(), "http://testserver" + url):
            action = form["action"].removeprefix("http://testserver")
            fields = set(form["fields"]) - {CSRF_FIELD}
            if action.split("?")[0] in admin_skip or "action" in fields or not fields:
                continue
            method = "post" if form["method"] == "post" else "get"
            candidate = FoundForm(name, role, url, action, form["fields"], method)
            found.setdefault(candidate.key, candidate)
    return list(found.values())
