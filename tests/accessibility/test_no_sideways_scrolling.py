"""Every page of ours, for every role, fits a 1,280-pixel desktop and a 375-pixel phone
without the whole page scrolling sideways (WCAG 1.4.10 Reflow). A wide table may scroll
inside its own box; the page itself may not.

Each page is loaded once and measured at both widths, the window resized in between: the
layout and GOV.UK Frontend's width-dependent parts (the header's menu button) follow the
window's width as it changes, as they do when a phone turns, so this is the same check as
loading it at each width, for half the page loads."""

import pytest

from tests.accessibility.browser import new_context
from tests.accessibility.pages import page_urls
from tests.portal_map import ROLES, build_world

WIDTHS = (1280, 375)
PAGE_WIDER_THAN_WINDOW = (
    "[window.innerWidth, document.documentElement.scrollWidth - window.innerWidth]"
)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)  # one test per role, so parallel workers share them
def test_no_page_scrolls_sideways_on_a_desktop_or_a_phone(browser, live_server, role):
    world = build_world()
    urls = page_urls(world, roles=[role])
    overflowing, checked = [], 0
    context = new_context(
        browser, live_server, world.user(role), viewport={"width": WIDTHS[0], "height": 800}
    )
    page = context.new_page()
    for name, _role, url in urls:
        page.goto(url)
        loaded_at = page.viewport_size["width"]
        # The width it was loaded at first, then the other.
        for width in (loaded_at, *(w for w in WIDTHS if w != loaded_at)):
            if page.viewport_size["width"] != width:
                page.set_viewport_size({"width": width, "height": 800})
            window, extra = page.evaluate(PAGE_WIDER_THAN_WINDOW)
            assert window == width, f"{name}: the window is {window}px wide, not {width}px"
            checked += 1
            if extra > 0:
                overflowing.append(f"{name} as {role} at {width}px: {extra}px too wide")
    context.close()
    assert checked == len(WIDTHS) * len(urls) > 0
    assert not overflowing, "\n".join(overflowing)
