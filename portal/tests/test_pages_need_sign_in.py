import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from people.models import Role
from people.tests.factories import TEST_PASSWORD, UserFactory

# Pages a person may reach without signing in: everything else redirects to sign-in.
PUBLIC_URL_NAMES = {
    "sign-in",
    "healthz",
    "metrics",
    # Single sign-on's start and the provider's answer (404 while it is not configured).
    "people:sso-start",
    "people:sso-callback",
    # Asking for a password link, and the pages around it (people/tests/test_password_setup.py).
    "people:password-reset",
    "people:password-reset-sent",
    "people:password-reset-complete",
    # The demo's Sent emails page (404 outside the demo), where a new person reads that link.
    "sent-emails",
    # The footer's help, accessibility and cookies pages, which a person who cannot sign in
    # needs most.
    "help",
    "accessibility",
    "cookies",
    "privacy",
    # GOV.UK Notify's delivery receipts: Notify's servers post them with a bearer token.
    "notify-callback",
    # The read API's OpenAPI document (it holds no data) and its root (404).
    "api-v1:openapi-json",
    "api-v1:api-root",
}
# The emailed links carry their own credential: a token for one case, or for one person's
# password. The read API's endpoints answer to a service token, never a session (401
# without one: api/tests/test_access.py).
TOKEN_URL_NAMES = {
    "approvals:decide",
    "people:password-reset-confirm",
    "api-v1:grants",
    "api-v1:business-cases",
    "api-v1:audit-events",
}


def all_url_patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            yield from all_url_patterns(
                pattern, prefix + str(pattern.pattern), f"{namespace}{ns}:" if ns else namespace
            )
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", prefix + str(pattern.pattern)


def portal_url_names():
    return sorted(
        name
        for name, route in all_url_patterns()
        if not name.startswith("admin:") and name not in PUBLIC_URL_NAMES | TOKEN_URL_NAMES
    )


def example_url(name, route):
    """Fill each URL parameter with a value of its converter's type."""
    kwargs = {
        arg: 1 if kind == "int" else "x" for kind, arg in re.findall(r"<(?:(\w+):)?(\w+)>", route)
    }
    return reverse(name, kwargs=kwargs)


@pytest.mark.django_db
def test_every_page_but_the_public_ones_needs_a_signed_in_user(client):
    routes = dict(all_url_patterns())
    names = portal_url_names()
    assert "home" in names
    for name in names:
        url = example_url(name, routes[name])
        response = client.get(url)
        assert response.status_code == 302, f"{name} ({url}) answered {response.status_code}"
        assert response.url.startswith(reverse("sign-in")), name


@pytest.mark.django_db
def test_sign_in_page_is_public_and_signing_in_shows_the_home_page(client):
    user = UserFactory(profile__name="Sam Taylor")
    response = client.get(reverse("sign-in"))
    assert response.status_code == 200
    response = client.post(
        reverse("sign-in"), {"username": user.email, "password": TEST_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Hello, Sam Taylor" in response.content.decode()


@pytest.mark.django_db
def test_a_wrong_password_shows_a_govuk_error(client):
    user = UserFactory()
    response = client.post(reverse("sign-in"), {"username": user.email, "password": "wrong"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in html
    assert "Enter a correct email address and password" in html
    assert "<title>Error: Sign in" in html


@pytest.mark.django_db
def test_sign_out_is_a_post(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("sign-out")).status_code == 405
    response = client.post(reverse("sign-out"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


NAV_EXPECTED = {
    Role.STAFF: (
        {"Home", "Your requests"},
        {"Cases to decide", "Provisioning", "Register", "Failed email", "Sites"},
    ),
    Role.DIRECTOR: ({"Home", "Your requests", "Cases to decide"}, {"Provisioning", "Register"}),
    Role.ICT: ({"Home", "Provisioning"}, {"Cases to decide", "Register", "Audit trail"}),
    Role.AUDITOR: (
        {"Register", "Audit trail", "Reports", "Sites"},
        {"Admin", "Provisioning", "Your requests", "Failed email", "API tokens"},
    ),
    Role.ADMIN: (
        {
            "Register",
            "Audit trail",
            "Reports",
            "Failed email",
            "Sites",
            "API tokens",
            "Admin",
            "Cases to decide",
        },
        set(),
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(NAV_EXPECTED))
def test_navigation_shows_only_what_the_role_may_use(client, role):
    user = UserFactory(role=role)
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    nav = response.context["navigation"]
    labels = {item.label for item in nav}
    shown, hidden = NAV_EXPECTED[role]
    assert shown <= labels, f"{role} is missing {shown - labels}"
    assert not (hidden & labels), f"{role} sees {hidden & labels}"
    html = response.content.decode()
    for item in nav:
        assert f'href="{item.url}"' in html
