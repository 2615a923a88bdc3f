"""A new member of staff asks for access in Chromium, from the home page to the reference."""

import datetime
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
from conftest import browser_sign_in
from people.tests.factories import UserFactory


def assert_accessible(page, live_server):
    """axe-core finds no WCAG 2 A/AA violations on the page. GOV.UK Frontend's radios
    set aria-expanded on the radio inputs that reveal questions, which axe reports as
    not allowed on a radio; that one known GOV.UK pattern is left out."""
    page.add_script_tag(url=f"{live_server.url}/static/vendor/axe.min.js")
    result = page.evaluate(
        """axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']}).then(r => r.violations
            .map(v => ({id: v.id, nodes: v.nodes.filter(n => !(v.id === 'aria-allowed-attr'
                && n.html.includes('govuk-radios__input') && n.html.includes('aria-expanded')))}))
            .filter(v => v.nodes.length)
            .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))"""
    )
    assert result == [], result


def fill_date(page, prefix, day: datetime.date):
    page.locator(f"#id_{prefix}_0").fill(str(day.day))
    page.locator(f"#id_{prefix}_1").fill(str(day.month))
    page.locator(f"#id_{prefix}_2").fill(str(day.year))


def ask_for_access_in_browser(page, live_server):
    """A signed-in person goes from "Your requests" through every question page, makes one
    mistake on the dates page and corrects it, then presses "Accept and send"."""
    page.get_by_role("link", name="Your requests").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your requests")
    page.get_by_role("button", name="Ask for access").click()
    expect(page.get_by_text("aggregation of unclassified data")).to_be_visible()
    page.get_by_role("button", name="Start now").click()

    # Sites.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Which social networking sites do you need?"
    )
    page.get_by_label("LinkedIn").check()
    page.get_by_role("button", name="Continue").click()

    # Tier.
    page.get_by_label("Passive monitoring").check()
    page.get_by_role("button", name="Continue").click()

    # Business need.
    page.get_by_label("What will you do on the sites").fill(
        "Follow public discussion of visa policy to brief ministers."
    )
    page.get_by_label("Who will you engage with?").fill("Members of the public.")
    page.get_by_label("How will it support").fill("It feeds the weekly communications plan.")
    page.get_by_role("button", name="Continue").click()

    # Dates: one mistake first, then its correction.
    today = timezone.localdate()
    expect(page.get_by_role("heading", level=1)).to_have_text("When do you need access?")
    fill_date(page, "start_date", today + datetime.timedelta(days=7))
    fill_date(page, "end_date", today + datetime.timedelta(days=1))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile(r"^Error: When do you need access\?"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("The end date must be the same as or after the start date")
    assert_accessible(page, live_server)
    expect(page.locator("#id_start_date_0")).to_have_value(
        str((today + datetime.timedelta(days=7)).day)
    )
    fill_date(page, "end_date", today + datetime.timedelta(days=90))
    page.get_by_role("button", name="Continue").click()

    # Identity on LinkedIn: the commonly used name is offered; the reason shows when needed.
    expect(page.get_by_label("What name will you use on LinkedIn?")).to_have_value("Priya Patel")
    pseudonym = page.get_by_role("group", name="Is this name a pseudonym?")
    reason = page.get_by_label("Why do you need a pseudonym?")
    expect(reason).to_be_hidden()
    pseudonym.get_by_label("Yes").check()
    expect(reason).to_be_visible()
    pseudonym.get_by_label("No").check()
    expect(reason).to_be_hidden()
    official = page.get_by_role("group", name=re.compile("that you are a .* official"))
    expect(official).to_contain_text("Press Officer")
    official.get_by_label("Yes").check()
    assert_accessible(page, live_server)
    page.get_by_role("button", name="Continue").click()

    # Declarations.
    expect(page.get_by_role("link", name=re.compile("social networking guidance"))).to_be_visible()
    for checkbox in page.locator("input[type=checkbox]").all():
        checkbox.check()
    page.get_by_role("button", name="Continue").click()

    # Check your answers, then send.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Check your answers before sending your request"
    )
    expect(page.locator(".govuk-summary-list").first).to_contain_text("LinkedIn")
    assert_accessible(page, live_server)
    page.get_by_role("button", name="Accept and send").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_new_person_asks_for_access_and_gets_a_reference(live_server, page):
    SiteFactory(name="LinkedIn", allows_shared_display_names=True)
    person = requester_with_director(
        profile__name="Priya Patel", profile__job_title="Press Officer"
    )
    browser_sign_in(page, live_server, person)
    ask_for_access_in_browser(page, live_server)

    today = timezone.localdate()
    panel = page.locator(".govuk-panel--confirmation")
    expect(panel).to_contain_text("Request sent")
    expect(panel).to_contain_text(re.compile(rf"SNS-{today.year}-\d{{5}}"))
    case = BusinessCase.objects.get(requester=person)
    assert case.status == BusinessCase.Status.SUBMITTED
    expect(panel).to_contain_text(case.reference)
    expect(page.get_by_role("heading", name="What happens next")).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_reason_fields_are_shown_and_checked_on_the_server(
    live_server, browser
):
    site = SiteFactory(name="Instagram", allows_shared_display_names=False)
    person = UserFactory(profile__name="Ravi Shah")
    case = BusinessCaseFactory(requester=person, sites=[site])
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        browser_sign_in(page, live_server, person)
        page.goto(f"{live_server.url}/requests/{case.pk}/identity/{site.pk}/")
        reason = page.get_by_label("Why do you need a pseudonym?")
        expect(reason).to_be_visible()  # the conditional reveal degrades to always shown
        page.get_by_role("group", name="Is this name a pseudonym?").get_by_label("Yes").check()
        page.get_by_role("button", name="Continue").click()
        expect(page.locator(".govuk-error-summary")).to_contain_text(
            "Enter why you need to use a pseudonym"
        )
        page.get_by_label("Why do you need a pseudonym?").fill("Every variant is taken.")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Declarations")
    finally:
        context.close()
    identity = case.site_identities.get()
    assert identity.uses_pseudonym and identity.pseudonym_reason == "Every variant is taken."
