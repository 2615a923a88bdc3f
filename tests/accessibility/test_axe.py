"""axe-core (WCAG 2.2 A and AA rules) on every page of ours, for every role, in every state,
and on the Django admin's main pages (with Django's own known findings listed exactly).

Pages are found by walking the URL resolver (tests/accessibility/pages.py), so a page
merged later is checked without a change here. States: as opened ("empty", on the load
of each page that the role's survey makes for this check, the sideways check and the keyboard
walk: tests/accessibility/survey.py), with every question answered ("filled"), and after
sending the form with nothing filled in ("errors").
"""

import pytest

from tests.accessibility.browser import (
    FILLABLE,
    PAGE_FORM,
    PAGE_STATE,
    axe_results,
    axe_violations,
    fill_form,
    new_context,
)
from tests.accessibility.django_admin import KNOWN_AXE, Finding, Known, sort_findings
from tests.accessibility.pages import ERROR_URLS, admin_pages, page_urls
from tests.accessibility.survey import by_role, page_survey
from tests.portal_map import build_world


def check_form_states(page, live_server, url, label, found) -> list[str]:
    """The page's form, if it has one with something to fill in, sent with nothing filled
    in ("errors") and with every question answered ("filled"), each on a load of its own."""
    checked = []
    page.goto(url)
    form = page.locator(PAGE_FORM).first
    form.locator("button[type=submit], input[type=submit], button:not([type])").first.click()
    page.wait_for_load_state()
    if page.evaluate(PAGE_STATE, [PAGE_FORM, FILLABLE])["errors"]:
        found += [f"{label} (errors): {v}" for v in axe_violations(page, live_server)]
        checked.append("errors")
    page.goto(url)
    if fill_form(page):
        found += [f"{label} (filled): {v}" for v in axe_violations(page, live_server)]
        checked.append("filled")
    return checked


# A page each role must have been checked on (the walk found its pages).
EXPECTED_PAGE = {
    "anonymous": "sign-in",
    "staff": "home",
    "director": "home",
    "ict": "home",
    "auditor": "guidance",
    "admin": "home",
}


# One test per role, so parallel workers share the work; every page of every role is checked.
# The page as it opens is checked by the role's survey (tests/accessibility/survey.py).
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", by_role())
def test_every_page_for_every_role_in_every_state_has_no_axe_violations(browser, live_server, role):
    world = build_world()
    survey = page_survey(browser, live_server, role, world)
    urls = page_urls(world, roles=[role])
    assert [name for name, _role, _url in urls] == [p.name for p in survey.pages]
    found, checked = [], {}
    page = None
    for surveyed, (name, _role, url) in zip(survey.pages, urls, strict=True):
        label = f"{name} as {role}"
        found += [f"{label} (empty): {v}" for v in surveyed.axe]
        checked[label] = ["empty"]
        if surveyed.fillable:
            if page is None:
                page = new_context(browser, live_server, world.user(role), axe=True).new_page()
            checked[label] += check_form_states(page, live_server, url, label, found)
    if page is not None:
        page.context.close()
    assert f"{EXPECTED_PAGE[role]} as {role}" in checked, sorted(checked)
    if role == "anonymous":
        assert checked["sign-in as anonymous"] == ["empty", "errors", "filled"]
    assert not found, "\n".join(found)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_service_error_pages_have_no_axe_violations(browser, live_server):
    world = build_world()
    found = []
    for (role, url), status in ERROR_URLS.items():
        context = new_context(browser, live_server, world.user(role), axe=True)
        page = context.new_page()
        response = page.goto(url)
        assert response.status == status
        found += [f"error {status} as {role}: {v}" for v in axe_violations(page, live_server)]
        context.close()
    assert not found, "\n".join(found)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_axe_reports_a_page_that_breaks_the_rules(browser, live_server):
    context = new_context(browser, live_server, None)
    page = context.new_page()
    page.goto("/sign-in/")
    # Break the page as a careless template would: a field without its label, low contrast.
    page.evaluate(
        """() => {
            document.querySelector('label[for=id_username]').remove();
            document.querySelector('h1').style.color = '#cccccc';
        }"""
    )
    violations = axe_violations(page, live_server)
    context.close()
    assert any(v.startswith("label") for v in violations), violations
    assert any(v.startswith("color-contrast") for v in violations), violations


# --- the Django admin ------------------------------------------------------------------------


def admin_findings(page, live_server, name: str, state: str) -> list[Finding]:
    return [
        Finding(name, state, violation["id"], target)
        for violation in axe_results(page, live_server)
        for target in violation["targets"]
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_django_admin_has_no_axe_violations_but_djangos_own_known_ones(browser, live_server):
    world = build_world()
    found, checked = [], []
    contexts = {}
    for name, role, url in admin_pages(world):
        if role not in contexts:
            contexts[role] = new_context(
                browser, live_server, world.user(role), axe=True
            ).new_page()
        page = contexts[role]
        page.goto(url)
        found += admin_findings(page, live_server, name, "empty")
        checked.append(f"{name} (empty)")
        save = page.locator("#content-main input[type=submit]").first
        if name == "admin:login":  # a wrong password (the fields are `required`)
            page.get_by_label("Email address").fill("ada.admin@example.gov.uk")
            page.get_by_label("Password").fill("not-the-password")
        if (name.endswith("_add") or name == "admin:login") and save.count():
            save.click()  # add forms: sent with nothing filled in
            page.wait_for_load_state()
            if page.locator(".errornote").count():
                found += admin_findings(page, live_server, name, "errors")
                checked.append(f"{name} (errors)")
    for page in contexts.values():
        page.context.close()
    assert {"admin:index (empty)", "admin:people_user_add (errors)"} <= set(checked), checked
    assert "admin:login (errors)" in checked, checked
    unexpected, stale = sort_findings(found, KNOWN_AXE)
    assert not unexpected, "axe-core found, on the admin:\n" + "\n".join(unexpected)
    assert not stale, "\n".join(stale)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_admin_check_reports_a_new_finding_and_a_known_one_that_is_gone(browser, live_server):
    context = new_context(browser, live_server, None)
    page = context.new_page()
    page.goto("/admin/login/")
    page.evaluate("() => document.querySelector('label[for=id_username]').remove()")
    found = admin_findings(page, live_server, "admin:login", "empty")
    context.close()
    gone = Known("region", "^body$", ("admin:login",), "a finding Django has since fixed")
    unexpected, stale = sort_findings(found, [gone])
    assert any(line.startswith("admin:login (empty): label at") for line in unexpected), found
    assert stale and stale[0].startswith("region at /^body$/ on admin:login: no longer found")
