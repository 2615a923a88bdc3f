"""The demo's Sent emails page (review findings 5 and 18): it exists only when asked for in
the demo, shows typed addresses as text, and reads non-ASCII names by their charset."""

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse

from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    """`make run`: DEBUG on, mail written to a folder, and the page asked for."""
    settings.DEBUG = True
    settings.DEMO_OUTBOX = True
    settings.SNS_DEMO_SENT_EMAILS = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "sent-emails"
    return settings


def footer_links(client) -> bool:
    client.force_login(UserFactory())
    return reverse("sent-emails") in client.get(reverse("guidance")).content.decode()


def test_in_the_demo_the_page_and_its_footer_link_exist(demo):
    client = Client()
    assert client.get(reverse("sent-emails")).status_code == 200
    assert footer_links(client)


def test_debug_without_a_mail_server_but_without_the_flag_has_no_page(demo):
    # A staging box with DEBUG=1 and no EMAIL_HOST: no one reads the password links there.
    demo.SNS_DEMO_SENT_EMAILS = False
    client = Client()
    assert client.get(reverse("sent-emails")).status_code == 404
    assert not footer_links(client)


def test_with_debug_off_the_page_does_not_exist_even_with_the_flag(demo):
    demo.DEBUG = False
    client = Client()
    assert client.get(reverse("sent-emails")).status_code == 404
    assert not footer_links(client)


def test_addresses_typed_into_answers_are_text_and_only_the_portals_links_are_links(demo):
    mail.send_mail(
        "A case",
        "Purpose: see https://evil.example/phish or write to boss@evil.example\n"
        "Decide: http://testserver/approvals/cases/7/\n",
        "portal@example.gov.uk",
        ["dana@example.gov.uk"],
    )
    page = Client().get(reverse("sent-emails")).content.decode()
    assert "https://evil.example/phish" in page
    assert 'href="https://evil.example' not in page
    assert 'href="mailto:boss@evil.example' not in page
    assert '<a class="govuk-link" href="http://testserver/approvals/cases/7/">' in page


def test_non_ascii_names_are_read_by_their_charset(demo):
    message = EmailMultiAlternatives(
        "Zoë’s request",
        "Dear Zoë Ångström,\nYour case from Łódź is ready.\n",
        "portal@example.gov.uk",
        ["Zoë Ångström <zoe@example.gov.uk>"],
    )
    message.attach_alternative("<p>Dear Zoë Ångström</p>", "text/html")
    message.send()
    page = Client().get(reverse("sent-emails")).content.decode()
    assert "Dear Zoë Ångström," in page
    assert "Łódź" in page
    assert "Zoë’s request" in page
    assert "Zoë Ångström &lt;zoe@example.gov.uk&gt;" in page
