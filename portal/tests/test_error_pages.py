"""Errors answer with the service's own GOV.UK pages, with a way back and a contact."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from people.models import Role
from people.tests.factories import UserFactory

SERVICE_LAYOUT = 'class="govuk-footer"'


def assert_service_page(response, status: int, heading: str):
    html = response.content.decode()
    assert response.status_code == status
    assert f'<h1 class="govuk-heading-l">{heading}</h1>' in html
    assert SERVICE_LAYOUT in html
    assert 'href="/"' in html  # a way back to the start
    assert "mailto:" in html
    assert "Traceback" not in html and "Django" not in html


@pytest.mark.django_db
def test_a_page_that_does_not_exist_says_page_not_found(client):
    assert_service_page(client.get("/no-such-page/"), 404, "Page not found")
    client.force_login(UserFactory())
    response = client.get(reverse("access_requests:case-detail", args=[999999]))
    assert_service_page(response, 404, "Page not found")


@pytest.mark.django_db
def test_a_page_the_person_may_not_see_says_so(client):
    client.force_login(UserFactory(role=Role.STAFF))
    response = client.get(reverse("access_requests:provisioning-queue"))
    assert_service_page(response, 403, "You cannot see this page")


@pytest.mark.django_db
def test_a_method_the_page_does_not_take_gets_the_service_page_and_its_allow_header(client):
    client.force_login(UserFactory())
    response = client.post(reverse("guidance"))
    assert_service_page(response, 405, "Sorry, you cannot do that on this page")
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_a_bad_host_gets_the_service_page_for_a_bad_request():
    response = Client().get("/", HTTP_HOST="evil.example.com:bad")
    assert_service_page(response, 400, "Sorry, there is a problem with your request")


@pytest.mark.django_db
def test_a_form_without_its_csrf_token_says_it_could_not_be_sent():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    response = client.post(reverse("sign-out"))
    assert_service_page(response, 403, "Sorry, your form could not be sent")
    assert "Go back, reload the page and try again" in response.content.decode()


@pytest.mark.django_db
def test_the_service_error_page_works_when_the_database_is_down(settings):
    """The database is made unreachable for real: the connection is closed and pointed at a
    database that does not exist, so the session lookup fails as it would in an outage."""
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory())
    real_name = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = "sns_database_that_does_not_exist"
    try:
        response = client.get(reverse("home"))
    finally:
        connection.settings_dict["NAME"] = real_name
        connection.close()
    assert_service_page(response, 500, "Sorry, there is a problem with the service")
    assert "Try again later." in response.content.decode()
