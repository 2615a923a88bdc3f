"""Every rule of the question pages: a GOV.UK error summary and a message beside the field,
what was typed kept, and never a 500 for tampered input."""

import datetime
import re

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils.html import escape

from access_requests.models import BusinessCase
from access_requests.services import business_cases as services
from access_requests.tests.factories import BusinessCaseFactory, SiteFactory
from people.models import Role, User
from people.tests.factories import UserFactory

TODAY = datetime.date(2026, 3, 10)


def date_fields(prefix, day, month, year):
    return {f"{prefix}_0": str(day), f"{prefix}_1": str(month), f"{prefix}_2": str(year)}


@pytest.fixture
def person(db):
    return UserFactory(profile__name="Sam Taylor")


@pytest.fixture
def draft(person):
    return services.business_case_start(requester=person)


@pytest.fixture
def signed_in(client, person):
    client.force_login(person)
    return client


def url(name, case, **kwargs):
    return reverse(f"access_requests:{name}", kwargs={"pk": case.pk, **kwargs})


def assert_rejected(response, message, *, beside_field=True):
    html = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in html
    assert "<title>Error: " in html
    assert escape(message) in html, html[:200]
    if beside_field:
        assert html.count(escape(message)) >= 2, "shown in the summary and beside the field"
        assert "govuk-error-message" in html
    return html


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "Select at least one site"),
        ({"sites": ["999999"]}, "Select sites from the list"),
        ({"sites": ["not-a-number"]}, "Select sites from the list"),
    ],
)
def test_sites_must_be_chosen_from_the_catalogue(signed_in, draft, data, message):
    SiteFactory(name="LinkedIn")
    assert_rejected(signed_in.post(url("case-sites", draft), data), message)
    assert not draft.site_identities.exists()


def test_a_switched_off_site_cannot_be_chosen(signed_in, draft):
    hidden = SiteFactory(name="Bebo", is_active=False)
    assert_rejected(
        signed_in.post(url("case-sites", draft), {"sites": [str(hidden.pk)]}),
        "Select sites from the list",
    )


@pytest.mark.parametrize("value", [None, "superuser"])
def test_the_tier_must_be_one_of_the_two(signed_in, draft, value):
    data = {} if value is None else {"tier": value}
    assert_rejected(
        signed_in.post(url("case-tier", draft), data),
        "Select passive monitoring or active participation",
    )


@pytest.fixture
def active_draft(signed_in, draft):
    services.business_case_save_answers(
        case=draft, actor=draft.requester, answers={"tier": "active"}
    )
    return draft


@pytest.fixture
def budget_holder(person):
    return UserFactory(
        profile__business_unit=person.profile.business_unit,
        profile__name="Jo Budget",
        email="jo.budget@example.gov.uk",
    )


def test_active_tier_needs_a_paying_business_unit(signed_in, active_draft):
    html = assert_rejected(
        signed_in.post(
            url("case-standalone-pc", active_draft),
            {
                "paying_business_unit": "999999",
                "budget_holder_email": "jo.budget@example.gov.uk",
                "pc_choice": "new",
            },
        ),
        "Select a business unit from the list",
    )
    assert 'value="jo.budget@example.gov.uk"' in html  # what was typed stays


def test_active_tier_needs_a_cost_centre_and_budget_holder(signed_in, active_draft):
    response = signed_in.post(url("case-standalone-pc", active_draft), {"paying_business_unit": ""})
    assert_rejected(response, "Select the business unit that will pay for the standalone PC")
    assert_rejected(response, "Enter the budget holder's email address")
    assert_rejected(response, "Select whether you will use an existing standalone PC")


def test_an_existing_pc_needs_its_asset_tag(signed_in, active_draft, person, budget_holder):
    unit = person.profile.business_unit
    response = signed_in.post(
        url("case-standalone-pc", active_draft),
        {
            "paying_business_unit": str(unit.pk),
            "budget_holder_email": budget_holder.email,
            "pc_choice": "existing",
        },
    )
    assert_rejected(response, "Enter the asset tag of the standalone PC")
    response = signed_in.post(
        url("case-standalone-pc", active_draft),
        {
            "paying_business_unit": str(unit.pk),
            "budget_holder_email": budget_holder.email,
            "pc_choice": "existing",
            "pc_asset_tag": "HO-12345",
        },
    )
    assert response.status_code == 302
    active_draft.refresh_from_db()
    assert active_draft.pc_asset_tag == "HO-12345"
    assert active_draft.paying_business_unit == unit


def test_the_standalone_pc_page_is_only_for_the_active_tier(signed_in, draft):
    response = signed_in.get(url("case-standalone-pc", draft))
    assert response.url == url("case-tier", draft)


