"""Manage sites in Chromium, with the real CSP and with JavaScript off: an admin adds a site
(fixing an error through the error summary's link), renames it and retires it."""

import pytest
from playwright.sync_api import expect

from access_requests.models import Site
from conftest import browser_sign_in
from people.models import Role
from people.tests.factories import UserFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_an_admin_adds_renames_and_retires_a_site(live_server, browser, javascript):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=javascript)
    page = context.new_page()
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    browser_sign_in(page, live_server, UserFactory(role=Role.ADMIN))

    page.get_by_role("link", name="Manage sites").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Manage sites")
    page.get_by_role("link", name="Add a site").click()
    page.get_by_label("Name", exact=True).fill("Mastodon")
    page.get_by_role("button", name="Add site").click()

    # The error summary's links lead to the fields; what was typed is kept.
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter the site's address")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Mastodon")
    summary.get_by_role("link", name="Enter the site's address").click()
    if javascript:
        expect(page.get_by_label("Address", exact=True)).to_be_focused()
    page.get_by_label("Address", exact=True).fill("https://mastodon.example/")
    page.get_by_role("group", name="May several accounts").get_by_label("No").check()
    page.get_by_role("button", name="Add site").click()

    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Mastodon is added and offered to staff."
    )
    row = page.get_by_role("row").filter(has_text="Mastodon")
    expect(row.locator(".govuk-tag")).to_have_text("Offered")

    row.get_by_role("link", name="Rename Mastodon").click()
    expect(page.get_by_label("New name")).to_have_value("Mastodon")
    page.get_by_label("New name").fill("Mastodon Social")
    page.get_by_role("button", name="Rename site").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Mastodon is renamed Mastodon Social."
    )

    row = page.get_by_role("row").filter(has_text="Mastodon Social")
    row.get_by_role("link", name="Retire Mastodon Social").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Are you sure you want to retire Mastodon Social?"
    )
    page.get_by_role("button", name="Retire site").click()
    row = page.get_by_role("row").filter(has_text="Mastodon Social")
    expect(row.locator(".govuk-tag")).to_have_text("Retired")
    assert not Site.objects.get(name="Mastodon Social").is_active
    assert violations == []
    context.close()
