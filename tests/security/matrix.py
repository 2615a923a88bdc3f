"""The permission matrix's machinery: visit every URL as every role, for own and others' objects.

The table of expected statuses lives in `test_permission_matrix.py`. A row is a dict:
role → status, or role → (status for side A's object, status for side B's object);
"*" gives the default for roles not named; "object" names which object of the side fills
the URL's parameters (e.g. "draft_case") when the default guess is wrong; "shows_strangers"
lets a page show side B's texts to staff and directors (say why beside it); "redirects_to"
is where an anonymous visitor may be redirected besides the sign-in (a path prefix: the
emailed password link goes on to its own form).
"""

from dataclasses import dataclass

from django.test import Client
from django.urls import reverse

from tests.portal_map import ROLES, SCOPED_ROLES, Route, UnknownParameter, World, url_for

ROW_KEYS = {"object", "shows_strangers", "redirects_to", "*", *ROLES}


@dataclass(frozen=True)
class Visit:
    route: str
    role: str
    variant: str  # "own", "other" or "-" for a URL without objects
    url: str
    status: int
    location: str
    body: str


def _expected(row: dict, role: str, variant: str) -> int:
    value = row.get(role, row.get("*"))
    if isinstance(value, tuple):
        return value[1] if variant == "other" else value[0]
    return value


def admin_site_row(route: Route) -> dict:
    """The Django admin is for admins only; even they may not delete, forge audit events,
    or edit roles (groups are set in code, people/roles.py)."""
    row = {role: 302 for role in ROLES}
    leaf = route.name.removeprefix("admin:")
    if route.name == "admin:login":
        row.update({role: 200 for role in ROLES}, admin=302)
    elif (
        leaf.endswith("_delete")
        or (leaf.startswith("audit_auditevent_") and leaf.endswith("_add"))
        or leaf.startswith("auth_group_")
    ):
        row["admin"] = 403
    else:
        row["admin"] = "any"  # 200, or 302/403/404 for a missing object or a model not theirs
    return row


def visit_all(
    world: World, routes: list[Route], table: dict, opened: set[str] | None = None
) -> tuple[list[Visit], list[str]]:
    """GET every route as every role. Returns the visits and the problems found.

    Every route is checked against the table (a missing row, a stale row, an unknown key);
    `opened` narrows the routes visited to those names (the checker's own test opens only
    the pages it plants a fault in)."""
    visits, problems = [], []
    clients = {}
    for role in ROLES:
        clients[role] = Client(raise_request_exception=False)
        if world.user(role) is not None:
            clients[role].force_login(world.user(role))
    names = {route.name for route in routes}
    for stale in sorted(set(table) - names):
        problems.append(f"{stale}: the table has a row for a URL that no longer exists")
    for route in routes:
        row = table.get(route.name)
        if row is None and route.is_admin:
            row = admin_site_row(route)
        if row is None:
            problems.append(
                f"{route.name} ({route.route}): not in the permission matrix. Add a row to "
                "EXPECTED in tests/security/test_permission_matrix.py saying who may see it."
            )
            continue
        unknown = set(row) - ROW_KEYS
        if unknown:
            problems.append(f"{route.name}: unknown keys {sorted(unknown)} in its row")
        if opened is not None and route.name not in opened:
            continue
        variants = ("own", "other") if route.parameters and not route.is_admin else ("-",)
        for variant in variants:
            try:
                url = url_for(route, world.side(variant), row.get("object"))
            except UnknownParameter as exc:
                problems.append(str(exc))
                break
            for role in ROLES:
                response = clients[role].get(url)
                visit = Visit(
                    route=route.name,
                    role=role,
                    variant=variant,
                    url=url,
                    status=response.status_code,
                    location=response.get("Location", ""),
                    body=_text(response),
                )
                visits.append(visit)
                problems += _check(visit, row, world)
    return visits, problems


def _text(response) -> str:
    if getattr(response, "streaming", False):
        return ""
    if not response.get("Content-Type", "").startswith(("text/", "application/json")):
        return ""
    return response.content.decode(errors="replace")


def _check(visit: Visit, row: dict, world: World) -> list[str]:
    problems = []
    where = f"{visit.route} as {visit.role}" + (
        f" ({visit.variant} object)" if visit.variant != "-" else ""
    )
    expected = _expected(row, visit.role, visit.variant)
    if visit.status >= 500:
        problems.append(f"{where}: server error {visit.status} at {visit.url}")
    elif expected == "any":
        if visit.status not in {200, 302, 403, 404, 405}:
            problems.append(f"{where}: unexpected {visit.status} at {visit.url}")
    elif expected is None:
        problems.append(f"{where}: the row gives no status for this role")
    elif visit.status != expected:
        problems.append(f"{where}: expected {expected}, got {visit.status} at {visit.url}")
    if visit.role == "anonymous" and visit.status == 302:
        allowed = (reverse("sign-in"), reverse("admin:login"))
        if "redirects_to" in row:
            allowed += (row["redirects_to"],)
        if not visit.location.startswith(allowed):
            problems.append(f"{where}: an anonymous visitor was sent to {visit.location}")
    if (
        visit.role in SCOPED_ROLES
        and visit.status == 200
        and not row.get("shows_strangers")
        and not (visit.variant == "other" and expected == 200)
    ):
        shown = [secret for secret in world.other.secrets if secret and secret in visit.body]
        if shown:
            problems.append(f"{where}: shows another person's data {shown} at {visit.url}")
    return problems
