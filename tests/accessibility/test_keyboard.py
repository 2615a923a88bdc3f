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
from tests.accessibility.keyboard import HIDE_THE_LINKS_FOCUS, FocusRecorder, tab_round, tab_to
from tests.accessibility.pages import page_urls
from tests.accessibility.survey import group_of, page_survey
from tests.portal_map import ROLES, build_world


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


# One test per role and mode, so parallel workers share them. With JavaScript, each page is
# tabbed round on the load the role's survey makes of it (tests/accessibility/survey.py).
WALKS = [
    pytest.param(
        role,
        javascript,
        id=f"{role}-{'with-js' if javascript else 'without-js'}",
        marks=[group_of(role)] if javascript else [],
    )
    for role in ROLES
    for javascript in (True, False)
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("role", "javascript"), WALKS)
def test_every_control_on_every_page_takes_the_focus_in_turn_and_shows_it(
    browser, live_server, javascript, role
):
    if javascript:
        survey = page_survey(browser, live_server, role)
        problems = [problem for page in survey.pages for problem in page.keyboard]
        tabbed, urls = len(survey.pages), survey.urls
    else:
        problems, tabbed, urls = walk_without_javascript(browser, live_server, role)
    assert tabbed == urls > 0
    assert not problems, "\n".join(problems)


def walk_without_javascript(browser, live_server, role) -> tuple[list[str], int, int]:
    """Every page of the role loaded with JavaScript off and tabbed round: the problems, the
    pages tabbed round and the pages found."""
    world = build_world()
    urls = page_urls(world, roles=[role])
    problems, tabbed = [], 0
    context = new_context(browser, live_server, world.user(role), java_script_enabled=False)
    page = context.new_page()
    recorder = FocusRecorder(page)
    for name, _role, url in urls:
        page.goto(url)
        problems += tab_round(recorder, f"{name} as {role}")[0]
        tabbed += 1
    context.close()
    return problems, tabbed, len(urls)


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