@pytest.mark.parametrize(
    "field, limit, message",
    [
        ("purpose", 3000, "What you will do must be 3000 characters or fewer"),
        ("audience", 1500, "Who you will engage with must be 1500 characters or fewer"),
        (
            "integration",
            1500,
            "How it supports other communications must be 1500 characters or fewer",
        ),
    ],
)
def test_the_business_need_has_limits(signed_in, draft, field, limit, message):
    data = {"purpose": "Why.", "audience": "Who.", "integration": "How."}
    data[field] = "x" * (limit + 1)
    html = assert_rejected(signed_in.post(url("case-need", draft), data), message)
    assert "x" * (limit + 1) in html
    assert f'data-maxlength="{limit}"' in html  # the GOV.UK character count


def test_the_business_need_is_required(signed_in, draft):
    response = signed_in.post(url("case-need", draft), {"purpose": "  "})
    assert_rejected(response, "Enter what you will do on the sites and why")
    assert_rejected(response, "Enter who you will engage with")
    assert_rejected(response, "Enter how it supports other communications")


@time_machine.travel(datetime.datetime(2026, 3, 10, 12, 0), tick=False)
@pytest.mark.parametrize(
    "tier, start, end, field_message",
    [
        ("passive", (31, 2, 2026), (1, 4, 2026), "Start date must be a real date"),
        ("passive", (10, 3, 2026), (32, 13, 2026), "End date must be a real date"),
        ("passive", ("x", 3, 2026), (1, 4, 2026), "Start date must be a real date"),
        ("passive", (10, 3, ""), (1, 4, 2026), "Start date must include a year"),
        ("passive", (10, 3, 26), (1, 4, 2026), "Start date must include a year with 4 numbers"),
        ("passive", ("", "", ""), (1, 4, 2026), "Enter the start date"),
        (
            "passive",
            (1, 4, 2026),
            (31, 3, 2026),
            "The end date must be the same as or after the start date",
        ),
        ("passive", (1, 3, 2026), (1, 4, 2026), "The start date must be today or in the future"),
        ("passive", (1, 1, 2026), (1, 2, 2026), "The end date must be today or in the future"),
        (
            "passive",
            (10, 3, 2026),
            (11, 3, 2027),
            "The end date must be no more than 12 months after the start date for passive monitoring (on or before 10 March 2027)",
        ),
        (
            "active",
            (10, 3, 2026),
            (11, 9, 2026),
            "The end date must be no more than 6 months after the start date for active participation (on or before 10 September 2026)",
        ),
    ],
)
def test_date_rules(signed_in, draft, tier, start, end, field_message):
    draft.tier = tier
    draft.save()
    data = {**date_fields("start_date", *start), **date_fields("end_date", *end)}
    html = assert_rejected(signed_in.post(url("case-dates", draft), data), field_message)
    assert f'value="{end[0]}"' in html  # typed values stay
    draft.refresh_from_db()
    assert draft.end_date is None


@time_machine.travel(datetime.datetime(2026, 3, 10, 12, 0), tick=False)
@override_settings(SNS_MAX_MONTHS_PASSIVE=3)
def test_the_longest_period_comes_from_settings(signed_in, draft):
    draft.tier = "passive"
    draft.save()
    data = {**date_fields("start_date", 10, 3, 2026), **date_fields("end_date", 11, 6, 2026)}
    assert_rejected(
        signed_in.post(url("case-dates", draft), data),
        "The end date must be no more than 3 months after the start date",
    )
    data = {**date_fields("start_date", 10, 3, 2026), **date_fields("end_date", 10, 6, 2026)}
    assert signed_in.post(url("case-dates", draft), data).status_code == 302


@pytest.fixture
def draft_with_site(draft):
    site = SiteFactory(name="X (formerly Twitter)", allows_shared_display_names=False)
    services.business_case_set_sites(case=draft, actor=draft.requester, sites=[site])
    return draft, site


def test_a_pseudonym_needs_a_reason(signed_in, draft_with_site):
    case, site = draft_with_site
    response = signed_in.post(
        url("case-identity", case, site_pk=site.pk),
        {"display_name": "Policy Fox", "uses_pseudonym": "yes", "identifies_as_official": "yes"},
    )
    html = assert_rejected(response, "Enter why you need to use a pseudonym")
    assert 'value="Policy Fox"' in html


def test_not_identifying_as_an_official_needs_a_reason(signed_in, draft_with_site):
    case, site = draft_with_site
    response = signed_in.post(
        url("case-identity", case, site_pk=site.pk),
        {"display_name": "Sam Taylor", "uses_pseudonym": "no", "identifies_as_official": "no"},
    )
    assert_rejected(response, "Enter why you will not say you are a department official")


