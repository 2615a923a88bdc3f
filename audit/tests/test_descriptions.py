"""The plain-English words for the audit trail (`audit.descriptions`): every action the code
records has a description, coded values read as the models say them, and changes read as
sentences with GOV.UK dates."""

import ast
import datetime
from pathlib import Path

import pytest
from django.conf import settings

from access_requests.models import AccessGrant, AccessTier, BusinessCase
from approvals.models import ApprovalRequest
from audit import descriptions
from notifications.models import OutboundEmail

ROOT = Path(settings.BASE_DIR)
# Where the portal's code lives; tests record made-up actions, the benchmark fakes events.
SKIPPED_PARTS = {"tests", "migrations", "bench", ".venv", "node_modules", "build"}


def _source_files():
    for path in ROOT.rglob("*.py"):
        if not SKIPPED_PARTS & set(path.relative_to(ROOT).parts):
            yield path


def _strings_in(node) -> set[str]:
    return {
        item.value
        for item in ast.walk(node)
        if isinstance(item, ast.Constant) and isinstance(item.value, str)
    }


def _looks_like_action(text: str) -> bool:
    head, dot, tail = text.partition(".")
    return bool(dot) and head.replace("_", "").isalpha() and tail.replace("_", "").isalpha()


def actions_in_source() -> dict[str, str]:
    """Each action the code records, with where: every string of the form `word.word`
    given as an `action=` argument (directly, in a conditional, or through a module-level
    name), or as the action of a `_record(request, action, …)` call."""
    found = {}
    for path in _source_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            given = [keyword.value for keyword in node.keywords if keyword.arg == "action"]
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name == "_record" and len(node.args) >= 2:
                given.append(node.args[1])
            for value in given:
                texts = _strings_in(value)
                if isinstance(value, ast.Name) and value.id in constants:
                    texts.add(constants[value.id])
                for text in texts:
                    if _looks_like_action(text):
                        found.setdefault(text, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_source_scan_finds_the_actions_recorded_every_way():
    found = actions_in_source()
    # Directly, in a conditional, through a constant, and by the admin's own helper.
    for action in [
        "case.submitted",
        "people.staff_updated",
        "email.send_failed",
        "audit.client_fields_cleared",
        "admin.deleted",
        "approval.superseded",
    ]:
        assert action in found, action


def test_every_action_recorded_in_the_code_has_a_description():
    missing = {
        action: where
        for action, where in actions_in_source().items()
        if action not in descriptions.ACTIONS
    }
    assert not missing, (
        "Give these actions a plain-English description in audit/descriptions.py ACTIONS: "
        + ", ".join(f"{action} ({where})" for action, where in sorted(missing.items()))
    )


def test_no_description_is_kept_for_an_action_nothing_records():
    stale = set(descriptions.ACTIONS) - set(actions_in_source())
    assert not stale, f"Nothing records these any more: {', '.join(sorted(stale))}"


@pytest.mark.parametrize(
    ("words", "choices"),
    [
        (descriptions.CASE_STATUSES, BusinessCase.Status.choices),
        (descriptions.GRANT_STATUSES, AccessGrant.Status.choices),
        (descriptions.APPROVAL_STATUSES, ApprovalRequest.Status.choices),
        (descriptions.EMAIL_STATUSES, OutboundEmail.Status.choices),
        (descriptions.TIERS, AccessTier.choices),
        (descriptions.VALUES["pc_choice"], BusinessCase.PcChoice.choices),
        (descriptions.VALUES["routed_because"], ApprovalRequest.Reason.choices),
        (descriptions.VALUES["decision"], ApprovalRequest.Decision.choices),
    ],
)
def test_coded_values_read_as_the_models_say_them(words, choices):
    assert words == dict(choices)


def lines(changes, object_type=""):
    return [str(line) for line in descriptions.change_lines(changes, object_type)]


def test_a_boolean_change_reads_yes_and_no_under_its_label():
    assert lines({"uses_pseudonym": [False, True]}) == ["Uses a pseudonym: changed from No to Yes"]
    assert lines({"declared_read_guidance": [True, False]}) == [
        "Declared: read the guidance: changed from Yes to No"
    ]


def test_a_value_set_or_removed_says_so():
    assert lines({"display_name": ["", "Sam Taylor"], "sites": [[], ["LinkedIn", "YouTube"]]}) == [
        "Display name: set to Sam Taylor",
        "Sites: set to LinkedIn, YouTube",
    ]
    assert lines({"lapse_chosen_at": ["2026-12-04T15:05:00Z", None]}) == [
        "Chose to let it lapse: removed (was 4 December 2026 at 3:05pm)"
    ]


def test_dates_and_times_are_in_govuk_style_and_local_time():
    assert lines({"end_date": [None, "2027-02-02"]}) == ["End date: set to 2 February 2027"]
    # London is an hour ahead of UTC in summer; noon and midnight are words.
    assert lines({"link_expires_at": "2026-07-01T11:00:00.123Z"}) == [
        "Link works until: 1 July 2026 at midday"
    ]
    assert lines({"decide_by": datetime.date(2026, 12, 25)}) == [
        "Decision due by: 25 December 2026"
    ]


def test_a_status_reads_as_its_object_calls_it():
    assert lines({"status": ["draft", "submitted"]}, "access_requests.businesscase") == [
        "Status: changed from Draft to Awaiting decision"
    ]
    assert lines({"status": ["active", "surrendered"]}, "access_requests.accessgrant") == [
        "Status: changed from Active to Given up"
    ]
    assert lines({"tier": ["", "passive"]}) == ["Kind of access: set to Passive monitoring"]


def test_a_list_of_two_is_not_taken_for_a_before_and_after():
    assert lines({"emails": [12, 40]}) == ["Emails (first and last number): 12, 40"]


def test_an_unknown_action_or_field_is_still_words():
    assert descriptions.action_description("widget.re_wound") == "Re wound"
    assert lines({"odd_field": ["a", "b"]}) == ["Odd field: changed from a to b"]


@pytest.mark.parametrize(
    ("label", "name", "action", "words"),
    [
        ("sam@example.gov.uk", "Sam Taylor", "case.submitted", "Sam Taylor (sam@example.gov.uk)"),
        ("sam@example.gov.uk", "", "case.submitted", "sam@example.gov.uk"),
        ("system:outbox", "", "email.sent", "the portal, sending emails"),
        ("system:new_task", "", "x.y", "the portal (new task)"),
        (
            "anonymous",
            "",
            "approval.opened",
            "someone with the approver's emailed link, not signed in",
        ),
        ("anonymous", "", "auth.sign_in_failed", "someone trying to sign in"),
        ("anonymous", "", "x.y", "someone not signed in"),
    ],
)
def test_who_acted_is_said_as_a_reader_would_say_it(label, name, action, words):
    assert descriptions.actor_in_words(actor_label=label, actor_name=name, action=action) == words
