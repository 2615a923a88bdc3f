import pytest
from playwright.sync_api import expect

from access_requests.models import AccessTier
from access_requests.tests.factories import SiteFactory
from conftest import browser_sign_in
from people.models import Role
from people.tests.factories import UserFactory

from .factories import grant_held


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_auditor_filters_the_register_opens_a_case_and_reads_the_reports(live_server, page):
    """In Chromium, with the real CSP: no blocked styles or scripts on any oversight page."""
    grant_held(name="Priya Patel", sites=[SiteFactory(name="Bluesky")], tier=AccessTier.ACTIVE)
    grant_held(name="Other Person")
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    browser_sign_in(page, live_server, UserFactory(role=Role.AUDITOR))

    page.get_by_role("link", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register of access")
    page.get_by_text("Filter and sort the register").click()
    page.get_by_label("Holder name, email or case reference").fill("priya")
    page.get_by_role("button", name="Apply filters").click()
    assert "q=priya" in page.url  # the filters are in the address
    rows = page.locator("#register tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bluesky")

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("SNS-")
    expect(page.get_by_text("Priya Patel").first).to_be_visible()

    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    expect(page.locator("svg.portal-chart")).to_have_count(5)
    box = page.locator("svg.portal-chart").first.bounding_box()
    assert box["width"] > 300 and box["height"] > 100

    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    expect(page.locator("#audit-trail")).to_contain_text("auth.signed_in")
    assert violations == []
