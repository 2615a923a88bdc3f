"""The register's holder search follows people's names and emails however they change.

On PostgreSQL the search reads each person's search text (people migration 0003), which
database triggers keep: these tests change people the ways the portal, the admin, the
staff directory import and a bulk update do, and search the register as an auditor would.
"""

import pytest
from django.db import connection
from django.urls import reverse

from access_requests.models import AccessGrant
from people.models import StaffProfile, User

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
