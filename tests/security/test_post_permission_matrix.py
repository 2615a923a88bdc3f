"""Every state-changing URL × every role × someone else's object, by POST, with CSRF enforced.

The GET matrix (test_permission_matrix.py) says who may see what; this one says that nobody
changes what is not theirs. Each URL is posted a valid answer (one that changes the object
when its owner posts it: `test_the_owner_posting_the_same_answer_changes_their_object`
checks that, so a refusal here is the permission's doing, not a bad form), with a real CSRF
token, as every role, to side B's object (the strangers'). The answer must be 403 or 404
(405 for a page that takes no POST), or for a visitor who is not signed in a redirect to
the sign-in page, and `state_fingerprint()` must not move.

A URL of the portal missing from POSTS fails the test: a new page must say here what
posting to it means.
"""

import datetime
import re

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access_requests.forms.business_cases import answers_fingerprint
from access_requests.tests.factories import SiteFactory
from tests.portal_map import (
    ROLES,
    Side,
    World,
    build_world,
    fingerprint_differences,
    portal_routes,
    state_fingerprint,
    url_for,
)
from tests.state_writes import StateWatch

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _dates(side: Side) -> dict:
    start = timezone.localdate() + datetime.timedelta(days=3)
    end = start + datetime.timedelta(days=40)
    return {
        "start_date_0": start.day,
        "start_date_1": start.month,
        "start_date_2": start.year,
        "end_date_0": end.day,
        "end_date_1": end.month,
        "end_date_2": end.year,
    }


def _identity(side: Side) -> dict:
    return {"display_name": "Changed Name", "uses_pseudonym": "no", "identifies_as_official": "yes"}


# route → (object the URL names, what a valid post says, who owns the object on side A:
# the role whose post changes it, or None where no post changes it in this world).
# Others' objects that a role may change by design are in MAY_CHANGE_OTHERS.
POSTS = {
    "access_requests:case-withdraw": ("submitted_case", lambda s: {"reason": "Gone"}, "staff"),
    "access_requests:case-ask-again": ("closed_case", lambda s: {}, "staff"),
    "access_requests:case-sites": (
        "draft_case",
        lambda s: {"sites": [str(SiteFactory(name=f"{s.marker} Forum").pk)]},
        "staff",
    ),
    "access_requests:case-tier": ("draft_case", lambda s: {"tier": "active"}, "staff"),
    # The draft is for passive monitoring: its owner is sent to the tier question.
    "access_requests:case-standalone-pc": ("draft_case", lambda s: {"pc_choice": "new"}, None),
    "access_requests:case-need": (
        "draft_case",
        lambda s: {"purpose": "Changed", "audience": "Changed", "integration": "Changed"},
        "staff",
    ),
    "access_requests:case-dates": ("draft_case", _dates, "staff"),
    "access_requests:case-identity": (
        {"pk": "draft_case", "site_pk": "site"},
        _identity,
        "staff",
    ),
    # Every declaration is made already on the draft: posting them again changes nothing.
    "access_requests:case-declarations": ("draft_case", lambda s: {}, None),
    "access_requests:case-check": (
        "draft_case",
        lambda s: {"answers_seen": answers_fingerprint(s.draft_case)},
        "staff",
    ),
    "access_requests:case-delete": ("draft_case", lambda s: {}, "staff"),
    "access_requests:case-continue": ("draft_case", lambda s: {}, None),  # GET only
    "access_requests:case-detail": ("submitted_case", lambda s: {}, None),  # GET only
    "access_requests:case-confirmation": ("submitted_case", lambda s: {}, None),  # GET only
    "access_requests:grant-detail": ("grant", lambda s: {}, None),  # GET only
    # Renewal opens 30 days before the end, and safe use only when a reminder is due.
    "access_requests:grant-renew": ("grant", lambda s: {}, None),
    "access_requests:grant-safe-use": ("grant", lambda s: {}, None),
    "access_requests:grant-lapse": ("grant", lambda s: {}, "staff"),
    "access_requests:grant-surrender": ("grant", lambda s: {}, "staff"),
    "access_requests:grant-revoke": ("grant", lambda s: {"reason": "Misuse"}, "director"),
    "access_requests:provisioning-grant": ("awaiting_grant", lambda s: {}, "ict"),
    "access_requests:provisioning-send-back": (
        "awaiting_grant",
        lambda s: {"reason": "No PC in stock"},
        "ict",
    ),
    "access_requests:withdrawal-confirm": ("ended_grant", lambda s: {}, "ict"),
    "approvals:decide": ("token", lambda s: {"decision": "approve"}, "anonymous"),
    "approvals:decide-signed-in": ("approval", lambda s: {"decision": "approve"}, "director"),
    "approvals:delegation-cancel": ("delegation", lambda s: {}, "director"),
    "oversight:case-detail": ("submitted_case", lambda s: {}, None),  # GET only
    "staffing:person": ("staff", lambda s: {}, None),  # GET only
    # Admins switch people off and on; nobody switches themselves.
    "staffing:person-switch-off": ("staff", lambda s: {"reason": "Left", "confirm": "on"}, None),
    "staffing:person-switch-on": ("staff", lambda s: {}, None),
    "oversight:audit-event": ("audit_event", lambda s: {}, None),  # GET only
    # The site catalogue is no one's own: admins change any site (MAY_CHANGE_OTHERS).
    "access_requests:site-rename": ("site", lambda s: {"name": f"{s.marker} Renamed"}, "admin"),
    "access_requests:site-retire": ("site", lambda s: {}, "admin"),
    "access_requests:site-unretire": ("retired_site", lambda s: {}, "admin"),
    "api:token-revoke": ("service_token", lambda s: {}, "admin"),
    # A reviewer ends (or keeps) the grants put to them; admins decide any.
    "reviews:review": (
        "access_review",
        lambda s: {
            f"decision_{s.review_item.pk}": "end",
            f"reason_{s.review_item.pk}": "No longer needed",
        },
        "director",
    ),
    "reviews:keep-unmarked": ("access_review", lambda s: {"confirm": "on"}, "director"),
    "reviews:progress": ("access_review", lambda s: {}, None),  # GET only
    "reviews:export": ("access_review", lambda s: {}, None),  # GET only
}

