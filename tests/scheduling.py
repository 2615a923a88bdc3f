"""The order in which the suite hands its tests to pytest-xdist's workers: longest first.

`make test` runs `--dist loadgroup`, which deals the tests out one at a time in collection
order as workers free up, but a group's tests all to one worker. pytest-xdist puts the
groups of several tests first, the largest first (its default `--loadscope-reorder`), then
the single tests in collection order; a group's tests run in collection order. A worker
finishes no sooner than its longest test, so a 60-second walk dealt out last keeps one
worker busy while the others stand idle. Dealing the long tests out first (longest
processing time first) leaves only short tests for the end, where the workers even out.

The weights are rough seconds of CPU per test of a file, from `--durations` of whole runs
(docs/testing.md); only their order matters. A file not listed weighs what its markers
say: a browser or worker test pays for Chromium or a Celery worker's start.
"""

from __future__ import annotations

import pytest

# Files whose tests are each among the suite's longest, heaviest first.
HEAVY_FILES: dict[str, int] = {
    "tests/security/test_form_fuzzing.py": 100,
    "oversight/tests/test_auditors_change_nothing.py": 90,
    # Its first test waits for pg_basebackup (I/O, not CPU): best started early.
    "tests/test_read_replica.py": 80,
    "tests/accessibility/test_axe.py": 60,
    "tests/security/test_form_messages.py": 50,
    "tests/security/test_permission_matrix.py": 50,
    "portal/tests/test_demo_database.py": 45,
    "tests/security/test_hardening.py": 35,
    "tests/accessibility/test_keyboard.py": 30,
    "tests/accessibility/test_html_valid.py": 25,
    "tests/security/test_post_permission_matrix.py": 20,
    "tests/security/test_scanner_safety.py": 15,
    "tests/accessibility/test_no_sideways_scrolling.py": 15,
    "tests/accessibility/test_keyboard_journeys.py": 13,
    # Tests that start processes of their own (verify_audit's pool, settings read in a fresh
    # interpreter, a collection in a subprocess): short in CPU, but each waits seconds for
    # its processes, so they go before the suite's many quick tests rather than end the run.
    "audit/tests/test_sequencer.py": 12,
    "audit/tests/test_verify_parallel.py": 3,
    "api/tests/test_openapi_fuzzing.py": 3,
    "tests/test_scheduling.py": 2,
    "bench/tests/test_installed.py": 2,
    "portal/tests/test_settings_from_environment.py": 1,
    "bench/tests/test_bench_environment.py": 1,
    # Two walks of a role's every page each.
    "tests/test_walk_map.py": 5,
}
BROWSER_OR_WORKER = 10

# Besides the tests marked `worker` (a Celery worker and beat started and waited for), files
# whose tests spend their seconds waiting for a stopped broker's timeouts, not computing.
WAITING_FILES = (
    "tests/resilience/test_broker_down.py",
    "tests/resilience/test_metrics_broker.py",
)

# xdist groups whose tests share work computed once per worker, by the name their groups
# start with: each of their tests weighs what the whole group costs, since the group is dealt
# out as one. The survey of a role's pages (tests/accessibility/survey.py): its axe, sideways
# and keyboard tests, about 70 % of what the three files' tests weighed apart.
HEAVY_GROUPS: dict[str, int] = {
    "page-survey-": 75,
}

# Fixtures that start a server of their own in each worker that asks for them: the tests
# using one run on one worker, so it starts once (a streaming replica's base backup copies
# the whole PostgreSQL cluster).
ONE_WORKER_FIXTURES = ("streaming_replica", "oidc_provider")


def group_by_costly_fixture(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in ONE_WORKER_FIXTURES:
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(fixture))
                break


def weight(item: pytest.Item) -> int:
    group = item.get_closest_marker("xdist_group")
    if group is not None and group.args:
        for prefix, heavy in HEAVY_GROUPS.items():
            if str(group.args[0]).startswith(prefix):
                return heavy
    path = item.nodeid.split("::", 1)[0]
    if path in HEAVY_FILES:
        return HEAVY_FILES[path]
    if item.get_closest_marker("browser") or item.get_closest_marker("worker"):
        return BROWSER_OR_WORKER
    return 0


def longest_first(items: list[pytest.Item]) -> None:
    """Sorts in place, heaviest first; a stable sort, so tests of equal weight keep the
    order pytest-django gave them."""
    items.sort(key=lambda item: -weight(item))


def waits(item: pytest.Item) -> bool:
    """Whether a test not in a group spends most of its time waiting on processes of its own."""
    if item.get_closest_marker("xdist_group") is not None:
        return False
    return item.get_closest_marker("worker") is not None or (
        item.nodeid.split("::", 1)[0] in WAITING_FILES
    )


def spread_waiting(items: list[pytest.Item]) -> None:
    """Moves the tests that wait to evenly spaced places among the heavy tests dealt out
    singly, in their order, so that while one worker waits the others compute.

    Sorted by weight alone, the waiting tests sit side by side among the browser tests of
    the same weight and the workers take them at the same time, leaving the two cores half
    idle for some twenty seconds (docs/testing.md)."""
    waiting = [item for item in items if waits(item)]
    if not waiting:
        return
    others = [item for item in items if not waits(item)]
    singles = [item.get_closest_marker("xdist_group") is None for item in others]
    heavy = sum(
        1 for item, single in zip(others, singles, strict=True) if single and weight(item) > 0
    )
    gap = heavy / (len(waiting) + 1)
    spread, dealt, placed = [], 0, 0
    for item, single in zip(others, singles, strict=True):
        while placed < len(waiting) and dealt >= round((placed + 1) * gap):
            spread.append(waiting[placed])
            placed += 1
        spread.append(item)
        dealt += single
    spread.extend(waiting[placed:])
    items[:] = spread
