"""The main journeys, completed with the keyboard alone, with JavaScript and without.

A member of staff signs in, asks for active participation (every question page, the
conditional questions included), changes one answer from "Check your answers" and sends
the request; their director opens the emailed link and approves it (or rejects it, after
correcting a mistake from the error summary); the staff member sees the decision.
Every control is reached with Tab and used with typing, Enter, Space or the arrow keys
(tests/accessibility/keyboard.py): no clicks, no filling of fields the keyboard did not reach.

Without JavaScript GOV.UK's conditional reveals show their questions all the time and the
server checks them, so the same keys complete the same journeys.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from access_requests.forms.business_cases import DECLARATIONS
from access_requests.models import AccessTier, BusinessCase
from access_requests.tests.factories import BusinessCaseFactory, SiteFactory
from approvals.tests.factories import LINK_PATTERN, requester_and_director
from people.tests.factories import TEST_PASSWORD, BusinessUnitFactory, UserFactory
from tests.accessibility.keyboard import Keyboard

JAVASCRIPT = pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])


def heading(page):
    return page.get_by_role("heading", level=1)


def keyboard_page(browser, live_server, javascript):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=javascript)
    return context, Keyboard(context.new_page())


def sign_in(keys, user):
    keys.page.goto("/sign-in/")  # typed into the address bar
    keys.type_into("Email address", user.email)
    keys.type_into("Password", TEST_PASSWORD)
    keys.press_button("Sign in")
    expect(keys.page.get_by_text(f"Hello, {user.display_name}.")).to_be_visible()


def expect_reveal(keys, label, javascript, *, shown, timeout=5000):
    """A conditional question: without JavaScript it is always there; with it, only once
    its radio is chosen."""
    field = keys.page.get_by_label(label)
    if shown or not javascript:
        expect(field).to_be_visible(timeout=timeout)
    else:
        expect(field).to_be_hidden(timeout=timeout)


def ask_for_active_participation(keys, javascript):
    """From the home page to "Request sent", every question answered from the keyboard."""
    page = keys.page
    keys.follow_link("Your requests")
    expect(heading(page)).to_have_text("Your requests")
    keys.follow_link("Ask for access")  # a link styled as a button: Enter follows it
    keys.press_button("Start now")

    expect(heading(page)).to_have_text("Which social networking sites do you need?")
    keys.tick("LinkedIn")
    keys.press_button("Continue")

    expect(heading(page)).to_have_text("What kind of access do you need?")
    keys.choose_radio("tier", "Active participation")
    keys.press_button("Continue")

    # Who pays for the standalone PC: a select, a text field, and a radio that reveals one.
    expect(page.get_by_text("Which business unit will pay")).to_be_visible()
    keys.choose_option("Which business unit will pay", "Press Office Unit")
    keys.type_into("Budget holder's email address", "jo.budget@example.gov.uk")
    expect_reveal(keys, "Asset tag of the existing standalone PC", javascript, shown=False)
    keys.choose_radio("pc_choice", "Yes, an existing standalone PC")
    expect_reveal(keys, "Asset tag of the existing standalone PC", javascript, shown=True)
    keys.type_into("Asset tag of the existing standalone PC", "HO-123456")
    keys.press_button("Continue")

    keys.type_into("What will you do on the sites", "Answer questions about visa policy.")
    keys.type_into("Who will you engage with?", "Members of the public.")
    keys.type_into("How will it support", "It feeds the weekly communications plan.")
    # Back with Shift+Tab to say more.
    keys.type_into("Who will you engage with?", "Members of the public and press.", backwards=True)
    keys.press_button("Continue")

    expect(heading(page)).to_have_text("When do you need access?")
    today = timezone.localdate()
    keys.type_date("start_date", today + datetime.timedelta(days=7))
    keys.type_date("end_date", today + datetime.timedelta(days=90))
    keys.press_button("Continue")

    # Identity on LinkedIn: a pseudonym, so its reason is asked for.
    keys.type_into("What name will you use on LinkedIn?", "Press Desk Priya")
    expect_reveal(keys, "Why do you need a pseudonym?", javascript, shown=False)
    keys.choose_radio("uses_pseudonym", "Yes")
    expect_reveal(keys, "Why do you need a pseudonym?", javascript, shown=True)
    keys.type_into("Why do you need a pseudonym?", "Every variant of my name is taken.")
    keys.choose_radio("identifies_as_official", "Yes")
    keys.press_button("Continue")

    expect(heading(page)).to_have_text("Declarations")
    for label, _message in DECLARATIONS.values():
        keys.tick(label)
    keys.press_button("Continue")

    # Check your answers: one Change link, and back.
    expect(heading(page)).to_have_text("Check your answers before sending your request")
    keys.follow_link("Change what you will do and why")
    expect(page.get_by_label("What will you do on the sites")).to_have_value(
        "Answer questions about visa policy."
    )
    keys.type_into("What will you do on the sites", "Answer questions about visa rules.")
    keys.press_button("Continue")
    expect(heading(page)).to_have_text("Check your answers before sending your request")
    expect(page.get_by_text("Answer questions about visa rules.")).to_be_visible()
    expect(page.get_by_text("Yes, because: Every variant of my name is taken.")).to_be_visible()
    expect(page.get_by_text("An existing standalone PC, asset tag HO-123456")).to_be_visible()
    keys.press_button("Accept and send")


def decision_link(mailoutbox, approver) -> str:
    """The decision link in the one email to `approver` that carries one."""
    [link] = [
        found[1]
        for message in mailoutbox
        if message.to == [approver.email] and (found := LINK_PATTERN.search(message.body))
    ]
    return link


def expect_status_in_your_requests(keys, case, status):
    keys.follow_link("Your requests")
    row = keys.page.get_by_role("row", name=re.compile(case.reference))
    expect(row).to_contain_text(status)


def people():
    """A staff member in a directorate with a director, and a second business unit."""
    SiteFactory(name="LinkedIn")
    requester, director = requester_and_director(
        profile__name="Priya Patel", profile__job_title="Press Officer"
    )
    press_office = BusinessUnitFactory(
        directorate=requester.profile.business_unit.directorate, name="Press Office Unit"
    )
    UserFactory(
        profile__business_unit=press_office,
        profile__name="Jo Budget",
        email="jo.budget@example.gov.uk",
    )
    return requester, director


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@JAVASCRIPT
def test_staff_ask_and_the_director_approves_from_the_email_with_the_keyboard_alone(
    browser, live_server, mailoutbox, settings, javascript
):
    settings.PORTAL_BASE_URL = live_server.url
    requester, director = people()
    context, keys = keyboard_page(browser, live_server, javascript)
    page = keys.page

    sign_in(keys, requester)
    ask_for_active_participation(keys, javascript)
    case = BusinessCase.objects.get(requester=requester)
    expect(page.locator(".govuk-panel--confirmation")).to_contain_text(case.reference)
    assert case.status == BusinessCase.Status.SUBMITTED
    assert case.tier == AccessTier.ACTIVE and case.pc_asset_tag == "HO-123456"
    assert case.paying_business_unit.name == "Press Office Unit"
    assert case.purpose == "Answer questions about visa rules."
    assert case.site_identities.get().pseudonym_reason == "Every variant of my name is taken."
    keys.press_button("Sign out")
    expect(heading(page)).to_have_text("Sign in")

    # The director follows the emailed link (from the mail client) and approves.
    page.goto(decision_link(mailoutbox, director))
    expect(heading(page)).to_contain_text("Decide Priya Patel")
    keys.choose_radio("decision", "Approve")
    keys.press_button("Send decision")
    expect(page.get_by_text("We have asked the budget holder")).to_be_visible()

    # The paying unit's budget holder agrees to the PC's cost from their own link.
    page.goto(decision_link(mailoutbox, case.budget_holder))
    keys.choose_radio("decision", "Agree to pay")
    keys.press_button("Send answer")
    expect(page.get_by_role("heading", name="Case approved")).to_be_visible()
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED

    # The staff member sees it approved.
    keys.follow_link("Go to the home page")
    expect(heading(page)).to_have_text("Sign in")
    sign_in(keys, requester)
    expect_status_in_your_requests(keys, case, "Approved")
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@JAVASCRIPT
def test_the_director_rejects_with_a_reason_correcting_a_mistake_with_the_keyboard_alone(
    browser, live_server, mailoutbox, settings, javascript
):
    from approvals.services import case_submit

    settings.PORTAL_BASE_URL = live_server.url
    requester, director = people()
    case = case_submit(
        case=BusinessCaseFactory(requester=requester, purpose="Run a recruitment campaign."),
        actor=requester,
    )
    context, keys = keyboard_page(browser, live_server, javascript)
    page = keys.page

    page.goto(decision_link(mailoutbox, director))
    expect(page.get_by_text("Run a recruitment campaign.").first).to_be_visible()
    keys.choose_radio("decision", "Reject")
    keys.press_button("Send decision")

    # The mistake: no reason. The error summary's link takes the focus to the field.
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter the reason for rejecting the case")
    keys.follow_error_link("Enter the reason for rejecting the case")
    assert keys.focused()["id"] == "id_reason"
    keys.page.keyboard.type("The recruitment team already covers this.")
    keys.press_button("Send decision")
    expect(page.get_by_role("heading", name="Case rejected")).to_be_visible()
    expect(page.get_by_text("Reason: The recruitment team already covers this.")).to_be_visible()
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.REJECTED

    keys.follow_link("Go to the home page")
    sign_in(keys, requester)
    expect_status_in_your_requests(keys, case, "Rejected")
    context.close()


# --- the journeys fail when the keyboard cannot do what they need -----------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_journey_fails_on_a_button_tab_cannot_reach_or_an_error_link_going_nowhere(
    browser, live_server, mailoutbox, settings
):
    from approvals.services import case_submit

    settings.PORTAL_BASE_URL = live_server.url
    requester, director = people()
    case = case_submit(case=BusinessCaseFactory(requester=requester), actor=requester)
    context, keys = keyboard_page(browser, live_server, True)
    keys.limit = 40
    page = keys.page
    page.goto(decision_link(mailoutbox, director))
    # A template that takes its button out of the tab order (or draws a <div> as a button).
    page.evaluate("() => document.getElementById('submit-id-send').setAttribute('tabindex', '-1')")
    keys.choose_radio("decision", "Reject")
    with pytest.raises(AssertionError, match="Tab never reached"):
        keys.press_button("Send decision")
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED  # the keyboard could not send it

    # An error summary whose link points at no field.
    page.reload()
    keys.choose_radio("decision", "Reject")
    keys.press_button("Send decision")
    page.evaluate(
        "() => document.querySelector('.govuk-error-summary a').setAttribute('href', '#nowhere')"
    )
    with pytest.raises(AssertionError, match="left the focus on"):
        keys.follow_error_link("Enter the reason for rejecting the case")
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_journey_without_javascript_fails_on_a_reveal_that_needs_javascript(
    browser, live_server
):
    requester, _director = people()
    case = BusinessCaseFactory(requester=requester, active=True)
    context, keys = keyboard_page(browser, live_server, False)
    keys.limit = 40
    sign_in(keys, requester)
    keys.page.goto(f"/requests/{case.pk}/standalone-pc/")
    expect(heading(keys.page)).to_contain_text("standalone PC")
    # Hide conditional questions until a script reveals them (CSSOM: no script on the page).
    keys.page.evaluate(
        """() => document.styleSheets[0].insertRule(
            '.govuk-radios__conditional { display: none !important }', 0)"""
    )
    with pytest.raises(AssertionError):
        expect_reveal(
            keys, "Asset tag of the existing standalone PC", False, shown=False, timeout=500
        )
    keys.choose_radio("pc_choice", "Yes, an existing standalone PC")
    with pytest.raises(AssertionError, match="Tab never reached"):
        keys.type_into("Asset tag of the existing standalone PC", "HO-123456")
    context.close()
