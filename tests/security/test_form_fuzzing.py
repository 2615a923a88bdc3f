"""Property-based fuzzing of every form the portal shows (POST forms, and GET filter forms).

The forms are found by opening every page as every role (tests/forms_found.py), so a form
merged later is fuzzed without a change here. A form that only appears in a state the
world does not reach by default is added to EXTRA_FORM_PAGES with one line.
"""

import pytest
from axes.utils import reset as axes_reset
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from hypothesis import (
    HealthCheck,
    Phase,
    example,
    given,
    settings as hypothesis_settings,
    strategies as st,
)

from tests.accessibility.pages import admin_pages, objects_from_matrix
from tests.forms_found import (
    CSRF_FIELD,
    find_admin_forms,
    find_forms,
    one_per_handler,
    shown_to_an_earlier_role,
    signed_in_client,
)
from tests.portal_map import (
    ROLES,
    build_world,
    fingerprint_differences,
    snapshot_differences,
    state_fingerprint,
    state_snapshot,
)
from tests.state_writes import StateWatch, rows_written

# (url name, role, object of side A filling its parameters), for forms not found otherwise.
EXTRA_FORM_PAGES: list[tuple[str, str, str | None]] = [
    # "Ask again with these answers" is offered on a withdrawn case.
    ("access_requests:case-detail", "staff", "closed_case"),
]

HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n\t\x0b\x0c",
    "\u202e\u200b\ufeff",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "' OR '1'='1' --",
    "'; DROP TABLE access_requests_businesscase; --",
    "%s%s%s%n",
    "{{ 7*7 }}{% debug %}",
    "../../../../etc/passwd",
    '=HYPERLINK("http://evil")',
    "-1",
    "0",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "2026-02-30",
    "31/12/9999",
    "true",
    "null",
    "[]",
    "{}",
    "😀" * 50,
    "ß" * 300,
    "x" * 5000,
    "y" * 200_000,
]

field_value = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=300),
    st.text(
        alphabet=st.characters(codec="utf-8", categories=["Cc", "Cs", "Co", "Zs"]), max_size=40
    ),
    st.integers().map(str),
    st.lists(st.sampled_from(HOSTILE[:12]), min_size=2, max_size=3),  # a field sent many times
)


def form_data(form):
    """A strategy of POST data for this form: each field missing, hostile, or a real option."""
    names = [name for name in form.fields if name != CSRF_FIELD]
    per_field = {}
    for name in names:
        options = [v for v in form.fields[name]["values"] if v]
        choices = [st.just(None), field_value]
        if options:
            choices.append(st.sampled_from(options))
        per_field[name] = st.one_of(*choices)
    extra = st.dictionaries(
        st.sampled_from(["id", "pk", "status", "requester", "is_staff"]), field_value, max_size=2
    )
    return st.tuples(st.fixed_dictionaries(per_field), extra).map(
        lambda pair: {k: v for k, v in {**pair[1], **pair[0]}.items() if v is not None}
    )


def accepted(response) -> bool:
    """A valid post redirects (POST/redirect/GET); anything else was refused."""
    return response.status_code in (301, 302, 303)


def lift_the_limits(settings):
    """The sign-in lock-out and the password-link page's limits would answer 429 before the
    forms saw the hostile values."""
    for name in (
        "AXES_FAILURE_LIMIT",
        "SNS_SIGNIN_ADDRESS_FAILURE_LIMIT",
        "SNS_SIGNIN_EMAIL_FAILURE_LIMIT",
        "SNS_PASSWORD_LINK_ADDRESS_LIMIT",
        "SNS_PASSWORD_LINK_EMAIL_LIMIT",
    ):
        setattr(settings, name, 100_000)


# One test per role: the forms of each role are fuzzed in a test of their own, so parallel
# workers share the suite's longest job. A form that an earlier role (in ROLES's order) also
# sees on the same page is fuzzed as that role only: the same view reads the same fields
# whoever signs in (the password-link form, starting a request, the register's filters), so
# every form is fuzzed once, as the first role that finds it.
@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_hostile_values_in_every_form_never_cause_a_server_error_or_save_anything(settings, role):
    lift_the_limits(settings)  # the fuzzing is not the lock-out's business here
    world = build_world()
    forms = find_forms(world, objects_from_matrix(), EXTRA_FORM_PAGES, roles=[role])
    assert forms, f"no form found for {role}"
    if role == "anonymous":
        assert any(form.page == "sign-in" for form in forms), [str(f) for f in forms]
    earlier, clients = ROLES[: ROLES.index(role)], {}
    own = [form for form in forms if not shown_to_an_earlier_role(world, form, earlier, clients)]
    failures = fuzz_every_form(world, own)
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_hostile_values_in_the_django_admins_forms_never_cause_a_server_error_or_save_anything(
    settings,
):
    """The admin's sign-in, its add and change forms (a user with the staff profile inline,
    the password form, business units, sites) and its changelist searches."""
    lift_the_limits(settings)
    world = build_world()
    forms = find_admin_forms(world, admin_pages(world))
    found = {(form.page, form.method) for form in forms}
    assert {
        ("admin:login", "post"),
        ("admin:people_user_add", "post"),
        ("admin:people_user_change", "post"),
        ("admin:auth_user_password_change", "post"),
        ("admin:access_requests_site_change", "post"),
        ("admin:audit_auditevent_changelist", "get"),
    } <= found, found
    failures = fuzz_every_form(world, forms, max_examples=10)
    assert not failures, "\n".join(failures)


