"""The register's holder search follows people's names and emails however they change.

On PostgreSQL the search reads each person's search text (people migration 0003), which
database triggers keep: these tests change people the ways the portal, the admin, the
staff directory import and a bulk update do, and search the register as an auditor would.
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from access_requests.models import AccessGrant
from access_requests.tests.factories import AccessGrantFactory
from audit.models import AuditEvent
from people.models import StaffProfile, User
from people.staff_csv import STAFF_CSV_COLUMNS
from people.tests.factories import BusinessUnitFactory

from .factories import grant_held
from .test_register import references_on_page

pytestmark = pytest.mark.django_db


def found(client, text: str) -> list[str]:
    return references_on_page(client.get(reverse("oversight:register"), {"q": text}))


def test_a_renamed_person_is_found_by_their_new_name_only(client, auditor):
    grant = grant_held(name="Morgan Featherstone")
    profile = grant.holder.profile
    profile.commonly_used_name = "Morgan Ashdown"
    profile.save()

    assert found(client, "ashdown") == [grant.business_case.reference]
    assert found(client, "featherstone") == []


def test_a_bulk_rename_and_a_new_email_are_found_too(client, auditor):
    grant = grant_held(name="Robin Quill", email="robin.quill@example.gov.uk")
    StaffProfile.objects.filter(user=grant.holder).update(commonly_used_name="Robin Inkwell")
    User.objects.filter(pk=grant.holder_id).update(email="r.inkwell@example.gov.uk")

    assert found(client, "inkwell") == [grant.business_case.reference]
    assert found(client, "r.inkwell@") == [grant.business_case.reference]
    assert found(client, "quill") == []


def test_without_a_profile_a_person_is_still_found_by_email(client, auditor):
    grant = grant_held(name="Sasha Bellweather", email="sasha.b@example.gov.uk")
    StaffProfile.objects.filter(user=grant.holder).delete()

    assert found(client, "bellweather") == []
    assert found(client, "sasha.b@") == [grant.business_case.reference]


def test_a_search_does_not_run_across_the_email_into_the_name(client, auditor):
    grant_held(name="Lee Stone", email="lee.stone@example.gov.uk")

    assert found(client, "gov.uk lee") == []
    assert found(client, "uklee") == []


def test_a_person_with_a_profile_can_be_deleted():
    grant = grant_held(name="Jo Leaver")
    holder = grant.holder
    AccessGrant.objects.filter(pk=grant.pk).delete()
    grant.business_case.delete()

    holder.delete()
    # Django's foreign keys are checked at commit: check them now.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    assert not User.objects.filter(pk=holder.pk).exists()


def directory_import(tmp_path, rows: list[str], *args) -> None:
    path = tmp_path / "staff.csv"
    path.write_text(",".join(STAFF_CSV_COLUMNS) + "\n" + "".join(rows), encoding="utf-8")
    call_command("import_staff", str(path), *args, verbosity=0)


IMPORTED = [
    "pat.ormerod@directory.example.gov.uk,Pat Ormerod,Analyst,Org,Policy,Unit A,CC1,director\n",
    "quinn.l@directory.example.gov.uk,Quinn Larkspur,Analyst,Org,Policy,Unit A,CC1,staff\n",
    "rene.thistle@directory.example.gov.uk,René Thistle,,Org,Policy,Unit B,CC2,ict\n",
]


def test_people_the_directory_import_creates_are_found_and_each_has_its_event(
    client, auditor, tmp_path
):
    directory_import(tmp_path, IMPORTED)
    quinn = User.objects.get(email="quinn.l@directory.example.gov.uk")
    grant = AccessGrantFactory(business_case__requester=quinn, provisioned=True)

    assert found(client, "larkspur") == [grant.business_case.reference]
    assert found(client, "quinn.l") == [grant.business_case.reference]
    imported = User.objects.filter(email__endswith="@directory.example.gov.uk")
    events = AuditEvent.objects.filter(action="people.staff_created")
    assert sorted(events.values_list("object_id", "object_repr")) == sorted(
        (str(person.pk), person.email) for person in imported
    )


def test_a_person_the_directory_import_renames_is_found_by_their_new_name_only(
    client, auditor, tmp_path
):
    directory_import(tmp_path, IMPORTED)
    quinn = User.objects.get(email="quinn.l@directory.example.gov.uk")
    grant = AccessGrantFactory(business_case__requester=quinn, provisioned=True)

    renamed = [IMPORTED[0], IMPORTED[1].replace("Quinn Larkspur", "Quinn Foxglove"), IMPORTED[2]]
    directory_import(tmp_path, renamed)

    assert found(client, "foxglove") == [grant.business_case.reference]
    assert found(client, "larkspur") == []


def test_people_and_profiles_inserted_in_bulk_are_found(client, auditor):
    unit = BusinessUnitFactory()
    people = User.objects.bulk_create(
        [User(email=f"bulk.{n}@example.gov.uk") for n in range(3)]
        + [User(email="ash.bramble@example.gov.uk")]
    )
    StaffProfile.objects.bulk_create(
        [
            StaffProfile(user=person, commonly_used_name=f"Bulk Person {n}", business_unit=unit)
            for n, person in enumerate(people[:3])
        ]
    )
    grant = AccessGrantFactory(business_case__requester=people[1], provisioned=True)
    without_profile = AccessGrantFactory(business_case__requester=people[3], provisioned=True)

    assert found(client, "bulk person 1") == [grant.business_case.reference]
    assert found(client, "ash.bramble") == [without_profile.business_case.reference]
