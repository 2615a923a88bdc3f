"""In Chromium, with JavaScript and without: a draft's page is its task list, and a withdrawn
request is asked again with its answers, finished from the task list and sent."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from access_requests.models import BusinessCase
from access_requests.tests.factories import (
    BusinessCaseFactory,
    SiteFactory,
    requester_with_director,
)
from access_requests.tests.test_business_case_browser import assert_accessible
from conftest import browser_sign_in


def task(page, title):
    return page.locator(".govuk-task-list__item", has_text=title)


def expect_status(page, title, status):
    expect(task(page, title).locator(".govuk-task-list__status")).to_have_text(status)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_withdrawn_request_is_asked_again_finished_from_its_task_list_and_sent(
    live_server, browser, javascript
):
    person = requester_with_director(profile__name="Priya Patel")
    old = BusinessCaseFactory(
        requester=person,
        submitted=True,
        reference="SNS-1999-00001",  # a year the portal's counter does not reach
        status=BusinessCase.Status.WITHDRAWN,
        withdrawn_at=timezone.now(),
        sites=[SiteFactory(name="LinkedIn")],
    )
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server, person)
        page.get_by_role("link", name="Your requests").click()
        page.get_by_role("link", name=old.reference).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Request {old.reference}")
        page.get_by_role("button", name="Ask again with these answers").click()

        # The new draft's task list, with a banner saying where its answers came from.
        banner = page.locator(".govuk-notification-banner--success")
        expect(banner).to_contain_text(f"Your new draft request has the answers of {old.reference}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Your draft request")
        for title in [
            "Which sites you need",
            "What kind of access you need",
            "Your business need",
            "When you need access",
            "Your identity on LinkedIn",
        ]:
            expect_status(page, title, "Completed")
        expect_status(page, "Declarations", "Incomplete")
        expect(task(page, "Declarations").locator(".govuk-tag--blue")).to_have_text("Incomplete")
        send = task(page, "Check your answers and send your request")
        expect(send.locator(".govuk-task-list__status--cannot-start-yet")).to_have_text(
            "Cannot start yet"
        )
        expect(send.get_by_role("link")).to_have_count(0)
        expect(page.get_by_text("You have completed 5 of 6 sections.")).to_be_visible()
        if javascript:  # axe-core runs in the page
            assert_accessible(page, live_server)

        # The declarations are made again, from their task.
        page.get_by_role("link", name="Declarations").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Declarations")
        for checkbox in page.locator("input[type=checkbox]").all():
            checkbox.check()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Check your answers before sending your request"
        )

        # "Your requests" leads back to the draft's task list, now ready to send.
        page.get_by_role("link", name="Your requests").first.click()
        page.get_by_role("link", name=re.compile(r"^Draft")).click()
        expect_status(page, "Declarations", "Completed")
        expect(page.get_by_text("You have completed 6 of 6 sections.")).to_be_visible()
        page.get_by_role("link", name="Check your answers and send your request").click()
        page.get_by_role("button", name="Accept and send").click()
        expect(page.locator(".govuk-panel--confirmation")).to_contain_text("Request sent")
    finally:
        context.close()
    new = BusinessCase.objects.get(asked_again_from=old)
    assert new.status == BusinessCase.Status.SUBMITTED
    assert new.purpose == old.purpose


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_new_drafts_task_list_links_only_what_can_start(live_server, page):
    person = requester_with_director()
    SiteFactory(name="LinkedIn")
    browser_sign_in(page, live_server, person)
    page.goto(f"{live_server.url}/requests/new/")
    page.get_by_role("button", name="Start now").click()
    page.get_by_role("link", name="Your requests").first.click()
    page.get_by_role("link", name=re.compile(r"^Draft")).click()

    for title in ["When you need access", "Your identity on each site"]:
        expect_status(page, title, "Cannot start yet")
        expect(task(page, title).get_by_role("link")).to_have_count(0)
    expect(task(page, "When you need access")).to_contain_text(
        "Choose what kind of access you need first"
    )
    expect(page.get_by_text("You have completed 0 of 6 sections.")).to_be_visible()
    assert_accessible(page, live_server)

    # Choosing the kind of access lets the dates start.
    page.get_by_role("link", name="What kind of access you need").click()
    page.get_by_label("Passive monitoring").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Your requests").first.click()
    page.get_by_role("link", name=re.compile(r"^Draft")).click()
    expect_status(page, "What kind of access you need", "Completed")
    expect_status(page, "When you need access", "Incomplete")
    page.get_by_role("link", name="When you need access").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("When do you need access?")
