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

# role → status, or role → (status for one's own object, status for someone else's).
# Roles: anonymous, staff, director, ict, auditor, admin. "*" is every role not named.
EXPECTED = {
    "home": SIGNED_IN,
    "guidance": SIGNED_IN,
    "healthz": {"*": 200},
    "sign-in": {"anonymous": 200, "*": 302},  # a signed-in person is sent home
    "sign-out": {"anonymous": 302, "*": 405},  # POST only
    # The demo-only page of every sent email: the matrix runs as production, where it is 404.
    "sent-emails": {"anonymous": 302, "*": 404},
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
    _, problems = visit_all(world, routes, table)
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
    _, problems = visit_all(world, routes, table)
    assert any(
        p.startswith("leaky-list (leak/cases/): not in the permission matrix") for p in problems
    )
