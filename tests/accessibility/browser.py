"""Helpers for the browser suites: signed-in contexts, axe-core, the states of a form."""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# The page's own forms, not the header's sign-out button.
PAGE_FORM = "main form[method=post]"


AXE_SCRIPT = "vendor/axe.min.js"


def new_context(browser, live_server, user, *, axe=False, **options):
    """A browser context signed in as `user` (None: anonymous), by session cookie.

    `axe=True` loads axe-core into every page of the context as the page starts (an init
    script), so `axe_results` need not add it to each page it checks: Chromium then compiles
    it once per page load without a second request and script tag, about 15 % of the CPU
    of checking a page."""
    context = browser.new_context(base_url=live_server.url, **options)
    if axe:
        context.add_init_script(path=finders.find(AXE_SCRIPT))
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
    return context


def axe_results(page, live_server) -> list[dict]:
    """Run axe-core on the page: each violation as {id, impact, help, targets (the CSS
    selector of each node)}. A page of a context made without `axe=True` gets it from our
    static files (so the CSP allows it).

    Every rule of WCAG_TAGS runs on every node; axe-core's documented `resultTypes:
    ['violations']` only spares it describing each node that passed or was incomplete (a
    unique CSS selector and the HTML of each), which nothing here reads: about a quarter of
    Chromium's main-thread time per run (docs/testing.md)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(url=f"{live_server.url}/static/{AXE_SCRIPT}")
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations'],
            });
            // GOV.UK Frontend's own script sets aria-expanded on radios and checkboxes that
            // reveal a conditional question (its documented pattern); axe counts it on a radio.
            const govukReveal = n => n.html.match(/class="govuk-(radios|checkboxes)__input"/)
                && n.failureSummary.includes('aria-expanded')
                && !n.failureSummary.replace(/aria-expanded="(true|false)"/g, '').match(/aria-/);
            return results.violations
                .map(v => v.id === 'aria-allowed-attr'
                    ? {...v, nodes: v.nodes.filter(n => !govukReveal(n))} : v)
                .filter(v => v.nodes.length)
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            targets: v.nodes.map(n => n.target.join(' '))}));
        }""",
        WCAG_TAGS,
    )


def axe_violations(page, live_server) -> list[str]:
    """One line per violation: rule, impact, what it asks, the first nodes it is on."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + ", ".join(v["targets"][:3])
        for v in axe_results(page, live_server)
    ]


def fill_form(page) -> int:
    """Answer every visible question of the page's form with a plausible value.

    Radios and checkboxes first (they may reveal conditional questions); returns how many
    fields were answered."""
    filled = 0
    form = page.locator(PAGE_FORM).first
    for group in form.locator(".govuk-radios").all():
        first = group.locator("input[type=radio]").first
        if first.is_visible():
            first.check()
            filled += 1
    for box in form.locator("input[type=checkbox]").all():
        if box.is_visible():
            box.check()
            filled += 1
    for select in form.locator("select").all():
        if select.is_visible() and select.locator("option").count() > 1:
            select.select_option(index=1)
            filled += 1
    for field in form.locator(
        "input:not([type=hidden]):not([type=radio]):not([type=checkbox]):not([type=submit]), textarea"
    ).all():
        if not field.is_visible() or not field.is_editable():
            continue
        kind = field.get_attribute("type") or "text"
        value = {
            "email": "sam.staff@example.gov.uk",
            "password": "not-the-password",
            "number": "3",
            "date": "2026-12-01",
            "url": "https://example.gov.uk/",
        }.get(kind, "A sample answer")
        if field.get_attribute("inputmode") == "numeric":
            value = "12"
        field.fill(value, timeout=5000)
        filled += 1
    return filled
