"""Every URL × every role × own or someone else's object → the status a person gets.

A URL missing from EXPECTED fails the test: a new page must say here who may see it.
The Django admin's URLs follow `matrix.admin_site_row` unless a row overrides them.
"""

import pytest
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import path

from access_requests.models import BusinessCase
from tests.portal_map import build_world, portal_routes
from tests.security.matrix import visit_all

SIGNED_IN = {"anonymous": 302, "*": 200}
OWN_CASE = {"anonymous": 302, "staff": (200, 404), "auditor": 403, "*": 404}
OWN_DRAFT = {**OWN_CASE, "object": "draft_case"}  # question pages: drafts only
POST_ONLY = {"anonymous": 302, "*": 405}
OVERSIGHT = {"anonymous": 302, "auditor": 200, "admin": 200, "*": 403}
ADMINS = {"anonymous": 302, "admin": 200, "*": 403}

# role → status, or role → (status for one's own object, status for someone else's).
# Roles: anonymous, staff, director, ict, auditor, admin. "*" is every role not named.
EXPECTED = {
    "home": SIGNED_IN,
    "guidance": SIGNED_IN,
    "healthz": {"*": 200},
    # For a scraper with its token or address, never a session: absent unless configured.
    "metrics": {"*": 404},
    # The footer's pages: for everyone, signed in or not.
    "help": {"*": 200},
    "cookies": {"*": 200},
    "privacy": {"*": 200},
    "accessibility": {"*": 200},
    "sign-in": {"anonymous": 200, "*": 302},  # a signed-in person is sent home
    "sign-out": {"anonymous": 302, "*": 405},  # POST only
    # Single sign-on's start and the provider's answer: absent while OIDC_ISSUER is unset, as
    # the matrix runs (the pages themselves: people/tests/test_sso_*.py).
    "people:sso-start": {"*": 404},
    "people:sso-callback": {"*": 404},
    # The demo-only page of every sent email: the matrix runs as production, where it is 404.
    "sent-emails": {"*": 404},  # the demo's page: open to all there, absent in production
    # GOV.UK Notify's delivery receipts: POST only, authenticated by Notify's bearer token.
    "notify-callback": {"*": 405},
    # The admins' page of failed email (not auditors': it is for fixing addresses).
    "oversight:failed-emails": {"anonymous": 302, "admin": 200, "*": 403},
    # The staff journey: one's own cases only; auditors read, they do not ask.
    "access_requests:case-list": {"anonymous": 302, "auditor": 403, "*": 200},
    "access_requests:case-start": {"anonymous": 302, "auditor": 403, "*": 200},
    "access_requests:case-detail": OWN_CASE,
    "access_requests:case-confirmation": OWN_CASE,
    "access_requests:case-withdraw": OWN_CASE,
    "access_requests:case-ask-again": {"anonymous": 302, "auditor": 403, "*": 405},  # POST only
    "access_requests:case-continue": {**OWN_DRAFT, "staff": (302, 404)},  # to the next question
    "access_requests:case-sites": OWN_DRAFT,
    "access_requests:case-tier": OWN_DRAFT,
    "access_requests:case-standalone-pc": {**OWN_DRAFT, "staff": (302, 404)},  # passive tier
    "access_requests:case-need": OWN_DRAFT,
    "access_requests:case-dates": OWN_DRAFT,
    "access_requests:case-identity": OWN_DRAFT,
    "access_requests:case-declarations": OWN_DRAFT,
    "access_requests:case-check": OWN_DRAFT,
    "access_requests:case-delete": OWN_DRAFT,
    # Grants: the holder, their director, ICT, auditors and admins.
    "access_requests:grant-detail": {
        "anonymous": 302,
        "staff": (200, 404),
        "director": (200, 404),
        "*": 200,
    },
    # Renewal opens 30 days before the end: earlier, the holder is sent back to the grant.
    "access_requests:grant-renew": {"anonymous": 302, "staff": (302, 404), "*": 404},
    "access_requests:grant-surrender": {"anonymous": 302, "staff": (200, 404), "*": 404},
    "access_requests:grant-lapse": {"anonymous": 302, "staff": (200, 404), "*": 404},
    # Only for an active-tier grant with a safe-use reminder due: 404 in this world.
    "access_requests:grant-safe-use": {"anonymous": 302, "*": 404},
    "access_requests:grant-revoke": {
        "anonymous": 302,
        "staff": (403, 404),
        "director": (200, 404),  # their own directorate's grants
        "admin": 200,
        "*": 403,
    },
    # ICT's provisioning queue (everyone's grants waiting: ICT is not a scoped role).
    "access_requests:provisioning-queue": {"anonymous": 302, "ict": 200, "*": 403},
    "access_requests:provisioning-grant": {"anonymous": 302, "ict": 200, "*": 403},
    "access_requests:provisioning-send-back": {"anonymous": 302, "ict": 200, "*": 403},
    "access_requests:access-to-withdraw": {"anonymous": 302, "ict": 200, "*": 403},
    "access_requests:withdrawal-confirm": {"anonymous": 302, "ict": 200, "*": 403},
    "access_requests:standalone-pcs": {"anonymous": 302, "ict": 200, "*": 403},
    # Decisions. The emailed link is its own credential: whoever holds it sees the case,
    # but a signed-in person who is not its approver is refused (403).
    "approvals:decide": {
        "anonymous": 200,
        "director": (200, 403),
        "*": 403,
        "shows_strangers": True,
    },
    "approvals:case-list": {"anonymous": 302, "*": 200},  # each sees only their own queue
    "approvals:decide-signed-in": {"anonymous": 302, "director": (200, 404), "*": 404},
    "approvals:delegation-list": {"anonymous": 302, "director": 200, "admin": 200, "*": 403},
    "approvals:delegation-create": {"anonymous": 302, "director": 200, "admin": 200, "*": 403},
    "approvals:delegation-cancel": POST_ONLY,
    # Creating or resetting a password: open to everyone, signed in or not (people from
    # import_staff have no password until they ask here). The emailed link is its own
    # credential: a working one redirects to the form (Django swaps the token for
    # "set-password"); it shows nothing about the person, so anyone holding it is the same.
    "people:password-reset": {"*": 200},
    "people:password-reset-sent": {"*": 200},
    "people:password-reset-confirm": {
        "*": 302,
        "object": {"uidb64": "password_uidb64", "token": "password_token"},
        "redirects_to": "/password/reset/",
    },
    "people:password-reset-complete": {"*": 200},
    # The read-only oversight wing: auditors and admins only.
    "oversight:register": OVERSIGHT,
    "oversight:register-csv": OVERSIGHT,
    "oversight:audit-trail": OVERSIGHT,
    "oversight:audit-trail-csv": OVERSIGHT,
    "oversight:audit-event": OVERSIGHT,
    "oversight:reports": OVERSIGHT,
    "oversight:report-csv": {**OVERSIGHT, "admin": 404, "auditor": 404},  # no table named: 404
    "oversight:case-detail": OVERSIGHT,
    # Switching a person off or on: admins only (auditors read, they do not change).
    "staffing:person": {"anonymous": 302, "admin": 200, "*": 403},
    "staffing:person-switch-off": {"anonymous": 302, "admin": 200, "*": 403},
    "staffing:person-switch-on": POST_ONLY,
    # A director sees their own directorate's access; the matrix's leak check proves they
    # never see side B's.
    "oversight:directorate-access": {**OVERSIGHT, "director": 200},
    # Access reviews: admins start them, admins and auditors follow their progress; a
    # reviewer (here side A's director) sees their own review page, admins any.
    "reviews:list": OVERSIGHT,
    "reviews:start": {"anonymous": 302, "admin": 200, "*": 403},
    "reviews:review": {"anonymous": 302, "director": (200, 403), "admin": 200, "*": 403},
    "reviews:keep-unmarked": {"anonymous": 302, "director": (200, 403), "admin": 200, "*": 403},
    "reviews:progress": OVERSIGHT,
    "reviews:export": OVERSIGHT,
    # Manage sites: the catalogue is the admins'; auditors see the list and change nothing.
    "access_requests:site-list": OVERSIGHT,
    "access_requests:site-add": {"anonymous": 302, "admin": 200, "*": 403},
    "access_requests:site-rename": {"anonymous": 302, "admin": 200, "*": 403},
    "access_requests:site-retire": {"anonymous": 302, "admin": 200, "*": 403},
    "access_requests:site-unretire": {
        "anonymous": 302,
        "admin": 200,
        "*": 403,
        "object": "retired_site",
    },
    # The read API's service tokens and its reference: admins only. Admins see and revoke
    # every token (a token is the department's, not a side's).
    "api:token-list": ADMINS,
    "api:token-create": ADMINS,
    "api:token-revoke": ADMINS,
    "api:reference": ADMINS,
    # The read API answers to service tokens, not sessions: signed in or not, a request
    # without a token is 401 (api/tests/test_access.py covers every kind of token). Its
    # OpenAPI document is public: it describes the endpoints and holds no data.
    "api-v1:grants": {"*": 401},
    "api-v1:business-cases": {"*": 401},
    "api-v1:audit-events": {"*": 401},
    "api-v1:openapi-json": {"*": 200},
    "api-v1:api-root": {"*": 404},
}


