"""What a walk-through of every role found on the pages themselves (issue: the service as
people meet it, item 8)."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from access_requests.tests.factories import BusinessCaseFactory, SiteFactory
from people.models import Role
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def current_nav_items(html: str) -> list[str]:
    return re.findall(r'aria-current="page">\s*<strong[^>]*>([^<]+)</strong>', html)


def test_only_provisioning_is_current_on_the_provisioning_queue(client):
    ict = UserFactory(role=Role.ICT)
    client.force_login(ict)
    html = client.get(reverse("access_requests:provisioning-queue")).content.decode()
    assert current_nav_items(html) == ["Provisioning"]
    staff = UserFactory(role=Role.STAFF)
    client.force_login(staff)
    html = client.get(reverse("access_requests:case-list")).content.decode()
    assert current_nav_items(html) == ["Your requests"]


def test_signing_out_says_so(client):
    client.force_login(UserFactory())
    response = client.post(reverse("sign-out"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("sign-in")
    assert "You have signed out" in response.content.decode()


def test_check_your_answers_speaks_in_the_requesters_voice(client):
    staff = UserFactory()
    case = BusinessCaseFactory(requester=staff, sites=[SiteFactory(name="LinkedIn")])
    client.force_login(staff)
    html = client.get(reverse("access_requests:case-check", args=[case.pk])).content.decode()
    assert "I will identify myself as a Home Office official" in html
    assert "Says they are" not in html


def test_the_guidance_links_to_asking_for_access_not_to_related_links_that_do_not_exist(client):
    client.force_login(UserFactory())
    html = client.get(reverse("guidance")).content.decode()
    assert "Related Links" not in html
    assert f'href="{reverse("access_requests:case-start")}"' in html


def test_the_start_date_example_is_a_date_still_to_come(client):
    staff = UserFactory()
    case = BusinessCaseFactory(requester=staff, sites=[SiteFactory()])
    client.force_login(staff)
    html = client.get(reverse("access_requests:case-dates", args=[case.pk])).content.decode()
    day, month, year = map(int, re.search(r"For example, (\d+) (\d+) (\d{4})", html).groups())
    assert datetime.date(year, month, day) > timezone.localdate()


def test_a_register_reference_does_not_wrap(client):
    from oversight.tests.factories import grant_held

    grant_held()
    client.force_login(UserFactory(role=Role.AUDITOR))
    html = client.get(reverse("oversight:register")).content.decode()
    assert '<a class="govuk-link portal-nowrap"' in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sign_out_does_not_overlap_the_success_banner(browser, live_server):
    from tests.accessibility.browser import new_context

    staff = UserFactory()
    case = BusinessCaseFactory(requester=staff)
    context = new_context(browser, live_server, staff, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(reverse("access_requests:case-delete", args=[case.pk]))
    page.locator("main button[type=submit], main .govuk-button").first.click()
    page.wait_for_load_state()
    banner = page.locator(".govuk-notification-banner--success").bounding_box()
    button = page.locator(".portal-sign-out button").bounding_box()
    context.close()
    assert banner and button
    overlap_x = (
        banner["x"] < button["x"] + button["width"] and button["x"] < banner["x"] + banner["width"]
    )
    overlap_y = (
        banner["y"] < button["y"] + button["height"]
        and button["y"] < banner["y"] + banner["height"]
    )
    assert not (overlap_x and overlap_y)
