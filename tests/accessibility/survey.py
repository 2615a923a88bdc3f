"""A role's pages surveyed for three checks at one load each: axe-core as the page opens, the
sideways measure at a desktop's and a phone's width, and the Tab round with JavaScript.

Each of the three checks stays a test of its own, parametrized by role
(test_axe.py, test_no_sideways_scrolling.py, test_keyboard.py), and asserts on its own part of
the survey. The survey of a role is made once per pytest process (an xdist worker), by the
first of its three tests to ask for it, and kept for the others: each page of the role is
loaded once, in a context with axe-core, at 1,280 × 800 pixels, and checked by axe, measured,
tabbed round, measured again at 375 pixels wide and the window set back. Loading every page
once instead of three times, in one context instead of three, costs about a third less CPU
(docs/testing.md). The three tests of a role share an xdist group (`by_role`), so that under
`--dist loadgroup` they run on the worker that holds the survey.

The findings are plain strings and numbers. The tests are transactional (the database is
emptied after each), so the world the survey is made in lives only as long as the test that
made it; a test that runs alone (`pytest -k sideways`) makes the survey itself.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.accessibility.browser import (
    FILLABLE,
    PAGE_FORM,
    PAGE_STATE,
    axe_violations,
    new_context,
)
from tests.accessibility.keyboard import FocusRecorder, tab_round
from tests.accessibility.pages import page_urls
from tests.portal_map import ROLES, World, build_world

VIEWPORT = {"width": 1280, "height": 800}
# A desktop's width, where each page is loaded, then a phone's (WCAG 1.4.10 Reflow).
WIDTHS = (VIEWPORT["width"], 375)
# The window's width, and how much wider than it the page is.
PAGE_WIDER_THAN_WINDOW = (
    "[window.innerWidth, document.documentElement.scrollWidth - window.innerWidth]"
)
# The same after the Tab round, with the focus it leaves on the page's first control taken
# off again, so that the page is measured as it stands when loaded.
PAGE_WIDER_THAN_WINDOW_UNFOCUSED = f"""() => {{
    if (document.activeElement && document.activeElement !== document.body) {{
        document.activeElement.blur();
    }}
    return {PAGE_WIDER_THAN_WINDOW};
}}"""


@dataclass(frozen=True)
class Measure:
    width: int  # the width the window was set to
    window: int  # the window's width as the page has it
    extra: int  # how much wider than the window the page is (> 0: it scrolls sideways)


@dataclass(frozen=True)
class SurveyedPage:
    name: str
    axe: tuple[str, ...]  # axe-core's violations as the page opens (`axe_violations`)
    fillable: bool  # whether it has a form of its own with something to fill in
    measures: tuple[Measure, ...]  # one per width of WIDTHS, in turn
    keyboard: tuple[str, ...]  # the Tab round's problems (`tab_round`)
    reached: tuple[str, ...]  # the controls the Tab round reached, in order


@dataclass(frozen=True)
class Survey:
    role: str
    urls: int  # how many pages the walk found for the role
    pages: tuple[SurveyedPage, ...]  # those surveyed, in the walk's order


_surveys: dict[str, Survey] = {}


def by_role() -> list:
    """The role parameters of a survey test, each in its role's xdist group."""
    return [pytest.param(role, marks=group_of(role), id=role) for role in ROLES]


def group_of(role: str) -> pytest.MarkDecorator:
    return pytest.mark.xdist_group(f"page-survey-{role}")


def page_survey(browser, live_server, role: str, world: World | None = None) -> Survey:
    """The survey of `role`'s pages: made the first time this process asks for it (in
    `world`, or a world built for the asking test), kept for the rest of the run."""
    if role not in _surveys:
        world = world or build_world()
        urls = page_urls(world, roles=[role])
        context = new_context(browser, live_server, world.user(role), axe=True, viewport=VIEWPORT)
        try:
            pages = survey_pages(context.new_page(), live_server, role, urls)
        finally:
            context.close()
        _surveys[role] = Survey(role, len(urls), tuple(pages))
    return _surveys[role]


def survey_pages(
    page, live_server, role: str, urls, as_loaded: Callable | None = None
) -> list[SurveyedPage]:
    """Load each of `urls` ((name, role, url)) once in `page` (a tab of a context made with
    `axe=True` at VIEWPORT) and survey it. `as_loaded(page)`, when given, runs on each page
    as it loads, before it is checked (the self-test breaks the page with it)."""
    recorder = FocusRecorder(page)
    surveyed = []
    for name, _role, url in urls:
        page.goto(url)
        if as_loaded is not None:
            as_loaded(page)
        axe = tuple(axe_violations(page, live_server))
        fillable = page.evaluate(PAGE_STATE, [PAGE_FORM, FILLABLE])["fillable"]
        measures = [Measure(WIDTHS[0], *page.evaluate(PAGE_WIDER_THAN_WINDOW))]
        problems, reached = tab_round(recorder, f"{name} as {role}")
        for width in WIDTHS[1:]:
            page.set_viewport_size({"width": width, "height": VIEWPORT["height"]})
            measures.append(Measure(width, *page.evaluate(PAGE_WIDER_THAN_WINDOW_UNFOCUSED)))
        page.set_viewport_size(VIEWPORT)
        surveyed.append(
            SurveyedPage(name, axe, fillable, tuple(measures), tuple(problems), tuple(reached))
        )
    return surveyed
