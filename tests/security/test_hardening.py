"""Production settings, security headers, cookies, session expiry and sign-in lock-out."""

import datetime
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from people.tests.factories import TEST_PASSWORD, UserFactory
from tests.portal_map import build_world, portal_routes, url_for

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path, **overrides) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DATABASE_", "CELERY_", "EMAIL_", "SECURE_", "SESSION_", "SNS_", "TRUST_")
        )
        and key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "AUDIT_CHAIN_KEY",
            "ALLOWED_HOSTS",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "AUDIT_CHAIN_KEY": secrets.token_urlsafe(50),
            "EMAIL_HOST": "smtp.dept.example",
            "ALLOWED_HOSTS": "sns.dept.gov.uk",
            "CSRF_TRUSTED_ORIGINS": "https://sns.dept.gov.uk",
            "PORTAL_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "portal.settings",
        }
    )
    env.update(overrides)
    return env


def run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_a_production_setting_is_weakened(tmp_path):
    env = production_env(tmp_path, SECURE_HSTS_SECONDS="0", SECURE_COOKIES="0")
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # no HSTS
    assert "security.W012" in result.stderr  # session cookie not Secure


def test_production_cookies_are_secure_httponly_samesite_and_sessions_are_short(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.CSRF_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SAMESITE, "
        "s.SESSION_EXPIRE_AT_BROWSER_CLOSE, s.SESSION_COOKIE_AGE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.DEBUG)"
    )
    result = run(["-c", code], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    values = result.stdout.split()
    assert values[:8] == ["True", "True", "True", "True", "Lax", "Lax", "True", "28800"]
    assert int(values[8]) >= 31536000 and values[9] == "True" and values[10] == "False"


def test_x_forwarded_proto_is_believed_only_behind_a_trusted_proxy(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT)"
    )
    result = run(["-c", code], production_env(tmp_path))
    assert result.stdout.split() == ["None", "True"], result.stderr
    result = run(["-c", code], production_env(tmp_path, SNS_TRUSTED_PROXIES="1"))
    assert "HTTP_X_FORWARDED_PROTO" in result.stdout, result.stderr


def test_production_refuses_to_start_without_a_real_secret_key(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_an_audit_chain_key(tmp_path):
    # The chain's key is what a holder of the database login lacks (docs/threat-model.md).
    for key in (None, "too-short"):
        env = production_env(tmp_path)
        if key is None:
            del env["AUDIT_CHAIN_KEY"]
        else:
            env["AUDIT_CHAIN_KEY"] = key
        result = run(["manage.py", "check"], env)
        assert result.returncode != 0
        assert "AUDIT_CHAIN_KEY" in result.stderr


# --- headers on every page -------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def html_pages(client, world):
    """(name, role, response) for every page that answers 200 with HTML, over HTTPS."""
    seen = []
    for role in ("anonymous", "staff", "director", "ict", "auditor", "admin"):
        client.logout()
        if world.user(role) is not None:
            client.force_login(world.user(role))
        for route in portal_routes():
            if route.is_admin and route.name not in {"admin:index", "admin:login"}:
                continue
            try:
                url = url_for(route, world.own)
            except LookupError:
                continue  # the permission matrix reports routes it cannot fill
            response = client.get(url, secure=True)
            if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
                seen.append((route.name, role, response))
    return seen


@pytest.mark.django_db
def test_every_page_sends_the_security_headers_and_a_strict_csp(client):
    world = build_world()
    pages = html_pages(client, world)
    names = {name for name, _, _ in pages}
    assert {"sign-in", "home", "guidance", "admin:index"} <= names
    for name, role, response in pages:
        where = f"{name} as {role}"
        assert response["Strict-Transport-Security"].startswith("max-age=31536000"), where
        assert "includeSubDomains" in response["Strict-Transport-Security"], where
        assert response["X-Content-Type-Options"] == "nosniff", where
        assert response["Referrer-Policy"] == "same-origin", where
        assert response["X-Frame-Options"] == "DENY", where
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", where
        csp = dict(
            (part.strip().split(" ", 1) + [""])[:2]
            for part in response["Content-Security-Policy"].split(";")
            if part.strip()
        )
        assert "'unsafe-inline'" not in csp["script-src"], where
        assert "'unsafe-eval'" not in csp["script-src"], where
        assert "'unsafe-inline'" not in csp.get("style-src", ""), where
        assert csp["object-src"] == "'none'" and csp["frame-ancestors"] == "'none'", where
        nonce = re.search(r"'nonce-([^']+)'", csp["script-src"])
        html = response.content.decode()
        inline = INLINE_SCRIPT.findall(html)
        if name != "admin:index" and not name.startswith("admin:"):
            # Our pages: the one GOV.UK line, carrying this response's nonce.
            assert inline, where
        for attributes in inline:
            if "application/json" in attributes:
                continue  # data, not script
            assert nonce and f'nonce="{nonce.group(1)}"' in attributes, f"{where}: {attributes}"
        if not name.startswith("admin:"):
            assert not EVENT_HANDLER.search(html), f"{where}: an inline event handler"
            assert not STYLE_ATTRIBUTE.search(html), f"{where}: a style attribute CSP blocks"


@pytest.mark.django_db
def test_each_response_gets_a_fresh_nonce(client):
    first = client.get(reverse("sign-in"))["Content-Security-Policy"]
    second = client.get(reverse("sign-in"))["Content-Security-Policy"]
    assert re.search(r"'nonce-[^']+'", first)
    assert first != second


@pytest.mark.django_db
def test_health_check_is_not_cached():
    from django.test import Client

    response = Client().get(reverse("healthz"))
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


# --- cookies and sessions --------------------------------------------------------------------


@pytest.mark.django_db
def test_signing_in_sets_secure_httponly_samesite_cookies_that_end_with_the_browser(client):
    user = UserFactory()
    client.get(reverse("sign-in"), secure=True)
    response = client.post(
        reverse("sign-in"), {"username": user.email, "password": TEST_PASSWORD}, secure=True
    )
    assert response.status_code == 302
    for name in ("sessionid", "csrftoken"):
        cookie = client.cookies[name]
        assert cookie["secure"] is True, name
        assert cookie["httponly"] is True, name
        assert cookie["samesite"] == "Lax", name
    # A session cookie: no Max-Age or Expires, so it ends when the browser closes.
    assert not client.cookies["sessionid"]["max-age"]
    assert not client.cookies["sessionid"]["expires"]


@pytest.mark.django_db
def test_a_session_expires_after_eight_hours_even_if_the_browser_stays_open(client):
    user = UserFactory()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.post(reverse("sign-in"), {"username": user.email, "password": TEST_PASSWORD})
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(datetime.timedelta(hours=7, minutes=59))
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(datetime.timedelta(hours=8, minutes=1))
        response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("sign-in"))


