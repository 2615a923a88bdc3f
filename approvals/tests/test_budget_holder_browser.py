import pytest
from playwright.sync_api import expect

from access_requests.models import AccessGrant
from approvals.tests.factories import LINK_PATTERN, requester_and_director, submitted_case
from people.tests.factories import UserFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_director_approves_then_the_budget_holder_agrees_from_their_link(
    live_server, page, mailoutbox, settings
):
    settings.PORTAL_BASE_URL = live_server.url
    settings.SNS_STANDALONE_PC_YEARLY_COST = 1200
    requester, director = requester_and_director(profile__name="Sam Staff")
    unit = requester.profile.business_unit
    holder = UserFactory(profile__business_unit=unit, profile__name="Bea Budget")
    unit.budget_holder = holder
    unit.save()
    case = submitted_case(requester=requester, active=True, budget_holder=holder)

    [email] = [m for m in mailoutbox if m.to == [director.email]]
    page.goto(LINK_PATTERN.search(email.body)[1])
    page.get_by_label("Approve").check()
    page.get_by_role("button", name="Send decision").click()
    expect(page.get_by_text("We have asked the budget holder")).to_be_visible()

    [email] = [m for m in mailoutbox if m.to == [holder.email] and "Agree to" in m.subject]
    assert "£1,200 a year" in email.body
    page.goto(LINK_PATTERN.search(email.body)[1])
    expect(page.get_by_role("heading", level=1)).to_contain_text("pay for Sam Staff")
    expect(page.get_by_text("£1,200 a year")).to_be_visible()
    expect(page.get_by_text(unit.cost_centre, exact=False).first).to_be_visible()
    page.get_by_role("button", name="Send answer").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select whether you agree to pay")
    page.get_by_label("Agree to pay").check()
    page.get_by_role("button", name="Send answer").click()
    expect(page.get_by_role("heading", name="Case approved")).to_be_visible()
    grant = AccessGrant.objects.get(business_case=case)
    assert grant.status == AccessGrant.Status.AWAITING_PROVISIONING
    assert grant.cost_agreed_by == holder