def test_identity_answers_are_required_and_limited(signed_in, draft_with_site):
    case, site = draft_with_site
    response = signed_in.post(
        url("case-identity", case, site_pk=site.pk),
        {"display_name": "", "uses_pseudonym": "perhaps", "identifies_as_official": ""},
    )
    assert_rejected(response, "Enter the name you will use on X (formerly Twitter)")
    assert_rejected(response, "Select yes if the name is a pseudonym")
    assert_rejected(response, "Select yes if you will say you are a department official")
    response = signed_in.post(
        url("case-identity", case, site_pk=site.pk),
        {
            "display_name": "n" * 101,
            "uses_pseudonym": "yes",
            "pseudonym_reason": "r" * 1001,
            "identifies_as_official": "yes",
        },
    )
    assert_rejected(response, "The name must be 100 characters or fewer")
    assert_rejected(response, "The reason for a pseudonym must be 1000 characters or fewer")


def test_without_javascript_a_reason_given_then_not_needed_is_not_kept(signed_in, draft_with_site):
    case, site = draft_with_site
    response = signed_in.post(
        url("case-identity", case, site_pk=site.pk),
        {
            "display_name": "Sam Taylor",
            "uses_pseudonym": "no",
            "pseudonym_reason": "typed before changing my mind",
            "identifies_as_official": "yes",
            "not_official_reason": "also typed",
        },
    )
    assert response.status_code == 302
    identity = case.site_identities.get()
    assert identity.pseudonym_reason == "" and identity.not_official_reason == ""


def test_a_site_not_in_the_case_has_no_identity_page(signed_in, draft_with_site):
    case, _ = draft_with_site
    other = SiteFactory(name="Reddit")
    assert signed_in.get(url("case-identity", case, site_pk=other.pk)).status_code == 404


def test_every_declaration_must_be_ticked(signed_in, draft):
    data = {
        "declared_read_guidance": "on",
        "declared_civil_service_code": "on",
        "declared_no_protected_information": "on",
        "declared_media_to_press_office": "on",
    }
    html = assert_rejected(
        signed_in.post(url("case-declarations", draft), data),
        "Confirm that you will keep your identities separate and your personal details private",
    )
    assert 'href="/guidance/"' in html
    assert html.count("checked") >= 4  # the ticks already given stay


def test_a_tampered_hidden_field_on_check_answers_is_a_form_error(signed_in, person):
    case = BusinessCaseFactory(requester=person)
    response = signed_in.post(url("case-check", case), {"answers_seen": "<tampered>" * 20})
    assert_rejected(
        response,
        "Your answers have changed since this page was shown: check them again, then accept and send",
        beside_field=False,
    )
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.DRAFT


def test_sending_an_incomplete_case_lists_what_is_missing(signed_in, draft):
    check = signed_in.get(url("case-check", draft))
    seen = check.context["form"]["answers_seen"].value()
    response = signed_in.post(url("case-check", draft), {"answers_seen": seen})
    html = assert_rejected(
        response, "Answer every question before you send the case", beside_field=False
    )
    assert "which sites" in html
    draft.refresh_from_db()
    assert draft.status == BusinessCase.Status.DRAFT


def test_when_nobody_can_decide_the_case_stays_a_draft_with_a_message(signed_in, person):
    # Nobody can: the person's directorate has no director, their organisation no fallback
    # approver, and the service no administrator.
    assert person.profile.business_unit.directorate.director is None
    assert person.profile.business_unit.directorate.organisation.fallback_approver is None
    assert not User.objects.filter(groups__name=Role.ADMIN).exists()
    case = BusinessCaseFactory(requester=person)
    seen = signed_in.get(url("case-check", case)).context["form"]["answers_seen"].value()
    response = signed_in.post(url("case-check", case), {"answers_seen": seen})
    assert response.status_code == 200
    html = response.content.decode()
    assert "govuk-error-summary" in html
    assert "There is nobody to send your case to" in html
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.DRAFT
    assert not case.reference


@pytest.mark.parametrize(
    ("page", "data"),
    [
        ("case-tier", {}),  # radios
        ("case-declarations", {}),  # checkboxes
        ("case-dates", {}),  # a GOV.UK date input
    ],
)
def test_every_error_summary_link_leads_to_an_element_on_the_page(signed_in, draft, page, data):
    html = signed_in.post(url(page, draft), data).content.decode()
    summary = html.split("govuk-error-summary__list")[1].split("</ul>")[0]
    anchors = re.findall(r'href="#([^"]+)"', summary)
    assert anchors
    for anchor in anchors:
        assert f'id="{anchor}"' in html, (
            f"the error summary links to #{anchor}, which is not on the page"
        )
