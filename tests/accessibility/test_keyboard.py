"""The keyboard alone is enough: Tab, Shift+Tab, Enter and Space, with JavaScript and without.

One journey (sign in, skip to the content, read the guidance, sign out) is walked key by key
here; the main journeys (asking for access, deciding) are in test_keyboard_journeys.py.
Every page of ours, for every role, is tabbed through: each link, button and field must
take the focus in turn and show where it is (GOV.UK's yellow focus state).
"""

import pytest
from playwright.sync_api import expect

from people.tests.factories import TEST_PASSWORD, UserFactory
from tests.accessibility.browser import new_context
from tests.accessibility.keyboard import FocusRecorder, tab_to
from tests.accessibility.pages import page_urls
from tests.portal_map import ROLES, build_world

FOCUSABLE = """() => [...document.querySelectorAll(
        'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])')]
    .filter(el => !el.disabled && el.getClientRects().length > 0
        && getComputedStyle(el).visibility !== 'hidden'
        // Inside a closed <details> only its summary takes the focus, until it is opened.
        && !(el.closest('details:not([open])') && !el.closest('summary')))
    .map(el => el.type === 'radio' ? 'RADIOS|' + el.name
        : el.tagName + '|' + (el.id || '') + '|' + (el.getAttribute('href') || el.name || '')
          + '|' + (el.innerText || el.value || '').trim().slice(0, 40))"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_person_signs_in_reads_the_guidance_and_signs_out_with_the_keyboard_alone(
    browser, live_server, javascript
):
    user = UserFactory(profile__name="Kim Keys")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=javascript)
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_title("Sign in – Request social media access – Home Office")

    # The first Tab reaches the skip link, which shows itself.
    skip = tab_to(page, lambda f: True, limit=1)
    assert skip["text"] == "Skip to main content" and skip["visible"]
    tab_to(page, lambda f: f["id"] == "id_username")
    page.keyboard.type(user.email)
    tab_to(page, lambda f: f["id"] == "id_password")
    page.keyboard.type(TEST_PASSWORD)
    tab_to(page, lambda f: f["tag"] in ("button", "input") and f["text"] == "Sign in")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Hello, Kim Keys.")).to_be_visible()

    # Skip to the content with Enter.
    tab_to(page, lambda f: f["text"] == "Skip to main content", limit=1)
    page.keyboard.press("Enter")
    page.wait_for_url("**#main-content")  # the fragment lands a moment after the key press

    # Follow the footer link to the guidance with Enter.
    tab_to(page, lambda f: f["text"] == "Social networking guidance")
    page.keyboard.press("Enter")
    page.wait_for_url("**/guidance/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # Shift+Tab goes back; Space presses the sign-out button.
    page.keyboard.press("Shift+Tab")
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Sign out")
    page.keyboard.press("Space")
    page.wait_for_url("**/sign-in/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
@pytest.mark.parametrize("role", ROLES)  # one test per role, so parallel workers share them
def test_every_control_on_every_page_takes_the_focus_in_turn_and_shows_it(
    browser, live_server, javascript, role
):
    world = build_world()
    urls = page_urls(world, roles=[role])
    problems, tabbed = [], 0
    context = new_context(browser, live_server, world.user(role), java_script_enabled=javascript)
    page = context.new_page()
    recorder = FocusRecorder(page)
    for name, _role, url in urls:
        page.goto(url)
        # What should take the focus, read as the recorder starts (one round trip).
        expected = set(recorder.start(FOCUSABLE))
        if not expected:  # every page has at least its skip link
            problems.append(f"{name} as {role}: no control found to tab to")
        reached, first = set(), None
        # Tab round the whole page: until the focus comes back to where it started.
        for focused in recorder.focus_after_each_tab(
            limit=2 * len(expected) + 20, first_batch=len(expected) + 2
        ):
            if focused["key"] == first:
                break
            first = first or focused["key"]
            if not focused["shows_focus"] and focused["key"] not in reached:
                problems.append(f"{name} as {role}: no visible focus on {focused['key']}")
            reached.add(focused["key"])
        missed = expected - reached
        if missed:
            problems.append(f"{name} as {role}: Tab never reaches {sorted(missed)}")
        tabbed += 1
    context.close()
    assert tabbed == len(urls) > 0
    assert not problems, "\n".join(problems)


# A stylesheet rule that hides GOV.UK's focus state on links (CSSOM: allowed by the CSP).
HIDE_THE_LINKS_FOCUS = """() => document.styleSheets[0].insertRule(
    'a, a:focus { outline: none !important; box-shadow: none !important;'
    + ' background: none !important; color: #000 !important;'
    + ' text-decoration: none !important }', 0)"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_keyboard_checks_fail_on_a_hidden_focus_or_an_unreachable_field(browser, live_server):
    # The walk of every page (the facts recorded in the page as Tab moves), in both modes.
    for javascript in (True, False):
        context = browser.new_context(base_url=live_server.url, java_script_enabled=javascript)
        page = context.new_page()
        page.goto("/sign-in/")
        page.evaluate(HIDE_THE_LINKS_FOCUS)
        skip = next(FocusRecorder(page).focus_after_each_tab(limit=1, first_batch=1))
        assert skip["text"] == "Skip to main content"
        assert not skip["shows_focus"], f"a hidden focus passes with JavaScript {javascript}"
        context.close()
    # The journeys' step, which looks after each press.
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/sign-in/")
    page.evaluate(HIDE_THE_LINKS_FOCUS)
    with pytest.raises(AssertionError, match="no visible focus"):
        tab_to(page, lambda f: f["text"] == "Skip to main content", limit=1)
    # A field taken out of the tab order.
    page.goto("/sign-in/")
    page.evaluate("() => document.getElementById('id_password').setAttribute('tabindex', '-1')")
    with pytest.raises(AssertionError, match="Tab never reached"):
        tab_to(page, lambda f: f["id"] == "id_password", limit=15)
    context.close()
