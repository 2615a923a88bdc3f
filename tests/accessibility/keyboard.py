"""Driving Chromium with the keyboard alone, as a person who cannot use a mouse would.

Every step presses Tab (or Shift+Tab) until the focus is on the wanted control, checks that
the control shows it has the focus (GOV.UK's yellow focus state), then acts on it with the
keys a keyboard user has: typing, Enter, Space and the arrow keys. Nothing here clicks,
fills a field it did not reach, or moves the focus from a script, so a control that the
keyboard cannot reach or use makes the journey fail with "Tab never reached …".
"""

from dataclasses import dataclass

from playwright.sync_api import Error as PlaywrightError, Page

# What may take the focus; anything else that does is still checked, by blurring it.
CONTROLS = (
    "a[href], area[href], button, input, select, textarea, summary, iframe, "
    "[tabindex], [contenteditable]"
)

# How an element looks: the properties a focus state changes.
LOOK = """(el) => {
    const style = getComputedStyle(el);
    return [style.outlineStyle, style.outlineWidth, style.outlineColor, style.boxShadow,
            style.backgroundColor, style.color, style.textDecorationThickness].join(' ');
}"""

# What an element that has the focus is: enough to find a control by its label, text,
# name or value, and whether it shows that it has the focus: it looks otherwise than
# without it (`unfocused`, its look with nothing focused; when not given, the element is
# blurred to read it and focused again).
FACTS = f"""(el, unfocused) => {{
    const look = {LOOK};
    const focused = look(el);
    if (unfocused === undefined) {{
        el.blur();
        unfocused = look(el);
        el.focus();
    }}
    const rect = el.getBoundingClientRect();
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim();
    return {{
        tag: el.tagName.toLowerCase(),
        id: el.id,
        name: el.name || '',
        type: (el.type || '').toLowerCase(),
        value: el.value === undefined ? '' : String(el.value),
        checked: !!el.checked,
        label: el.labels && el.labels.length ? el.labels[0].innerText.trim() : '',
        selected: el.tagName === 'SELECT' && el.selectedIndex >= 0
            ? el.options[el.selectedIndex].text.trim() : '',
        text: text.slice(0, 60),
        key: el.type === 'radio' ? 'RADIOS|' + el.name  // Tab enters a group; arrows move in it
            : el.tagName + '|' + (el.id || '') + '|' + (el.getAttribute('href') || el.name || '')
              + '|' + (el.innerText || el.value || '').trim().slice(0, 40),
        shows_focus: focused !== unfocused,  // the focus changes how it looks
        visible: rect.width > 0 && rect.height > 0,
    }};
}}"""

# What has the focus now (null: nothing, or the page itself).
FOCUSED = f"""() => {{
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    return ({FACTS})(el);
}}"""

# Records the same facts each time the focus moves: a capturing focusin listener, run in
# a world of its own in the page (as a browser extension's script is), so it runs whether
# or not the page's own scripts may, and they cannot see or disturb it. A walk can then
# press Tab several times and read what each press reached in one round trip. How each
# control looks without the focus is read once, before the first press, with nothing
# focused (as the page stands when loaded, and as FACTS sees it after blurring it), rather
# than by blurring and focusing it again after every press: those two extra focus changes
# were a quarter of the walk's CPU. An element focused at the start, or not among the
# controls read, is blurred and focused again by FACTS, and those events are not recorded.
RECORD_FOCUS = f"""(() => {{
    const look = {LOOK};
    const facts = {FACTS};
    const unfocused = new WeakMap();
    for (const el of document.querySelectorAll({CONTROLS!r})) {{
        if (el !== document.activeElement) unfocused.set(el, look(el));
    }}
    window.__focusLog = [];
    let looking = false;
    document.addEventListener('focusin', () => {{
        const el = document.activeElement;
        if (looking || !el || el === document.body) return;
        looking = true;
        try {{ window.__focusLog.push(facts(el, unfocused.get(el))); }} finally {{ looking = false; }}
    }}, true);
}})()"""
TAKE_FOCUS_LOG = "window.__focusLog.splice(0)"


