"""Helpers for the browser suites: signed-in contexts, axe-core, the states of a form."""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# The page's own forms, not the header's sign-out button.
PAGE_FORM = "main form[method=post]"
FILLABLE = "input:not([type=hidden]):not([type=submit]), textarea, select"
# Whether the page has a form of its own with something to fill in, and whether it shows an
# error summary: read by the page's own selectors in one round trip, so that a page without
# a form (most of them) costs no more than its axe run.
PAGE_STATE = """([form, fillable]) => {
    const found = document.querySelector(form);
    return {fillable: !!(found && found.querySelector(fillable)),
            errors: !!document.querySelector('.govuk-error-summary')};
}"""


AXE_SCRIPT = "vendor/axe.min.js"


# axe-core's run (null when axe is not in the page).
AXE_RUN = """async (tags) => {
    if (typeof axe === 'undefined') return null;
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
}"""


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
    Chromium's main-thread time per run (docs/testing.md). Whether axe is in the page is
    asked in the same round trip as the run."""
    results = page.evaluate(AXE_RUN, WCAG_TAGS)
    if results is None:
        page.add_script_tag(url=f"{live_server.url}/static/{AXE_SCRIPT}")
        results = page.evaluate(AXE_RUN, WCAG_TAGS)
    return results


def axe_violations(page, live_server) -> list[str]:
    """One line per violation: rule, impact, what it asks, the first nodes it is on."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + ", ".join(v["targets"][:3])
        for v in axe_results(page, live_server)
    ]


# In the page's form: the index (among `selector`'s matches in the form) of each element
# Playwright would call visible (`is_visible`: not hidden by `display`, `visibility` or a
# closed <details>, and a box of some size), with what fill_form needs to know of it.
VISIBLE_IN_FORM = """([form, selector]) => {
    const root = document.querySelector(form);
    if (!root) return [];
    const visible = el => {
        const rect = el.getBoundingClientRect();
        return el.checkVisibility() && getComputedStyle(el).visibility === 'visible'
            && rect.width > 0 && rect.height > 0;
    };
    return [...root.querySelectorAll(selector)].flatMap((el, index) => {
        const shown = el.matches('.govuk-radios')
            ? (el.querySelector('input[type=radio]') && visible(el.querySelector('input[type=radio]')))
            : visible(el);
        if (!shown) return [];
        return [{index, type: el.getAttribute('type') || 'text',
                 inputmode: el.getAttribute('inputmode'), options: el.options ? el.options.length : 0,
                 editable: !el.matches(':disabled') && !el.readOnly}];
    });
}"""
TEXT_FIELDS = (
    "input:not([type=hidden]):not([type=radio]):not([type=checkbox]):not([type=submit]), textarea"
)


def fill_form(page) -> int:
    """Answer every visible question of the page's form with a plausible value.

    Radios and checkboxes first (they may reveal conditional questions, so they are looked
    at again until none is newly shown); returns how many fields were answered. Which
    fields are visible is read in one round trip per kind; each answer is Playwright's own
    check, select or fill (its actionability checks and real input events)."""
    filled = 0
    form = page.locator(PAGE_FORM).first

    def shown(selector) -> list[dict]:
        return page.evaluate(VISIBLE_IN_FORM, [PAGE_FORM, selector])

    # A radio group is answered by its first radio; revealed questions are looked for again.
    for kind, answer in ((".govuk-radios", "input[type=radio]"), ("input[type=checkbox]", None)):
        done = set()
        while todo := [f["index"] for f in shown(kind) if f["index"] not in done]:
            for index in todo:
                control = form.locator(kind).nth(index)
                (control.locator(answer) if answer else control).first.check()
                done.add(index)
                filled += 1
    for select in shown("select"):
        if select["options"] > 1:
            form.locator("select").nth(select["index"]).select_option(index=1)
            filled += 1
    for field in shown(TEXT_FIELDS):
        if not field["editable"]:
            continue
        value = {
            "email": "sam.staff@example.gov.uk",
            "password": "not-the-password",
            "number": "3",
            "date": "2026-12-01",
            "url": "https://example.gov.uk/",
        }.get(field["type"], "A sample answer")
        if field["inputmode"] == "numeric":
            value = "12"
        form.locator(TEXT_FIELDS).nth(field["index"]).fill(value, timeout=5000)
        filled += 1
    return filled
