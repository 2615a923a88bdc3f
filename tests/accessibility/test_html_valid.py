"""The HTML of every page validates with the Nu HTML Checker (npm's vnu-jar, run with Java):
every page of ours, and the Django admin's main pages (with Django's own known errors listed
exactly in tests/accessibility/django_admin.py)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.accessibility.django_admin import KNOWN_HTML, Finding, Known, sort_findings
from tests.accessibility.pages import admin_pages_in_every_state, pages_in_every_state
from tests.portal_map import ROLES, build_world

ROOT = Path(__file__).resolve().parents[2]
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def vnu(folder: Path) -> list[dict]:
    """Validate every .html file in the folder in one run of the checker; its messages."""
    java = shutil.which("java")
    assert java, "Java is needed for the HTML checker: apt-get install default-jre-headless"
    assert VNU_JAR.exists(), f"{VNU_JAR} is missing: run `make install` (npm ci installs vnu-jar)"
    result = subprocess.run(  # noqa: S603 - our own command line
        [
            java,
            # A run of a few seconds: the quick compiler alone and one garbage-collector
            # thread halve the checker's CPU, with the same messages; that compiler's
            # deeper stack needs more than the default thread stack.
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Xss4m",
            "-jar",
            str(VNU_JAR),
            "--format",
            "json",
            "--exit-zero-always",
            "--also-check-svg",
            str(folder),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(result.stderr or result.stdout)["messages"]


def save(pages, folder: Path) -> dict[str, str]:
    """Write each page to its own file; returns file name → page label."""
    labels, _ = save_pages(pages, folder)
    return labels


def save_pages(pages, folder: Path) -> tuple[dict[str, str], dict]:
    """Write each page to its own file; returns (file name → page label, file name → page)."""
    labels, by_file = {}, {}
    for number, page in enumerate(pages):
        name = (
            f"{number:03d}-" + re.sub(r"[^a-z0-9]+", "-", page.label.lower()).strip("-") + ".html"
        )
        (folder / name).write_text(page.html, encoding="utf-8")
        labels[name] = page.label
        by_file[name] = page
    return labels, by_file


def is_error(message: dict) -> bool:
    return message.get("type") == "error" or message.get("subType") == "fatal"


def problems(messages, labels) -> list[str]:
    """One line per page and kind of error, with how often it occurs."""
    found: dict[tuple, list] = {}
    for message in messages:
        if is_error(message):
            file = message.get("url", "").rsplit("/", 1)[-1]
            kind = re.sub(r"“[^”]*”", "“…”", message["message"])
            found.setdefault((labels.get(file, file), kind), []).append(message)
    return [
        f"{label}: {kind} ({len(hits)}×; first at line {hits[0].get('lastLine')}: "
        f"{hits[0]['message']} [{hits[0].get('extract', '').strip()[:80]}])"
        for (label, kind), hits in found.items()
    ]


# Pages each role must have among those checked, so a walk that found nothing fails.
MUST_HAVE = {
    "anonymous": {"sign-in", "people:password-reset-confirm"},
    "staff": {"home", "guidance"},
}


# One test per role (every page, role and state is still checked): parallel workers share
# the rendering and the checker's runs.
@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_page_in_every_state_is_valid_html(tmp_path, role):
    world = build_world()
    pages = pages_in_every_state(world, roles=[role])
    labels = save(pages, tmp_path)
    assert MUST_HAVE.get(role, set()) <= {page.name for page in pages}, role
    assert {page.role for page in pages} == {role}
    if role == "staff":
        assert any(page.state == "errors" for page in pages)
    found = problems(vnu(tmp_path), labels)
    assert not found, "\n".join(found)


def test_the_checker_reports_invalid_html(tmp_path):
    (tmp_path / "broken.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><title>x</title></head>'
        '<body><main><p>Unclosed <div></span><label for="nowhere">Name</label></main></body></html>'
    )
    found = problems(vnu(tmp_path), {"broken.html": "a broken page"})
    assert any("Stray end tag" in line for line in found), found
    assert any("a broken page" in line for line in found)


def admin_findings(messages, pages_by_file) -> list[Finding]:
    found = []
    for message in filter(is_error, messages):
        page = pages_by_file[message.get("url", "").rsplit("/", 1)[-1]]
        found.append(Finding(page.name, page.state, message["message"], message.get("extract", "")))
    return found


@pytest.mark.django_db
def test_the_django_admin_is_valid_html_but_for_djangos_own_known_errors(tmp_path):
    world = build_world()
    pages = admin_pages_in_every_state(world)
    _, by_file = save_pages(pages, tmp_path)
    assert {"admin:index", "admin:people_user_change", "admin:audit_auditevent_changelist"} <= {
        page.name for page in pages
    }
    assert any(page.state == "errors" for page in pages)
    unexpected, stale = sort_findings(admin_findings(vnu(tmp_path), by_file), KNOWN_HTML)
    assert not unexpected, "The HTML checker found, on the admin:\n" + "\n".join(unexpected)
    assert not stale, "\n".join(stale)


def test_the_admin_html_check_reports_a_new_error_and_a_known_one_that_is_gone(tmp_path):
    from tests.accessibility.pages import Page

    broken = Page(
        "admin:index",
        "admin",
        "/admin/",
        "empty",
        '<!DOCTYPE html><html lang="en"><head><title>x</title></head>'
        "<body><main><p>Unclosed <div></span></main></body></html>",
    )
    _, by_file = save_pages([broken], tmp_path)
    gone = Known("Bad value", "x", ("admin:index",), "an error Django has since fixed")
    unexpected, stale = sort_findings(admin_findings(vnu(tmp_path), by_file), [gone])
    assert any(line.startswith("admin:index (empty): Stray end tag") for line in unexpected)
    assert stale and stale[0].startswith("Bad value at /x/ on admin:index: no longer found")
