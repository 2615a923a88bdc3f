"""Which role fuzzes a form that several roles are shown (tests/forms_found.py)."""

import pytest

from tests.accessibility.pages import objects_from_matrix
from tests.forms_found import find_forms, one_per_handler, shown_to_an_earlier_role
from tests.portal_map import ROLES, build_world
from tests.security.test_form_fuzzing import EXTRA_FORM_PAGES


@pytest.mark.django_db
def test_a_form_shared_with_an_earlier_role_is_that_roles_and_the_rest_are_the_directors():
    world = build_world()
    forms = find_forms(world, objects_from_matrix(), EXTRA_FORM_PAGES, roles=["director"])
    earlier, clients = ROLES[: ROLES.index("director")], {}
    taken_by = {
        form.page: shown_to_an_earlier_role(world, form, earlier, clients) for form in forms
    }

    assert taken_by["people:password-reset"] == "anonymous"
    assert taken_by["access_requests:case-start"] == "staff"
    # Deciding as the signed-in approver, and setting up a deputy, are the director's alone.
    assert taken_by["approvals:decide-signed-in"] is None
    assert taken_by["approvals:delegation-create"] is None


@pytest.mark.django_db
def test_a_form_on_a_roles_extra_page_is_never_taken_as_anothers():
    world = build_world()
    staff_forms = find_forms(world, objects_from_matrix(), EXTRA_FORM_PAGES, roles=["staff"])
    ask_again = [form for form in staff_forms if form.on_extra_page]
    assert ask_again, [str(form) for form in staff_forms]
    # Not even by a role shown it at that URL (here the staff member, whose case it is): an
    # extra page is not in the other roles' walks, so none of them fuzzes its form.
    assert all(shown_to_an_earlier_role(world, form, ["staff"], {}) is None for form in ask_again)


@pytest.mark.django_db
def test_one_form_of_each_handler_is_kept_the_first_roles():
    world = build_world()
    forms = find_forms(world, roles=["staff", "director"])
    kept = one_per_handler(forms)
    assert len({form.handler for form in kept}) == len(kept)
    assert {form.handler for form in kept} == {form.handler for form in forms}
    starts = [form for form in kept if form.page == "access_requests:case-start"]
    assert [form.role for form in starts] == ["staff"]
