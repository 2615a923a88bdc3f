"""The staff journey through the test client: draft save and resume, change links,
sending once under a double post, confirmation."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessTier, BusinessCase
from access_requests.tests.factories import SiteFactory, requester_with_director
from audit.models import AuditEvent


def date_fields(prefix: str, day: datetime.date) -> dict:
    return {
        f"{prefix}_0": str(day.day),
        f"{prefix}_1": str(day.month),
        f"{prefix}_2": str(day.year),
    }


def start_draft(client) -> BusinessCase:
    response = client.post(reverse("access_requests:case-start"))
    case = BusinessCase.objects.latest("id")
    assert response.url == reverse("access_requests:case-sites", kwargs={"pk": case.pk})
    return case


def url(name, case, **kwargs):
    return reverse(f"access_requests:{name}", kwargs={"pk": case.pk, **kwargs})


@pytest.fixture
def sites(db):
    return [
        SiteFactory(name="LinkedIn"),
        SiteFactory(name="YouTube", allows_shared_display_names=True),
    ]


@pytest.fixture
def person(db):
    return requester_with_director(profile__name="Sam Taylor", profile__job_title="Press Officer")


def fill_passive_case(client, case, sites, today):
    steps = [
        ("case-sites", {"sites": [str(s.pk) for s in sites]}),
        ("case-tier", {"tier": "passive"}),
        (
            "case-need",
            {
                "purpose": "Follow public debate on visas.",
                "audience": "The public.",
                "integration": "Feeds the weekly plan.",
            },
        ),
        (
            "case-dates",
            {
                **date_fields("start_date", today),
                **date_fields("end_date", today + datetime.timedelta(days=60)),
            },
        ),
    ]
    for name, data in steps:
        response = client.post(url(name, case), data)
        assert response.status_code == 302, (name, response.content.decode()[:3000])
    for site in sites:
        response = client.post(
            url("case-identity", case, site_pk=site.pk),
            {"display_name": "Sam Taylor", "uses_pseudonym": "no", "identifies_as_official": "yes"},
        )
        assert response.status_code == 302
    response = client.post(
        url("case-declarations", case),
        {
            "declared_read_guidance": "on",
            "declared_civil_service_code": "on",
            "declared_no_protected_information": "on",
            "declared_media_to_press_office": "on",
            "declared_separate_identities": "on",
        },
    )
    assert response.url == url("case-check", case)


@pytest.mark.django_db
def test_every_page_of_the_journey_renders_and_leads_to_the_next(client, person, sites):
    client.force_login(person)
    assert "Start now" in client.get(reverse("access_requests:case-start")).content.decode()
    case = start_draft(client)
    for name in ["case-sites", "case-tier", "case-need", "case-dates", "case-declarations"]:
        response = client.get(url(name, case))
        assert response.status_code == 200, name
    response = client.post(url("case-sites", case), {"sites": [str(sites[0].pk)]})
    assert response.url == url("case-tier", case)
    response = client.post(url("case-tier", case), {"tier": "active"})
    assert response.url == url("case-standalone-pc", case)
    page = client.get(url("case-standalone-pc", case)).content.decode()
    # The requester's own business unit is chosen, with its cost centre shown.
    unit = person.profile.business_unit
    assert f'value="{unit.pk}" selected' in page
    assert unit.cost_centre in page
    response = client.get(url("case-identity", case, site_pk=sites[0].pk))
    html = response.content.decode()
    assert 'value="Sam Taylor"' in html  # the commonly used name by default
    assert "Press Officer" in html
    assert "govuk-radios__conditional" in html


@pytest.mark.django_db
def test_each_answer_is_saved_as_a_draft_and_the_draft_resumes_from_your_requests(
    client, person, sites
):
    client.force_login(person)
    case = start_draft(client)
    client.post(url("case-sites", case), {"sites": [str(sites[0].pk)]})
    client.post(url("case-tier", case), {"tier": "passive"})
    # The browser closes; later the person comes back through "Your requests".
    client.logout()
    client.force_login(person)
    listing = client.get(reverse("access_requests:case-list")).content.decode()
    assert "Draft" in listing and "LinkedIn" in listing and "Passive monitoring" in listing
    response = client.get(url("case-continue", case))
    assert response.url == url("case-need", case)
    assert 'value="passive"\n    \n    \n      checked' in client.get(
        url("case-tier", case)
    ).content.decode() or ("checked" in client.get(url("case-tier", case)).content.decode())
    case.refresh_from_db()
    assert case.tier == AccessTier.PASSIVE
    assert AuditEvent.objects.filter(action="case.answers_saved", object_id=str(case.pk)).exists()


@pytest.mark.django_db
def test_check_answers_accept_and_send_gives_a_reference_and_a_double_post_sends_once(
    client, person, sites
):
    client.force_login(person)
    case = start_draft(client)
    fill_passive_case(client, case, sites, timezone.localdate())
    check = client.get(url("case-check", case))
    html = check.content.decode()
    assert "Check your answers before sending your request" in html
    assert f"{url('case-need', case)}?change=1" in html
    seen = check.context["form"]["answers_seen"].value()
    first = client.post(url("case-check", case), {"answers_seen": seen})
    assert first.url == url("case-confirmation", case)
    second = client.post(url("case-check", case), {"answers_seen": seen})
    assert second.status_code == 302
    assert second.url == url("case-detail", case)  # shows the case, not an error
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED
    assert case.reference.startswith(f"SNS-{timezone.localdate().year}-")
    assert AuditEvent.objects.filter(action="case.submitted", object_id=str(case.pk)).count() == 1
    confirmation = client.get(url("case-confirmation", case)).content.decode()
    assert "govuk-panel--confirmation" in confirmation
    assert case.reference in confirmation
    assert "What happens next" in confirmation


@pytest.mark.django_db
def test_a_change_link_comes_back_to_check_answers(client, person, sites):
    client.force_login(person)
    case = start_draft(client)
    fill_passive_case(client, case, sites[:1], timezone.localdate())
    response = client.post(
        url("case-need", case) + "?change=1",
        {"purpose": "Something new.", "audience": "The public.", "integration": "The plan."},
    )
    assert response.url == url("case-check", case)
    # Adding a site opens its identity page before coming back.
    response = client.post(
        url("case-sites", case) + "?change=1", {"sites": [str(s.pk) for s in sites]}
    )
    assert response.url == url("case-identity", case, site_pk=sites[1].pk) + "?change=1"
    response = client.post(
        response.url,
        {"display_name": "Sam Taylor", "uses_pseudonym": "no", "identifies_as_official": "yes"},
    )
    assert response.url == url("case-check", case)
    # Switching to active participation asks who pays for the PC.
    response = client.post(url("case-tier", case) + "?change=1", {"tier": "active"})
    assert response.url == url("case-standalone-pc", case) + "?change=1"


@pytest.mark.django_db
# At noon: a run that crosses midnight between filling and resuming would see "today" move.
@time_machine.travel(datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.UTC), tick=False)
def test_a_draft_whose_start_date_has_passed_resumes_at_the_dates_page(client, person, sites):
    client.force_login(person)
    case = start_draft(client)
    today = timezone.localdate()
    fill_passive_case(client, case, sites, today)
    assert client.get(url("case-continue", case)).url == url("case-check", case)
    # A week later the draft is resumed: its start date is now in the past.
    BusinessCase.objects.filter(pk=case.pk).update(
        start_date=today - datetime.timedelta(days=7),
        end_date=today + datetime.timedelta(days=30),
    )
    assert client.get(url("case-continue", case)).url == url("case-dates", case)
