"""Delegations named before they had a scope are given one by migration 0008: deciding
cases where the giver decides cases, unless the giver holds a budget and the deputy could
not have been named by someone who decides cases (a budget holder's deputy, since become a
director's); every other one was a budget holder's, and agrees to costs only."""

import importlib

import pytest
from django.apps import apps

from approvals.models import Delegation
from approvals.tests.factories import DelegationFactory, requester_and_director
from people.models import Role
from people.tests.factories import BusinessUnitFactory, UserFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("approvals.migrations.0008_delegation_scope")


def budget_holder():
    holder = UserFactory()
    BusinessUnitFactory(budget_holder=holder)
    return holder


def test_existing_delegations_are_scoped_by_who_gave_them_and_to_whom():
    _, director = requester_and_director()
    directors = DelegationFactory(director=director, deputy=UserFactory(role=Role.DEPUTY))
    # A director's plain deputy, named before the deputy rules.
    _, other_director = requester_and_director()
    directors_plain = DelegationFactory(director=other_director, deputy=UserFactory())
    holders_staff = DelegationFactory(director=budget_holder(), deputy=UserFactory())
    holders_deputy = DelegationFactory(
        director=budget_holder(), deputy=UserFactory(role=Role.DEPUTY)
    )
    # A budget holder's plain deputy, the budget holder a director since.
    holder_now_director = budget_holder()
    requester, _ = requester_and_director()
    directorate = requester.profile.business_unit.directorate
    directorate.director = holder_now_director
    directorate.save()
    promoted = DelegationFactory(director=holder_now_director, deputy=UserFactory())
    Delegation.objects.update(scope=Delegation.Scope.COSTS)

    migration.scope_existing_delegations(apps, None)

    scopes = dict(Delegation.objects.values_list("pk", "scope"))
    assert scopes == {
        directors.pk: Delegation.Scope.CASES,
        directors_plain.pk: Delegation.Scope.CASES,
        holders_staff.pk: Delegation.Scope.COSTS,
        holders_deputy.pk: Delegation.Scope.COSTS,
        promoted.pk: Delegation.Scope.COSTS,
    }
