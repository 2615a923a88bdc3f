import subprocess
import sys
from pathlib import Path

import pytest

from tests.portal_map import ROLES
from tests.scheduling import HEAVY_FILES, WAITING_FILES, longest_first, spread_waiting

ROOT = Path(__file__).resolve().parent.parent


def test_every_file_the_schedule_names_as_heavy_exists():
    # A renamed file would otherwise silently lose its place at the front of the run.
    assert [name for name in HEAVY_FILES if not (ROOT / name).is_file()] == []


JOURNEYS = "tests/accessibility/test_keyboard_journeys.py"
MODELS = "core/tests/test_models.py"
REPLICA = "tests/test_read_replica.py"
PROVIDER = "people/tests/test_sso_browser.py"
SURVEYED = (
    "tests/accessibility/test_axe.py",
    "tests/accessibility/test_keyboard.py",
    "tests/accessibility/test_no_sideways_scrolling.py",
)


@pytest.fixture(scope="module")
def collection() -> list[tuple[str, str]]:
    """(node id, xdist group or "-") of seven files' tests, in the order the run deals them
    out: one collection in a subprocess (about 2.7 s of CPU each) for both checks below,
    which share a group so that it runs once."""
    listed = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.collection_listing",
            MODELS,
            JOURNEYS,
            REPLICA,
            PROVIDER,
            *SURVEYED,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [
        (fields[1], fields[2])
        for fields in (line.split("\t") for line in listed)
        if fields[0] == "collected"
    ]


@pytest.mark.xdist_group("collection_listing")
def test_the_suite_deals_out_its_longest_tests_first(collection):
    # pytest collects the cheap file first, as named, and pytest-django would keep its tests
    # (in a transaction) before the journeys' (on a live server); the journeys still lead.
    files = [
        test.split("::", 1)[0]
        for test, _group in collection
        if test.startswith((JOURNEYS + "::", MODELS + "::"))
    ]
    assert files[0] == JOURNEYS
    assert files[-1] == MODELS
    assert set(files) == {JOURNEYS, MODELS}


@pytest.mark.xdist_group("collection_listing")
def test_the_replicas_and_the_providers_tests_are_grouped_to_run_on_one_worker(collection):
    grouped = {test for test, group in collection if group != "-"}
    replica = [test for test, _group in collection if test.startswith(REPLICA)]
    provider = [
        test for test, _group in collection if test.startswith(PROVIDER) and "forged" not in test
    ]
    assert replica and provider
    assert set(replica) <= grouped
    assert set(provider) & grouped
    assert not [test for test in grouped if test.startswith(MODELS)]


@pytest.mark.xdist_group("collection_listing")
def test_the_three_checks_of_a_roles_page_survey_are_grouped_to_run_on_one_worker(collection):
    # The survey is made once per worker (tests/accessibility/survey.py): a role's axe,
    # sideways and keyboard (with JavaScript) tests must run where it is kept.
    groups = {}
    for test, group in collection:
        if test.startswith(SURVEYED) and group.startswith("page-survey-"):
            groups.setdefault(group, []).append(test.split("::", 1)[1])
    assert sorted(groups) == sorted(f"page-survey-{role}" for role in ROLES)
    for group, tests in groups.items():
        role = group.removeprefix("page-survey-")
        assert tests == [
            f"test_every_page_for_every_role_in_every_state_has_no_axe_violations[chromium-{role}]",
            f"test_every_control_on_every_page_takes_the_focus_in_turn_and_shows_it"
            f"[chromium-{role}-with-js]",
            f"test_no_page_scrolls_sideways_on_a_desktop_or_a_phone[chromium-{role}]",
        ]
    # The walk without JavaScript loads its pages itself, and is dealt out on its own.
    without = [t for t, group in collection if t.endswith("-without-js]") and "every_control" in t]
    assert len(without) == len(ROLES)
    assert {group for t, group in collection if t in without} == {"-"}


class Listed:
    """A collected test as the schedule reads it: its node id and markers."""

    def __init__(self, nodeid: str, *markers: str, group: str | None = None):
        self.nodeid = nodeid
        self.markers = {name: getattr(pytest.mark, name) for name in markers}
        if group:
            self.markers["xdist_group"] = pytest.mark.xdist_group(group)

    def get_closest_marker(self, name):
        return self.markers.get(name)


def test_the_tests_that_wait_are_spread_among_the_heavy_ones_not_dealt_out_together():
    browser = [Listed(f"a/test_page.py::test_{n}", "browser") for n in range(30)]
    grouped = [Listed(f"b/test_walk.py::test_{n}", "browser", group="walk") for n in range(4)]
    waiting = [Listed(f"c/test_worker.py::test_{n}", "worker") for n in range(3)]
    broker = [Listed(f"{WAITING_FILES[0]}::test_down")]
    quick = [Listed(f"d/test_quick.py::test_{n}") for n in range(20)]
    items = [*quick, *browser[:15], *grouped, *waiting, *broker, *browser[15:]]

    longest_first(items)
    spread_waiting(items)

    assert sorted(map(id, items)) == sorted(
        map(id, [*browser, *grouped, *waiting, *broker, *quick])
    )
    places = [items.index(item) for item in [*waiting, *broker]]
    assert places == sorted(places)  # in their order
    assert min(b - a for a, b in zip(places, places[1:], strict=False)) >= 6  # about 34 / 5 apart
    assert max(places) < items.index(quick[0])  # among the heavy tests, before the quick ones
    rest = [item for item in items if item not in waiting and item not in broker]
    assert rest == [*browser[:15], *grouped, *browser[15:], *quick]
