"""Every app's tests run: a folder of tests that `testpaths` misses would never run in CI."""

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_folder_with_tests_is_in_testpaths():
    config = configparser.ConfigParser()
    config.read(ROOT / "pytest.ini")
    testpaths = set(config["pytest"]["testpaths"].split())
    with_tests = {
        path.parent.parent.name
        for path in ROOT.glob("*/tests/test_*.py")
        if not path.parent.parent.name.startswith(".")
    }
    assert with_tests - testpaths == set(), "add these to testpaths in pytest.ini"
