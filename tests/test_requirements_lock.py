"""requirements.lock (production installs, `pip install --require-hashes`) covers every
runtime pin of requirements.txt at its version, and everything those need, each with a hash."""

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def runtime_pins() -> dict[str, tuple[str, set[str]]]:
    """requirements.txt's runtime section: name to (version, extras)."""
    text = (ROOT / "requirements.txt").read_text().split("# Tests and tooling")[0]
    pins = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            [spec] = requirement.specifier
            assert spec.operator == "==", f"{line}: runtime requirements are pinned with =="
            pins[canonicalize_name(requirement.name)] = (spec.version, requirement.extras)
    return pins


def locked() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock: name to (version, its hashes)."""
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    entries = {}
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement, *options = line.split()
        name, version = requirement.split("==")
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=")]
        entries[canonicalize_name(name)] = (version, hashes)
    return entries


def test_every_runtime_pin_is_locked_at_its_version_with_a_hash():
    lock = locked()
    for name, (version, _extras) in runtime_pins().items():
        assert name in lock, f"{name} is in requirements.txt but not requirements.lock"
        assert lock[name][0] == version, f"{name}: {version} pinned, {lock[name][0]} locked"
    for name, (_version, hashes) in lock.items():
        assert hashes, f"{name} has no --hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


def test_everything_the_locked_packages_need_is_locked_too():
    """What each locked package requires (for this Python, with the extras asked for) is
    locked: `--require-hashes` refuses to install anything unlisted."""
    lock = locked()
    extras = {name: pin_extras for name, (_v, pin_extras) in runtime_pins().items()}
    missing = []
    for name in lock:
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            wanted = [{"extra": extra} for extra in extras.get(name, set())] or [{"extra": ""}]
            if requirement.marker is not None and not any(
                requirement.marker.evaluate(environment) for environment in wanted
            ):
                continue
            if canonicalize_name(requirement.name) not in lock:
                missing.append(f"{requirement.name} (needed by {name})")
    assert not missing, missing


def test_the_locked_versions_are_the_ones_the_tests_run_with():
    for name, (version, _hashes) in locked().items():
        assert metadata.version(name) == version, f"{name}: installed {metadata.version(name)}"