@pytest.mark.django_db
def test_signing_out_ends_the_session_on_the_server(client):
    user = UserFactory()
    client.post(reverse("sign-in"), {"username": user.email, "password": TEST_PASSWORD})
    stolen = client.cookies["sessionid"].value
    client.post(reverse("sign-out"))
    from django.test import Client

    thief = Client()
    thief.cookies["sessionid"] = stolen
    assert thief.get(reverse("home")).status_code == 302


# --- lock-out --------------------------------------------------------------------------------


def sign_in(client, email, password):
    return client.post(reverse("sign-in"), {"username": email, "password": password})


@pytest.mark.django_db
def test_five_failed_sign_ins_lock_the_account_out_for_15_minutes_and_are_audited(client):
    user = UserFactory()
    other = UserFactory()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(4):
            response = sign_in(client, user.email, "wrong-password")
            assert response.status_code == 200
            assert "Enter a correct email address and password" in response.content.decode()
        response = sign_in(client, user.email, "wrong-password")
        assert response.status_code in (403, 429)
        # Locked: even the right password shows the GOV.UK lock-out page.
        response = sign_in(client, user.email, TEST_PASSWORD)
        html = response.content.decode()
        assert response.status_code in (403, 429)
        assert "<title>Too many attempts to sign in" in html
        assert "Wait 15 minutes" in html
        assert "_auth_user_id" not in client.session
        # Someone else at the same address is not locked out.
        assert sign_in(client, other.email, TEST_PASSWORD).status_code == 302
        client.post(reverse("sign-out"))

        traveller.shift(datetime.timedelta(minutes=14))
        assert sign_in(client, user.email, TEST_PASSWORD).status_code in (403, 429)
        # Each attempt while locked starts the 15 minutes again ("Wait 15 minutes").
        traveller.shift(datetime.timedelta(minutes=16))
        response = sign_in(client, user.email, TEST_PASSWORD)
    assert response.status_code == 302
    failures = AuditEvent.objects.filter(action="auth.sign_in_failed", object_repr=user.email)
    assert failures.count() >= 5
    assert all(event.client_address == "127.0.0.1" for event in failures)
    assert AuditEvent.objects.filter(action="auth.signed_in", actor=user).exists()


@pytest.mark.django_db
def test_the_admin_sign_in_refuses_an_overlong_email_address_without_a_server_error(client):
    """django-axes records a failed sign-in's username in 255 characters: the admin's form
    must refuse a longer one itself (Django's own form does not check the length)."""
    response = client.post(
        "/admin/login/", {"username": "a" * 300 + "@example.gov.uk", "password": "x"}
    )
    assert response.status_code == 200
    assert "Ensure this value has at most 254 characters" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("unit", [" ", "abc", "99999999999999999999999"])
def test_an_admin_form_with_a_refused_autocomplete_choice_is_shown_again_not_a_500(client, unit):
    """Django's autocomplete widget looks the posted value up to draw it again; a value that
    cannot be a business unit's key must give the form's error, not a server error."""
    from people.models import Role

    person = UserFactory()
    client.force_login(UserFactory(role=Role.ADMIN))
    response = client.post(
        f"/admin/people/user/{person.pk}/change/",
        {
            "email": person.email,
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "1",
            "profile-0-id": person.profile.pk,
            "profile-0-user": person.pk,
            "profile-0-commonly_used_name": "Someone",
            "profile-0-business_unit": unit,
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
