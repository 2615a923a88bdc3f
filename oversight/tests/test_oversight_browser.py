import pytest
from django.urls import reverse
from playwright.sync_api import expect

from access_requests.models import AccessTier
from access_requests.tests.factories import SiteFactory
from audit.services import record
from conftest import browser_sign_in
from core.client import Client
from people.models import Role
from people.tests.factories import UserFactory

from .factories import grant_held

PAGE_WIDER_THAN_WINDOW = "document.documentElement.scrollWidth - window.innerWidth"


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
    expect(page.locator("#audit-trail")).to_contain_text("Signed in")
    page.locator("#audit-trail tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signed in")
    expect(page.locator("#event")).to_contain_text("Recorded as auth.signed_in")
    assert violations == []


LONG_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 " + "Plugin/1.0;" * 40
)
UNBROKEN = "https://example.gov.uk/" + "a-very-long-path-without-spaces" * 12


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_trail_and_the_case_file_fit_a_1280_pixel_screen_with_long_values(live_server, page):
    """Long addresses, reasons and browser strings wrap inside their column: neither the
    page nor the trail's table scrolls sideways on a desktop screen."""
    grant = grant_held(name="Priya " + "Longname" * 8)
    case = grant.business_case
    holder = grant.holder
    record(
        actor=holder,
        action="case.identity_saved",
        obj=case,
        changes={
            "site": "LinkedIn",
            "display_name": ["", UNBROKEN],
            "pseudonym_reason": ["", UNBROKEN],
            "uses_pseudonym": [False, True],
        },
        client=Client(address="2001:db8:85a3:1234:5678:8a2e:370:7334", user_agent=LONG_AGENT),
    )
    record(
        actor=holder,
        action="case.withdrawn",
        obj=case,
        changes={"status": ["submitted", "withdrawn"], "reason": "why " * 200 + UNBROKEN},
        client=Client(address="192.0.2.1", user_agent=LONG_AGENT),
    )
    page.set_viewport_size({"width": 1280, "height": 800})
    browser_sign_in(page, live_server, UserFactory(role=Role.AUDITOR))

    page.goto(f"{live_server.url}{reverse('oversight:audit-trail')}")
    expect(page.locator("#audit-trail")).to_contain_text("Uses a pseudonym: changed from No to Yes")
    expect(page.locator("#audit-trail")).to_contain_text("Chrome on Windows")
    assert page.evaluate(PAGE_WIDER_THAN_WINDOW) <= 0
    region = page.locator(".portal-table-scroll")
    assert region.evaluate("box => box.scrollWidth - box.clientWidth") <= 0

    page.goto(f"{live_server.url}{reverse('oversight:case-detail', args=[case.pk])}")
    expect(page.locator("#timeline")).to_contain_text("Why a pseudonym: set to https://")
    assert page.evaluate(PAGE_WIDER_THAN_WINDOW) <= 0
    timeline = page.locator("#timeline")
    assert timeline.evaluate("box => box.scrollWidth - box.clientWidth") <= 0
