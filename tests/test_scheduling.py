import subprocess
import sys
from pathlib import Path

from tests.scheduling import HEAVY_FILES

ROOT = Path(__file__).resolve().parent.parent


def test_every_file_the_schedule_names_as_heavy_exists():
    # A renamed file would otherwise silently lose its place at the front of the run.
    assert [name for name in HEAVY_FILES if not (ROOT / name).is_file()] == []


def test_the_suite_deals_out_its_longest_tests_first():
    # pytest collects the cheap file first, as named, and pytest-django would keep its tests
    # (in a transaction) before the journeys' (on a live server); the journeys still lead.
    collected = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "core/tests/test_models.py",
            "tests/accessibility/test_keyboard_journeys.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    tests = [line for line in collected if "::" in line]
    files = [line.split("::", 1)[0] for line in tests]
    journeys = "tests/accessibility/test_keyboard_journeys.py"
    assert files[0] == journeys
    assert files[-1] == "core/tests/test_models.py"
    assert set(files) == {journeys, "core/tests/test_models.py"}


def collect(*arguments: str) -> list[str]:
    listed = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + list(arguments),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [line for line in listed if "::" in line]


def test_the_replicas_and_the_providers_tests_are_grouped_to_run_on_one_worker():
    files = [
        "tests/test_read_replica.py",
        "people/tests/test_sso_browser.py",
        "core/tests/test_models.py",
    ]
    every = collect(*files)
    grouped = set(collect(*files, "-m", "xdist_group"))
    replica = [test for test in every if test.startswith(files[0])]
    provider = [test for test in every if test.startswith(files[1]) and "forged" not in test]
    assert replica and provider
    assert set(replica) <= grouped
    assert set(provider) & grouped
    assert not [test for test in grouped if test.startswith(files[2])]