@pytest.fixture
def production_pages(settings):
    settings.DEMO_OUTBOX = False


@pytest.mark.django_db
def test_every_url_answers_every_role_as_the_table_says_and_leaks_nothing(production_pages):
    world = build_world()
    routes = portal_routes()
    visits, problems = visit_all(world, routes, EXPECTED)
    assert not problems, "\n".join(problems)
    # Every URL was visited by every role (admin URLs included).
    assert {v.route for v in visits} == {r.name for r in routes}
    assert {v.role for v in visits} == {
        "anonymous",
        "staff",
        "director",
        "ict",
        "auditor",
        "admin",
    }


# --- the matrix catches what it is for -------------------------------------------------------


def leaky_case(request, case_pk):
    """A case page that forgets to scope by user: anyone signed in sees any case."""
    case = BusinessCase.objects.get(pk=case_pk)
    return HttpResponse(f"<h1>{case.reference}</h1><p>{case.purpose}</p>")


def leaky_list(request):
    """A list page that shows everybody's cases."""
    purposes = " ".join(BusinessCase.objects.values_list("purpose", flat=True))
    return HttpResponse(f"<p>{purposes}</p>")


@login_not_required
def public_case(request, case_pk):
    """A page that forgot the sign-in requirement."""
    return HttpResponse(BusinessCase.objects.get(pk=case_pk).purpose)


