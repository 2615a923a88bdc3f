"""A walk that reads what an earlier walk of the run wrote down (tests/walk_map.py) finds the
same pages and forms as one that opens every URL."""

import pytest

from tests import walk_map
from tests.accessibility.pages import objects_from_matrix, opened_pages, page_urls
from tests.forms_found import CSRF_FIELD, find_forms
from tests.portal_map import build_world
from tests.security.test_form_fuzzing import EXTRA_FORM_PAGES


def forms_found(forms) -> dict:
    """Each form's page, action and fields, but the CSRF token's value (masked anew on every
    page)."""
    return {
        form.key: (
            form.page,
            form.page_url,
            form.action,
            {name: spec for name, spec in form.fields.items() if name != CSRF_FIELD},
        )
        for form in forms
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["staff", "admin"])
def test_a_walk_from_the_map_finds_what_a_walk_of_every_url_finds(monkeypatch, tmp_path, role):
    monkeypatch.setattr(walk_map, "_folder", tmp_path)
    monkeypatch.setattr(walk_map, "_known", {})
    world = build_world()
    objects = objects_from_matrix()

    every_url = page_urls(world, roles=[role])
    every_form = find_forms(world, objects, EXTRA_FORM_PAGES, roles=[role])
    assert len(list(tmp_path.iterdir())) == 2  # the pages, and the pages with forms

    # Another worker: nothing in its process, the files in the shared folder.
    monkeypatch.setattr(walk_map, "_known", {})
    assert page_urls(world, roles=[role]) == every_url
    assert [page[:3] for page in opened_pages(world, roles=[role])] == every_url
    assert forms_found(find_forms(world, objects, EXTRA_FORM_PAGES, roles=[role])) == forms_found(
        every_form
    )

    # The pages alone known (another suite's walk): the forms are found among them.
    monkeypatch.setattr(walk_map, "_known", {})
    for entry in tmp_path.iterdir():
        if entry.name != walk_map.key("pages", role, objects):
            entry.unlink()
    assert forms_found(find_forms(world, objects, EXTRA_FORM_PAGES, roles=[role])) == forms_found(
        every_form
    )
