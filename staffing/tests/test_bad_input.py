"""A directory file with a row that cannot be applied stops at that row's line and
changes nothing, with or without --full."""

import pytest
from django.core.management import CommandError
from django.db import IntegrityError

from people.models import User
from people.tests.factories import UserFactory

from .helpers import HEADER, directory_file, import_staff
from .test_full_import import state

pytestmark = pytest.mark.django_db

GOOD = "ok@example.gov.uk,Ok Person,Officer,HQ,Policy,Unit,CC1,staff\n"


@pytest.mark.parametrize("full", [[], ["--full"]])
@pytest.mark.parametrize(
    ("rows", "line", "complaint"),
    [
        (
            GOOD + "x@example.gov.uk,X,Y,HQ,Policy,Unit,CC1,wizard\n",
            3,
            "role 'wizard' is not one of",
        ),
        (
            "Bob@example.gov.uk,Bob,Y,HQ,Policy,Unit,CC1,staff\n"
            + GOOD
            + "bob@example.gov.uk,Bob Again,Y,HQ,Policy,Unit,CC1,staff\n",
            4,
            "bob@example.gov.uk appears twice (first on line 2)",
        ),
        (
            "d1@example.gov.uk,D1,Y,HQ,Policy,Unit,CC1,director\n"
            + GOOD
            + "d2@example.gov.uk,D2,Y,HQ,Policy,Unit,CC1,director\n",
            4,
            "Policy already has a director in this file (d1@example.gov.uk on line 2)",
        ),
    ],
)
def test_a_bad_row_stops_with_its_line_and_changes_nothing(tmp_path, full, rows, line, complaint):
    UserFactory(email="someone@example.gov.uk")
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + rows)
    before = state()
    with pytest.raises(CommandError) as error:
        import_staff(path, *full)
    assert f"line {line}: {complaint}" in str(error.value)
    assert "Nothing was changed" in str(error.value)
    assert state() == before


def test_a_mover_into_a_directorate_nobody_knows_is_refused(tmp_path):
    person = UserFactory()
    path = directory_file(
        tmp_path,
        changes={
            person: {"directorate": "Finanse", "business_unit": "Ledgers", "cost_centre": "CC7777"}
        },
    )
    before = state()
    with pytest.raises(CommandError) as error:
        import_staff(path, "--full")
    assert f"line 2: {person.email} moves to Finanse, which is not in the staff directory" in str(
        error.value
    )
    assert state() == before


def test_an_email_differing_only_in_case_is_the_same_person(tmp_path, capsys):
    person = UserFactory(email="bob@example.gov.uk")
    path = directory_file(tmp_path, changes={person: {"email": "Bob@Example.gov.uk"}})
    out = import_staff(path, "--full", capsys=capsys)
    assert "0 created, 0 updated, 1 unchanged" in out and "0 switched off" in out


def test_the_database_refuses_an_email_differing_only_in_case():
    UserFactory(email="bob@example.gov.uk")
    with pytest.raises(IntegrityError):
        User.objects.bulk_create([User(email="Bob@example.gov.uk", password="!")])