def leaky_urlpatterns():
    from portal.urls import urlpatterns

    return [
        *urlpatterns,
        path("leak/case/<int:case_pk>/", leaky_case, name="leaky-case"),
        path("leak/cases/", leaky_list, name="leaky-list"),
        path("leak/public/<int:case_pk>/", public_case, name="public-case"),
    ]


class LeakyUrls:
    urlpatterns = leaky_urlpatterns()


@pytest.mark.django_db
def test_the_matrix_fails_on_a_leaky_page_a_forgotten_row_and_a_missing_sign_in(
    production_pages, settings, monkeypatch
):
    import sys

    monkeypatch.setitem(sys.modules, "tests_leaky_urls", LeakyUrls)
    settings.ROOT_URLCONF = "tests_leaky_urls"
    world = build_world()
    scoped = {"anonymous": 302, "staff": (200, 404), "director": 404, "*": 200}
    table = {
        **EXPECTED,
        "leaky-case": scoped,
        "leaky-list": {"anonymous": 302, "*": 200},
        "public-case": scoped,
        "gone-page": SIGNED_IN,
    }
    routes = [route for route in portal_routes() if not route.is_admin]
    # The checker reads every route's row, but opens only the planted pages: the other
    # pages are the production test's to open, and opening them again proves nothing more.
    planted = {"leaky-case", "leaky-list", "public-case"}
    visits, problems = visit_all(world, routes, table, opened=planted)
    assert {visit.route for visit in visits} == planted
    report = "\n".join(problems)
    # Another person's case answered 200 instead of 404, and its text was on the page.
    assert "leaky-case as staff (other object): expected 404, got 200" in report
    assert "leaky-case as staff (other object): shows another person's data" in report
    # A list page showing everybody's cases, found by the stranger's marker.
    assert "leaky-list as staff: shows another person's data" in report
    assert "leaky-list as director: shows another person's data" in report
    # A page that forgot LoginRequired.
    assert "public-case as anonymous (own object): expected 302, got 200" in report
    # A row whose page was removed.
    assert "gone-page: the table has a row for a URL that no longer exists" in report

    del table["leaky-list"]
    _, problems = visit_all(world, routes, table, opened=planted)
    assert any(
        p.startswith("leaky-list (leak/cases/): not in the permission matrix") for p in problems
    )