# (route, role) that may change side B's object, and why.
MAY_CHANGE_OTHERS = {
    # Admins revoke anyone's access; a director only their directorate's.
    ("access_requests:grant-revoke", "admin"): "admins revoke any grant",
    # ICT provisions everyone's grants: it is not a scoped role.
    ("access_requests:provisioning-grant", "ict"): "ICT's queue is everyone's",
    ("access_requests:provisioning-send-back", "ict"): "ICT's queue is everyone's",
    ("access_requests:withdrawal-confirm", "ict"): "ICT withdraws everyone's ended access",
    # The emailed link is its own credential: whoever holds it decides as its approver
    # (signed in as anyone else, they are refused). Its safety is test_token_attacks.py's.
    ("approvals:decide", "anonymous"): "the link is the credential",
    # The staff directory's admins switch anyone off (with a reason) or on.
    ("staffing:person-switch-off", "admin"): "admins switch people off",
    ("staffing:person-switch-on", "admin"): "admins switch people on",
    # The site catalogue is the admins' to manage: no site belongs to anyone.
    ("access_requests:site-rename", "admin"): "admins manage the catalogue",
    ("access_requests:site-retire", "admin"): "admins manage the catalogue",
    ("access_requests:site-unretire", "admin"): "admins manage the catalogue",
    # A service token is the department's, not its owner's: admins revoke any.
    ("api:token-revoke", "admin"): "admins revoke any service token",
    # Admins decide any grant in a review (as they may revoke any grant).
    ("reviews:review", "admin"): "admins review any grant",
    ("reviews:keep-unmarked", "admin"): "admins review any grant",
}

