"""The survey (tests/accessibility/survey.py) still catches what each of its three checks is
for, on a page loaded once for all three: a page that breaks axe-core's rules, one wider than
the window, a control that hides its focus and a field Tab never reaches."""

import pytest

from tests.accessibility.browser import new_context
from tests.accessibility.keyboard import HIDE_THE_LINKS_FOCUS
from tests.accessibility.survey import VIEWPORT, WIDTHS, survey_pages

# Broken as a careless template would break it: a field without its label, a heading of low
# contrast, a box wider than a desktop's window, a field taken out of the tab order.
BREAK_THE_SIGN_IN_PAGE = """() => {
    document.querySelector('label[for=id_username]').remove();
    document.querySelector('h1').style.color = '#cccccc';
    const wide = document.createElement('div');
    wide.style.width = '1400px';
    wide.textContent = 'A wide box';
    document.querySelector('main').append(wide);
    document.getElementById('id_password').setAttribute('tabindex', '-1');
}"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_survey_reports_axe_violations_a_page_too_wide_and_a_hidden_or_missed_focus(
    browser, live_server
):
    context = new_context(browser, live_server, None, axe=True, viewport=VIEWPORT)

    def break_the_page(page):
        page.evaluate(BREAK_THE_SIGN_IN_PAGE)
        page.evaluate(HIDE_THE_LINKS_FOCUS)

    [sign_in] = survey_pages(
        context.new_page(),
        live_server,
        "anonymous",
        [("sign-in", "anonymous", "/sign-in/")],
        as_loaded=break_the_page,
    )
    context.close()
    assert any(v.startswith("label") for v in sign_in.axe), sign_in.axe
    assert any(v.startswith("color-contrast") for v in sign_in.axe), sign_in.axe
    assert [m.width for m in sign_in.measures] == list(WIDTHS)
    assert all(m.window == m.width and m.extra > 0 for m in sign_in.measures), sign_in.measures
    assert any(
        p.startswith("sign-in as anonymous: no visible focus on A|") for p in sign_in.keyboard
    ), sign_in.keyboard
    assert any(
        p.startswith("sign-in as anonymous: Tab never reaches") and "id_password" in p
        for p in sign_in.keyboard
    ), sign_in.keyboard
