"""Every form's messages are GOV.UK ones: one per problem, in the portal's own words.

The forms are found as the fuzzing finds them (tests/forms_found.py). Each field in turn is
posted too long, with a choice that is not offered and with a NUL byte, the other fields
keeping the values the page offers; every error message shown must be one of ours (none of
Django's defaults) and no field may show two messages.
"""

import re
from collections import defaultdict
from html.parser import HTMLParser

import pytest
from django.db import transaction

from tests.accessibility.pages import objects_from_matrix
from tests.forms_found import CSRF_FIELD, find_forms, one_per_handler, signed_in_client
from tests.portal_map import build_world
from tests.security.test_form_fuzzing import EXTRA_FORM_PAGES

# Django's own wording, which a GOV.UK page never shows.
DJANGO_DEFAULTS = re.compile(
    r"Ensure this value|Select a valid choice|is not one of the available choices"
    r"|Null characters are not allowed|This field is required|Enter a valid"
    r"|Enter a whole number|Enter a list of values",
    re.IGNORECASE,
)
TOO_LONG = "x" * 20_000
NOT_OFFERED = "not-an-offered-choice-§"
NUL = "a\x00b"
# Fields that are buttons or carry the form's own bookkeeping, not questions.
NOT_QUESTIONS = {"submit", "button", "hidden"}


class _ErrorMessages(HTMLParser):
    """Each `govuk-error-message` element's id and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.messages: list[tuple[str, str]] = []
        self._depth = 0
        self._id = ""
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._depth:
            self._depth += 1
        elif "govuk-error-message" in (a.get("class") or "").split():
            self._depth, self._id, self._text = 1, a.get("id") or "", []

    def handle_endtag(self, tag):
        if self._depth:
            self._depth -= 1
            if not self._depth:
                text = " ".join("".join(self._text).split()).removeprefix("Error:").strip()
                self.messages.append((self._id, text))

    def handle_data(self, data):
        if self._depth:
            self._text.append(data)


def error_messages(html: str) -> dict[str, list[str]]:
    """{field id: [messages]} of the page's inline error messages."""
    parser = _ErrorMessages()
    parser.feed(html)
    by_field = defaultdict(list)
    for element_id, text in parser.messages:
        by_field[re.sub(r"(_\d+)?_error$", "", element_id)].append(text)
    return dict(by_field)


def defaults(form) -> dict:
    """The values the page offers: each field's first offered value."""
    data = {}
    for name, spec in form.fields.items():
        if name == CSRF_FIELD or spec["type"] in {"submit", "button"}:
            continue
        values = [value for value in spec["values"] if value]
        if values:
            data[name] = values[0]
    return data


def problems_of(form, client) -> list[str]:
    found = []
    questions = [
        name
        for name, spec in form.fields.items()
        if name != CSRF_FIELD and spec["type"] not in NOT_QUESTIONS
    ]
    for name in questions:
        spec = form.fields[name]
        bad_values = [TOO_LONG, NUL]
        if spec["type"] in {"select", "radio", "checkbox"}:
            bad_values.append(NOT_OFFERED)
        for bad in bad_values:
            data = {**defaults(form), name: bad}
            with transaction.atomic():
                send = client.post if form.method == "post" else client.get
                response = send(form.action, data)
                transaction.set_rollback(True)
            what = f"{form} with {name}={bad[:25]!r}"
            if response.status_code >= 400:
                found.append(f"{what}: answered {response.status_code}")
                continue
            for field_id, messages in error_messages(response.content.decode()).items():
                for message in messages:
                    if DJANGO_DEFAULTS.search(message):
                        found.append(f"{what}: Django's wording {message!r}")
                if len(messages) > 1:
                    found.append(f"{what}: {field_id} shows {len(messages)} messages {messages}")
    return found


@pytest.mark.django_db
def test_every_form_answers_bad_values_with_one_govuk_message_per_field(settings):
    settings.AXES_FAILURE_LIMIT = 1000  # the posts are not the lock-out's business here
    world = build_world()
    # The messages are the form's and its view's, not the signed-in role's: each handler's
    # form once, as the first role (in ROLES's order) that finds it.
    forms = one_per_handler(find_forms(world, objects_from_matrix(), EXTRA_FORM_PAGES))
    assert {"sign-in", "oversight:register", "oversight:audit-trail"} <= {f.page for f in forms}
    clients, failures = {}, []
    for form in forms:
        client = clients.setdefault(form.role, signed_in_client(world, form.role))
        failures += problems_of(form, client)
    assert not failures, "\n".join(sorted(set(failures)))


def test_the_message_reader_finds_two_messages_on_one_field():
    html = (
        '<p id="id_tag_1_error" class="govuk-error-message"><span>Error:</span> One</p>'
        '<p id="id_tag_2_error" class="govuk-error-message"><span>Error:</span> Two</p>'
        '<p id="id_when_error" class="govuk-error-message">Ensure this value</p>'
    )
    assert error_messages(html) == {"id_tag": ["One", "Two"], "id_when": ["Ensure this value"]}


@pytest.mark.django_db
def test_a_too_long_asset_tag_gets_one_message():
    from access_requests.forms.business_cases import StandalonePcForm
    from people.tests.factories import UserFactory

    form = StandalonePcForm(
        data={"pc_choice": "existing", "pc_asset_tag": "T" * 52}, requester=UserFactory()
    )
    assert not form.is_valid()
    assert form.errors["pc_asset_tag"] == ["The asset tag must be 50 characters or fewer"]


def test_django_wording_is_reworded_from_the_label():
    from oversight.forms import RegisterFilterForm

    form = RegisterFilterForm(data={"q": "x" * 101, "status": "nonsense"})
    assert not form.is_valid()
    assert form.errors["q"] == [
        "Holder name, email or case reference must be 100 characters or fewer"
    ]
    assert form.errors["status"] == ["Choose status from the list"]
