"""The home page greets the person by the name every page uses for them and names the
business units whose standalone PCs' cost they agree to, A to Z, read in one query."""

import pytest
from django.urls import reverse

from people.models import StaffProfile
from people.tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_greeting_uses_the_commonly_used_name_and_lists_the_budgets_held(client):
    person = UserFactory(first_name="Robert", last_name="Jones", profile__name="Bob Jones")
    BusinessUnitFactory(name="Press Office", budget_holder=person)
    BusinessUnitFactory(name="Digital", budget_holder=person)
    BusinessUnitFactory(name="Another Holder's Unit", budget_holder=UserFactory())
    client.force_login(person)
    text = client.get(reverse("home")).content.decode()
    assert "Hello, Bob Jones." in text
    assert "You agree to the cost of standalone PCs for Digital, Press Office." in text


@pytest.mark.parametrize("profile", ["none", "blank name"])
def test_without_a_commonly_used_name_the_greeting_uses_the_full_name(client, profile):
    person = UserFactory(first_name="Robert", last_name="Jones")
    if profile == "none":
        StaffProfile.objects.filter(user=person).delete()
    else:
        StaffProfile.objects.filter(user=person).update(commonly_used_name="")
    client.force_login(person)
    text = client.get(reverse("home")).content.decode()
    assert "Hello, Robert Jones." in text
    assert "You agree to the cost" not in text