class FocusRecorder:
    """Records, in a world of its own in each page a tab loads, what every key press puts
    the focus on (RECORD_FOCUS), with JavaScript on or off (a page without JavaScript runs
    none of its own scripts, but Chromium still runs a world made through its DevTools
    protocol: Playwright's own locators work that way)."""

    def __init__(self, page: Page):
        self.page = page
        self.devtools = page.context.new_cdp_session(page)
        self._frame: str | None = None  # the tab's main frame, the same from page to page
        self._world: int | None = None

    def _evaluate(self, context_id: int, expression: str):
        answer = self.devtools.send(
            "Runtime.evaluate",
            {"expression": expression, "contextId": context_id, "returnByValue": True},
        )
        if "exceptionDetails" in answer:
            raise AssertionError(f"the focus recorder failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def _new_world(self, asked_again: bool = False) -> int:
        if self._frame is None:
            self._frame = self.devtools.send("Page.getFrameTree")["frameTree"]["frame"]["id"]
        try:
            return self.devtools.send(
                "Page.createIsolatedWorld",
                {"frameId": self._frame, "worldName": "focus-recorder"},
            )["executionContextId"]
        except PlaywrightError:
            if asked_again:
                raise
            self._frame = None  # the tab's main frame was replaced: ask for it again
            return self._new_world(asked_again=True)

    def start(self, reading: str = "() => null"):
        """Start recording on the page as loaded now, and return what `reading` (a function
        of no arguments, run in the recorder's world: the page's DOM and styles as its own
        scripts see them) gives, in the same round trip. The next `focus_after_each_tab`, on
        the same page load, records from here; without it, it starts on its own."""
        self._world = self._new_world()
        return self._evaluate(self._world, f"{RECORD_FOCUS}; ({reading})()")

    def focus_after_each_tab(self, limit: int, first_batch: int = 10):
        """Press Tab up to `limit` times on the page as loaded now and yield, in order, what
        each press put the focus on (FOCUSED's facts; presses that leave it on nothing are
        not recorded). They are read after `first_batch` presses, then after every 10,
        rather than in a round trip after each press; every press is a real key press."""
        if self._world is None:
            self.start()
        world, self._world = self._world, None
        pressed, batch = 0, first_batch
        while pressed < limit:
            batch = min(batch, limit - pressed)
            for _ in range(batch):
                self.page.keyboard.press("Tab")
            pressed += batch
            yield from self._evaluate(world, TAKE_FOCUS_LOG)
            batch = 10


# What should take the focus on a page: every link, button and field shown (a radio group
# once, as Tab enters a group once), keyed as FACTS keys what has the focus.
FOCUSABLE = """() => [...document.querySelectorAll(
        'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])')]
    .filter(el => !el.disabled && el.getClientRects().length > 0
        && getComputedStyle(el).visibility !== 'hidden'
        // Inside a closed <details> only its summary takes the focus, until it is opened.
        && !(el.closest('details:not([open])') && !el.closest('summary')))
    .map(el => el.type === 'radio' ? 'RADIOS|' + el.name
        : el.tagName + '|' + (el.id || '') + '|' + (el.getAttribute('href') || el.name || '')
          + '|' + (el.innerText || el.value || '').trim().slice(0, 40))"""


def tab_round(recorder: FocusRecorder, label: str) -> tuple[list[str], list[str]]:
    """Tab round the page as loaded now (`label`: "<page> as <role>"), until the focus comes
    back to where it started: every control that should take the focus must take it in
    turn and show it. Returns the problems found, one line each, and the keys of the
    controls reached, in order."""
    problems = []
    # What should take the focus, read as the recorder starts (one round trip).
    expected = set(recorder.start(FOCUSABLE))
    if not expected:  # every page has at least its skip link
        problems.append(f"{label}: no control found to tab to")
    reached, first = {}, None
    for focused in recorder.focus_after_each_tab(
        limit=2 * len(expected) + 20, first_batch=len(expected) + 2
    ):
        if focused["key"] == first:
            break
        first = first or focused["key"]
        if not focused["shows_focus"] and focused["key"] not in reached:
            problems.append(f"{label}: no visible focus on {focused['key']}")
        reached[focused["key"]] = True
    missed = expected - set(reached)
    if missed:
        problems.append(f"{label}: Tab never reaches {sorted(missed)}")
    return problems, list(reached)


# A stylesheet rule that hides GOV.UK's focus state on links (CSSOM: allowed by the CSP).
HIDE_THE_LINKS_FOCUS = """() => document.styleSheets[0].insertRule(
    'a, a:focus { outline: none !important; box-shadow: none !important;'
    + ' background: none !important; color: #000 !important;'
    + ' text-decoration: none !important }', 0)"""


def tab_to(page: Page, wanted, limit: int = 80, key: str = "Tab") -> dict:
    """Press Tab (or `key`) until the focused element matches `wanted(focused)`; returns it."""
    for _ in range(limit):
        page.keyboard.press(key)
        focused = page.evaluate(FOCUSED)
        if focused and wanted(focused):
            assert focused["shows_focus"], f"no visible focus on {focused}"
            assert focused["visible"], f"the focus is on something hidden: {focused}"
            return focused
    raise AssertionError("Tab never reached the element")


def _starts(text: str, wanted: str) -> bool:
    return " ".join(text.split()).startswith(wanted)


@dataclass
class Keyboard:
    """A person at the keyboard of one page (tab `page`)."""

    page: Page
    limit: int = 80

    def focused(self) -> dict | None:
        return self.page.evaluate(FOCUSED)

    def tab_to(self, wanted, backwards: bool = False) -> dict:
        return tab_to(self.page, wanted, self.limit, "Shift+Tab" if backwards else "Tab")

    def type_into(self, label: str, text: str, backwards: bool = False) -> dict:
        """Tab (or Shift+Tab) to the field labelled `label` (its label starts so) and
        replace what is in it."""
        field = self.tab_to(
            lambda f: (
                f["tag"] in ("input", "textarea")
                and f["type"] not in ("radio", "checkbox", "submit")
                and _starts(f["label"], label)
            ),
            backwards=backwards,
        )
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.type(text)
        return field

    def type_date(self, legend_prefix: str, day) -> None:
        """A GOV.UK date input: Day, Month and Year fields in turn (ids `<prefix>_0/1/2`)."""
        for part, value in enumerate((day.day, day.month, day.year)):
            self.tab_to(lambda f, part=part: f["id"] == f"id_{legend_prefix}_{part}")
            self.page.keyboard.press("ControlOrMeta+a")
            self.page.keyboard.type(str(value))

    def choose_radio(self, name: str, label: str) -> dict:
        """Tab into the radio group `name`, then move with the arrow keys to `label` and
        select it with Space (Tab enters a group once; arrows move within it)."""
        focused = self.tab_to(lambda f: f["type"] == "radio" and f["name"] == name)
        for _ in range(12):
            if _starts(focused["label"], label):
                if not focused["checked"]:
                    self.page.keyboard.press("Space")
                focused = self.focused()
                assert focused["checked"], f"Space did not select {label!r}"
                return focused
            self.page.keyboard.press("ArrowDown")
            focused = self.focused()
            assert focused["name"] == name, f"the arrow keys left the group {name}: {focused}"
        raise AssertionError(f"the arrow keys never reached {label!r} in {name}")

    def tick(self, label: str) -> dict:
        """Tab to the checkbox labelled `label` and tick it with Space."""
        box = self.tab_to(lambda f: f["type"] == "checkbox" and _starts(f["label"], label))
        if not box["checked"]:
            self.page.keyboard.press("Space")
        assert self.focused()["checked"], f"Space did not tick {label!r}"
        return box

    def choose_option(self, label: str, option: str) -> dict:
        """Tab to the select labelled `label` and move to `option` with the arrow keys."""
        self.tab_to(lambda f: f["tag"] == "select" and _starts(f["label"], label))
        self.page.keyboard.press("Home")
        for _ in range(50):
            focused = self.focused()
            if _starts(focused["selected"], option):
                return focused
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"the arrow keys never reached the option {option!r}")

    def press_button(self, text: str, key: str = "Enter") -> None:
        """Tab to the button saying `text` and press it (Enter, or Space)."""
        self.tab_to(
            lambda f: (f["tag"] == "button" or f["type"] == "submit") and _starts(f["text"], text)
        )
        with self.page.expect_navigation():
            self.page.keyboard.press(key)

    def follow_error_link(self, text: str) -> dict:
        """Tab to the error summary's link saying `text` and press Enter: the focus must move
        to the field in error (a link within the page: nothing is loaded)."""
        link = self.tab_to(lambda f: f["tag"] == "a" and _starts(f["text"], text))
        self.page.keyboard.press("Enter")
        focused = self.focused()
        for _ in range(20):  # GOV.UK's script, or the browser, moves the focus
            if focused and focused["tag"] in ("input", "textarea", "select"):
                return focused
            self.page.wait_for_timeout(100)
            focused = self.focused()
        raise AssertionError(f"the error link {link['text']!r} left the focus on {focused}")

    def follow_link(self, text: str, backwards: bool = False) -> None:
        """Tab to the link saying `text` (visually hidden words included) and press Enter."""
        self.tab_to(lambda f: f["tag"] == "a" and _starts(f["text"], text), backwards=backwards)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")
