"""The shortcut where nobody can agree to the cost: a paying unit with no budget holder (and
none named on the case), or one who can no longer sign in, leaves the director's approval
covering the cost, and the case page and the register say so."""

import pytest
from django.urls import reverse

from access_requests.models import BusinessCase
from approvals.models import ApprovalRequest
from approvals.services import approval_decide
from approvals.tests.test_budget_holder import active_case, director_request
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("why", ["nobody named", "cannot sign in"])
def test_with_no_budget_holder_who_can_sign_in_the_director_s_approval_covers_the_cost(client, why):
    if why == "nobody named":
        case, director, _ = active_case(holder=False)
        BusinessCase.objects.filter(pk=case.pk).update(budget_holder=None)
    else:
        case, director, holder = active_case()
        holder.is_active = False
        holder.save()

    approval_decide(approval_request=director_request(case), decision="approve", actor=director)

    case.refresh_from_db()
    assert case.status == BusinessCase.Status.APPROVED
    assert not case.approval_requests.filter(stage=ApprovalRequest.Stage.BUDGET_HOLDER).exists()
    assert case.grant.cost_agreed_by is None
    unit = case.paying_business_unit
    said = f"{unit.name} has no budget holder in the staff directory, so"
    client.force_login(case.requester)
    page = client.get(reverse("access_requests:case-detail", args=[case.pk])).content.decode()
    assert said in page and "approval covers the cost" in page
    client.force_login(UserFactory(role=Role.AUDITOR))
    register = client.get(reverse("oversight:register"))
    (row,) = register.context["page"].rows
    assert row.cost_agreed.startswith("Counted as the director’s approval (no budget holder named)")