def fuzz_every_form(world, forms, **options) -> list[str]:
    """Fuzz each form, carrying on after a failure: one line per form that fails."""
    clients, failures = {}, []
    for form in forms:
        client = clients.setdefault(form.role, signed_in_client(world, form.role))
        try:
            fuzz(form, client, **options)()
        except Exception as failure:  # noqa: BLE001 - carry on: report every form that fails
            failures.append(str(failure).split("\n")[0])
    return failures


def fuzz(form, client, phases=tuple(Phase), max_examples=10):
    """A hypothesis test posting to one form: each of the thirty HOSTILE values in every field
    at once, then `max_examples` generated mixes (each field missing, hostile, random or one
    of its offered values), the same ones on every run. The hostile values are the known
    attacks; the mixes reach past a form's first refusal, and ten per form do that for
    two fifths of the CPU of twenty-five (docs/testing.md)."""

    # Every example is rolled back, so the business tables stand as they are now before each
    # post: one fingerprint of them for the form, and another only after a post PostgreSQL says
    # wrote to them (rows_written), where a refused post that wrote may still have changed nothing.
    before = state_fingerprint()
    # The sign-in lock-out counts failures in rows (axes's AccessAttempt), so each example's
    # are rolled back with it: one reset for the form leaves every example a clean count.
    axes_reset()
    # PostgreSQL's counters only grow (a rolled-back write still counts), so what they said
    # after one example is where the next starts: one look per example, not two. A look
    # missed (an example that failed) only leaves the figure lower, which takes a fingerprint
    # it did not need, never misses a write.
    counters = {"written": rows_written()}

    @hypothesis_settings(
        phases=phases,
        max_examples=max_examples,
        derandomize=True,  # the same examples on every run: CI never fails by chance
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=form_data(form))
    def post_hostile_values(data):
        # Each example in its own savepoint, rolled back: examples do not see each other.
        with transaction.atomic():
            written = counters["written"]
            send = client.post if form.method == "post" else client.get
            response = send(form.action, data)
            assert response.status_code < 500, f"{form}: {response.status_code} for {data!r}"
            refused = form.method == "get" or not accepted(response)  # a GET changes nothing
            counters["written"] = now = rows_written()
            if refused and now != written:
                changed = fingerprint_differences(before, state_fingerprint())
                assert not changed, f"{form}: refused post saved {changed} for {data!r}"
            transaction.set_rollback(True)

    # Explicit examples first: every field of the form set to each hostile value in turn.
    names = [name for name in form.fields if name != CSRF_FIELD]
    for value in HOSTILE:
        post_hostile_values = example(data=dict.fromkeys(names, value))(post_hostile_values)
    return post_hostile_values


@pytest.mark.django_db
def test_every_form_refuses_a_post_without_its_csrf_token():
    world = build_world()
    # Django's CSRF check refuses before any view runs: one form of each view is enough.
    found = find_forms(world, objects_from_matrix(), EXTRA_FORM_PAGES)
    forms = [form for form in one_per_handler(found) if form.method == "post"]
    assert forms
    state = StateWatch(state_snapshot, snapshot_differences)
    clients = {}  # one sign-in per role: a refused post leaves the client as it was
    for form in forms:
        client = clients.get(form.role)
        if client is None:
            client = clients[form.role] = Client(enforce_csrf_checks=True)
            if world.user(form.role) is not None:
                client.force_login(world.user(form.role))
            state.changes()  # signing in is not the post's doing
        response = client.post(form.action, {name: "x" for name in form.fields})
        assert response.status_code == 403, str(form)
        assert not state.changes(), str(form)


# --- the fuzzing catches what it is for ------------------------------------------------------

BROKEN_FORM = (
    '<form method="post"><input name="purpose"><input name="copies">'
    '<button name="save" value="1">Save</button></form>'
)


def saves_before_validating(request):
    """Writes the answer, then says it was wrong: a refused post that saved something."""
    if request.method == "POST":
        request.user.business_cases.update(purpose=request.POST.get("purpose", "")[:3000])
        return HttpResponse(BROKEN_FORM + "<p>Enter a purpose</p>")
    return HttpResponse(BROKEN_FORM)


def trusts_its_input(request):
    """Turns a field into a number without checking it: a 500 on the first non-number."""
    if request.method == "POST":
        return HttpResponse(str(int(request.POST.get("copies", "1")) * 2))
    return HttpResponse(BROKEN_FORM)


class BrokenFormUrls:
    from portal.urls import urlpatterns as _portal

    urlpatterns = [
        *_portal,
        path("broken/saves/", saves_before_validating, name="saves-before-validating"),
        path("broken/trusts/", trusts_its_input, name="trusts-its-input"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "complaint"),
    [("saves-before-validating", "refused post saved"), ("trusts-its-input", ": 500 for")],
)
def test_the_fuzzing_fails_on_a_form_that_saves_refused_posts_or_crashes(
    settings, monkeypatch, page, complaint
):
    import sys

    monkeypatch.setitem(sys.modules, "tests_broken_form_urls", BrokenFormUrls)
    settings.ROOT_URLCONF = "tests_broken_form_urls"
    world = build_world()
    forms = [form for form in find_forms(world, roles=["staff"]) if form.page == page]
    assert len(forms) == 1
    client = signed_in_client(world, "staff")
    with pytest.raises(AssertionError, match=complaint):
        fuzz(forms[0], client, phases=[Phase.generate])()  # no shrinking: it is slow