# URLs with no object of anyone's in them: posting there acts on one's own account or
# starts something new, so there is no "someone else's" to change.
NO_OBJECT = {
    "home",
    "guidance",
    "help",
    "cookies",
    "privacy",
    "accessibility",
    "oversight:report-csv",
    "healthz",
    "metrics",  # a scraper's, GET only
    "sign-in",
    "sign-out",
    # Single sign-on: GET only, and about no one's object until it signs someone in.
    "people:sso-start",
    "people:sso-callback",
    "sent-emails",
    # Notify's delivery receipts: no session acts there, only Notify's bearer token
    # (approvals/tests/test_notify_callback.py); unconfigured here, it is 404.
    "notify-callback",
    "access_requests:case-list",
    "access_requests:case-start",  # a new draft of one's own
    "access_requests:provisioning-queue",
    "access_requests:access-to-withdraw",
    "access_requests:standalone-pcs",
    "approvals:case-list",
    "approvals:delegation-list",
    "approvals:delegation-create",  # a delegation of one's own
    "people:password-reset",
    "people:password-reset-sent",
    "people:password-reset-complete",
    # The emailed password link is its own credential (tested in people's tests).
    "people:password-reset-confirm",
    "oversight:register",
    "oversight:register-csv",
    "oversight:audit-trail",
    "oversight:audit-trail-csv",
    "oversight:reports",
    "oversight:failed-emails",
    "oversight:directorate-access",  # GET only: the grant page's Revoke is matrixed there
    "reviews:list",
    "reviews:start",  # a new review
    "access_requests:site-list",
    "access_requests:site-add",  # a new site: nobody's object (admins only, matrix above)
    "api:token-list",
    "api:token-create",  # a new token (admins only: api/tests/test_pages.py)
    "api:reference",
    # The read API: GET only (405 to a POST), by token, never a session's CSRF-checked form.
    "api-v1:grants",
    "api-v1:business-cases",
    "api-v1:audit-events",
    "api-v1:openapi-json",
    "api-v1:api-root",
}


def csrf_client(world: World, role: str) -> tuple[Client, str]:
    """A client that enforces CSRF as a browser meets it, and a token it got from a form."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    user = world.user(role)
    if user is not None:
        client.force_login(user)
    page = client.get(reverse("people:password-reset")).content.decode()
    return client, CSRF_INPUT.search(page).group(1)


def post(client: Client, token: str, url: str, data: dict):
    return client.post(url, {**data, "csrfmiddlewaretoken": token})


@pytest.fixture
def production_pages(settings):
    settings.DEMO_OUTBOX = False


@pytest.fixture
def world(db):
    return build_world()


def test_every_url_is_in_the_post_matrix():
    routes = {route.name for route in portal_routes() if not route.is_admin}
    assert not (routes - set(POSTS) - NO_OBJECT), "add these to POSTS or NO_OBJECT"
    assert not ((set(POSTS) | NO_OBJECT) - routes), "these URLs no longer exist"


@pytest.mark.django_db
def test_nobody_changes_someone_elses_object_by_post(production_pages, world):
    clients = {role: csrf_client(world, role) for role in ROLES}
    problems = []
    state = StateWatch(state_fingerprint, fingerprint_differences)
    for name, (which, answer, _owner) in POSTS.items():
        route = next(r for r in portal_routes() if r.name == name)
        url = url_for(route, world.other, which)
        data = answer(world.other)
        for role in ROLES:
            if (name, role) in MAY_CHANGE_OTHERS:
                continue
            client, token = clients[role]
            state.changes()  # the rows the answer made are not the post's doing
            response = post(client, token, url, data)
            changed = state.changes()
            where = f"POST {name} as {role} to another's object"
            body = response.content.decode(errors="replace")
            if "CSRF" in body:
                problems.append(f"{where}: refused for its CSRF token, not its permission")
            if role == "anonymous":
                if response.status_code != 302 or not response["Location"].startswith(
                    reverse("sign-in")
                ):
                    problems.append(f"{where}: {response.status_code}, not sent to sign in")
            elif response.status_code not in (403, 404, 405):
                problems.append(f"{where}: answered {response.status_code}")
            if changed:
                problems.append(f"{where}: changed {changed}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(n for n, (_, _, owner) in POSTS.items() if owner))
def test_the_owner_posting_the_same_answer_changes_their_object(production_pages, world, name):
    """The matrix's answers are valid: its refusals are the permission's doing."""
    which, answer, owner = POSTS[name]
    route = next(r for r in portal_routes() if r.name == name)
    url = url_for(route, world.own, which)
    client, token = csrf_client(world, owner)
    data = answer(world.own)
    before = state_fingerprint()
    with transaction.atomic():
        response = post(client, token, url, data)
        changed = fingerprint_differences(before, state_fingerprint())
        transaction.set_rollback(True)
    assert response.status_code in (200, 302), response.status_code
    assert changed, f"{name}: the owner's post changed nothing"


@pytest.mark.django_db
def test_the_matrix_catches_a_post_without_its_csrf_token(production_pages, world):
    client, _ = csrf_client(world, "staff")
    url = reverse("access_requests:case-delete", kwargs={"pk": world.own.draft_case.pk})
    before = state_fingerprint()
    response = client.post(url, {})
    assert response.status_code == 403
    assert not fingerprint_differences(before, state_fingerprint())
