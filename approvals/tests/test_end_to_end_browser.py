"""One request end to end in Chromium, as the people involved would do it (docs/architecture.md):
staff asks, the director decides from the emailed link, ICT provisions, the holder sees it."""

import re

import pytest
from playwright.sync_api import expect

from access_requests.models import AccessGrant, BusinessCase
from access_requests.tests.factories import SiteFactory
from access_requests.tests.test_business_case_browser import ask_for_access_in_browser
from approvals.tests.factories import LINK_PATTERN, requester_and_director
from conftest import browser_sign_in
from people.models import Role
from people.tests.factories import UserFactory


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_asks_the_director_approves_from_the_email_and_ict_provisions(
    live_server, page, mailoutbox, settings
):
    settings.PORTAL_BASE_URL = live_server.url
    SiteFactory(name="LinkedIn")
    requester, director = requester_and_director(
        profile__name="Priya Patel", profile__job_title="Press Officer"
    )
    ict = UserFactory(role=Role.ICT)

    # Staff: the whole journey in the browser.
    browser_sign_in(page, live_server, requester)
    ask_for_access_in_browser(page, live_server)
    case = BusinessCase.objects.get(requester=requester)
    expect(page.locator(".govuk-panel--confirmation")).to_contain_text(case.reference)
    sign_out(page)

    # Director: the email's one link, opened without signing in; only the POST decides.
    [email] = [m for m in mailoutbox if m.to == [director.email]]
    assert case.reference in email.subject + email.body
    link = LINK_PATTERN.search(email.body)[1]
    page.goto(link)
    expect(page.get_by_text("Follow public discussion of visa policy").first).to_be_visible()
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED  # opening the link decided nothing
    page.get_by_label("Approve").check()
    page.get_by_role("button", name="Send decision").click()
    expect(page.get_by_role("heading", name="Case approved")).to_be_visible()

    # The requester is told; ICT is asked to provision.
    acknowledgement, outcome = [m for m in mailoutbox if m.to == [requester.email]]
    assert "We have your request" in acknowledgement.subject
    assert "approved" in outcome.subject.lower()
    assert any(m.to == [ict.email] for m in mailoutbox)

    # ICT provisions from the queue.
    browser_sign_in(page, live_server, ict)
    page.get_by_role("link", name="Provisioning").first.click()
    page.get_by_role("link", name=re.compile(f"Provision {case.reference}")).click()
    page.get_by_role("button", name="Mark provisioned").click()
    grant = AccessGrant.objects.get(business_case=case)
    assert grant.status == AccessGrant.Status.ACTIVE
    sign_out(page)

    # The holder sees the case approved and the access active.
    browser_sign_in(page, live_server, requester)
    expect(page.get_by_text(re.compile(f"{case.reference}.*Approved"))).to_be_visible()
    card = page.locator(".govuk-summary-card", has_text="LinkedIn").first
    expect(card).to_contain_text("Active")
