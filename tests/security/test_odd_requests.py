"""Odd requests a scanner sends answer 400 or 404, never a server error."""

from urllib.parse import unquote

import pytest
from django.core.management import get_commands, load_command_class
from django.test import Client, RequestFactory
from django.urls import reverse


@pytest.fixture
def visitor():
    # CSRF checked as in production: the check reads the form, which is where it breaks.
    return Client(raise_request_exception=False, enforce_csrf_checks=True)


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["latin-1", "iso-8859-1", "utf-16", "no-such-charset"])
def test_a_form_posted_in_another_character_set_is_not_a_server_error(visitor, charset):
    """With a good CSRF cookie and token, as a browser sends them: the CSRF check then reads
    the form, which Django refuses to decode, and its 400 page reads it again (a 500)."""
    for url in (reverse("sign-in"), reverse("people:password-reset")):
        visitor.get(url)
        token = visitor.cookies["csrftoken"].value.encode()
        for body in (
            b"username=caf%E9%40example.gov.uk&password=caf%E9&email=caf%E9%40example.gov.uk",
            b"username=caf\xe9@example.gov.uk&password=caf\xe9&email=caf\xe9@example.gov.uk",
        ):
            response = visitor.generic(
                "POST",
                url,
                b"csrfmiddlewaretoken=" + token + b"&" + body,
                content_type=f"application/x-www-form-urlencoded; charset={charset}",
            )
            if charset == "no-such-charset":
                # Django reads a form in a character set it does not know as UTF-8.
                assert response.status_code in (200, 400), (url, response.status_code)
                continue
            assert response.status_code == 400, (url, charset, response.status_code)
            assert "there is a problem with your request" in response.content.decode()


@pytest.mark.django_db
def test_five_thousand_query_parameters_answer_400(visitor):
    query = "&".join(f"p{i}=1" for i in range(5000))
    for url in (reverse("sign-in"), reverse("people:password-reset"), "/static/x.css"):
        response = visitor.get(f"{url}?{query}")
        assert response.status_code == 400, (url, response.status_code)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/static/../portal/settings.py",
        "/static/..%2fportal%2fsettings.py",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/govuk/../../../../etc/passwd",
        "/static/..\\portal\\settings.py",
        "/static/%00",
    ],
)
def test_static_traversal_paths_answer_404_or_400(visitor, path):
    response = visitor.get(path)
    assert response.status_code in (400, 404), (path, response.status_code)
    assert b"SECRET_KEY" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/static/../portal/settings.py",
        "/static/..%2fportal%2fsettings.py",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/%2e%2e/",
    ],
)
def test_the_demo_servers_static_files_answer_traversal_paths_with_404(settings, path):
    """`make run` serves through `manage.py runserver` with DEBUG on: the handler it builds
    (Django's static handler raises on these paths, a 500) must leave them to WhiteNoise."""
    settings.DEBUG = True
    command = load_command_class(get_commands()["runserver"], "runserver")
    options = vars(command.create_parser("manage.py", "runserver").parse_args([]))
    handler = command.get_handler(**options)
    environ = RequestFactory().get("/").environ
    environ["PATH_INFO"] = unquote(path)
    statuses = []
    body = b"".join(handler(environ, lambda status, headers, *rest: statuses.append(status)))
    assert statuses[0].startswith("404"), (path, statuses)
    assert b"SECRET_KEY" not in body
