"""Every page of ours, for every role, fits a 1,280-pixel desktop and a 375-pixel phone
without the whole page scrolling sideways (WCAG 1.4.10 Reflow). A wide table may scroll
inside its own box; the page itself may not.

Each page is measured on the load the role's survey makes of it (tests/accessibility/
survey.py), at 1,280 pixels wide as loaded and at 375 after the window is resized: the
layout and GOV.UK Frontend's width-dependent parts (the header's menu button) follow the
window's width as it changes, as they do when a phone turns, so this is the same check as
loading it at each width, for half the page loads."""

import pytest

from tests.accessibility.survey import WIDTHS, by_role, page_survey


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", by_role())  # one test per role, so parallel workers share them
def test_no_page_scrolls_sideways_on_a_desktop_or_a_phone(browser, live_server, role):
    survey = page_survey(browser, live_server, role)
    overflowing, checked = [], 0
    for page in survey.pages:
        for measure in page.measures:
            width, window, extra = measure.width, measure.window, measure.extra
            assert window == width, f"{page.name}: the window is {window}px wide, not {width}px"
            checked += 1
            if extra > 0:
                overflowing.append(f"{page.name} as {role} at {width}px: {extra}px too wide")
    assert checked == len(WIDTHS) * survey.urls > 0
    assert not overflowing, "\n".join(overflowing)
