"""The whole journey in Chromium: from the sign-in page, ask for a link, follow it from the
email, create a password (after an error), sign in with it; axe-core on every page."""

import re

import pytest
from playwright.sync_api import expect

from people.tests.factories import UserFactory
from tests.accessibility.browser import axe_violations

NEW_PASSWORD = "quiet-meadow-lighthouse-7"  # noqa: S105


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_person_without_a_password_creates_one_and_signs_in(live_server, page, mailoutbox):
    person = UserFactory(email="nia.new@example.gov.uk", profile__name="Nia New")
    person.set_unusable_password()
    person.save(update_fields=["password"])
    found = []

    def check(where):
        found.extend(f"{where}: {v}" for v in axe_violations(page, live_server))

    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_role("link", name="Create or reset your password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your work email address")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your email address")
    check("ask (errors)")
    page.get_by_label("Enter your work email address").fill(person.email)
    check("ask (filled)")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    check("check your email")

    [email] = [m for m in mailoutbox if m.to == [person.email]]
    link = re.search(r"http://testserver(/password/reset/\S+/)", email.body)[1]
    page.goto(live_server.url + link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Create a password")
    assert page.url.endswith("/set-password/")  # the token is not left in the address
    check("create a password")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Enter the new password again").fill("short")
    page.get_by_role("button", name="Save password").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("This password is too short")
    check("create a password (errors)")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Enter the new password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password has been set")
    check("password set")

    page.goto(live_server.url + link)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This link has expired or has been used"
    )
    check("link used")

    page.goto(f"{live_server.url}/password/done/")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Email address").fill(person.email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Hello, Nia New.")).to_be_visible()
    assert not found, "\n".join(found)
