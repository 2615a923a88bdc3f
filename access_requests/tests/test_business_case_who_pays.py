"""Who pays for a standalone PC: only a unit the requester may charge (their directorate's,
or their organisation's when configured), checked on the server whatever is posted, and a
budget holder from the staff directory, in that unit, who is told when the case is sent."""

import pytest
from django.test import override_settings
from django.urls import reverse

from access_requests.errors import AnswerRefused
from access_requests.models import BusinessCase
from access_requests.services import business_cases as services
from access_requests.tests.factories import BusinessCaseFactory, SiteFactory
from approvals.services import case_submit
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from notifications.rendering import email_render
from people.tests.factories import (
    BusinessUnitFactory,
    DirectorateFactory,
    UserFactory,
    director_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    directorate = DirectorateFactory(name="Borders")
    director_of(directorate)
    unit = BusinessUnitFactory(directorate=directorate, name="Press Office", cost_centre="CC-1")
    return UserFactory(profile__business_unit=unit, profile__name="Sam Taylor")


@pytest.fixture
def sister_unit(person):
    """Another unit of the person's directorate."""
    return BusinessUnitFactory(
        directorate=person.profile.business_unit.directorate, name="Digital", cost_centre="CC-2"
    )


@pytest.fixture
def cousin_unit(person):
    """A unit of another directorate of the same organisation."""
    directorate = DirectorateFactory(
        organisation=person.profile.business_unit.directorate.organisation
    )
    return BusinessUnitFactory(directorate=directorate, name="Finance", cost_centre="CC-3")


@pytest.fixture
def stranger_unit():
    """A unit of another organisation."""
    return BusinessUnitFactory(name="Elsewhere", cost_centre="CC-9")


@pytest.fixture
def draft(client, person):
    case = services.business_case_start(requester=person)
    services.business_case_save_answers(case=case, actor=person, answers={"tier": "active"})
    client.force_login(person)
    return case


def page(case):
    return reverse("access_requests:case-standalone-pc", kwargs={"pk": case.pk})


def holder_in(unit, email="jo.budget@example.gov.uk"):
    return UserFactory(profile__business_unit=unit, profile__name="Jo Budget", email=email)


def answers(unit, holder_email="jo.budget@example.gov.uk"):
    return {
        "paying_business_unit": str(unit.pk),
        "budget_holder_email": holder_email,
        "pc_choice": "new",
    }


def row(case):
    return BusinessCase.objects.filter(pk=case.pk).values().get()


def test_only_the_requesters_directorates_units_are_offered(
    client, draft, person, sister_unit, cousin_unit, stranger_unit
):
    html = client.get(page(draft)).content.decode()
    assert "Press Office (CC-1)" in html or "Press Office" in html
    assert "Digital" in html
    assert "Finance" not in html and "Elsewhere" not in html


@pytest.mark.parametrize("which", ["cousin_unit", "stranger_unit"])
def test_a_forged_post_with_another_unit_is_refused_and_nothing_is_saved(
    client, draft, which, request
):
    unit = request.getfixturevalue(which)
    holder_in(unit)
    before = row(draft)
    response = client.post(page(draft), answers(unit))
    html = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in html
    assert "Select a business unit from the list" in html
    assert row(draft) == before
    assert not AuditEvent.objects.filter(
        action="case.answers_saved",
        object_id=str(draft.pk),
        changes__has_key="paying_business_unit",
    ).exists()


@override_settings(SNS_CHARGEABLE_UNITS="organisation")
def test_the_organisations_units_may_be_charged_when_configured(
    client, draft, cousin_unit, stranger_unit
):
    holder = holder_in(cousin_unit)
    assert "Finance" in client.get(page(draft)).content.decode()
    assert client.post(page(draft), answers(cousin_unit)).status_code == 302
    draft.refresh_from_db()
    assert draft.paying_business_unit == cousin_unit and draft.budget_holder == holder
    refused = client.post(page(draft), answers(stranger_unit))
    assert "Select a business unit from the list" in refused.content.decode()


def test_the_service_refuses_a_unit_the_requester_may_not_charge(draft, person, cousin_unit):
    before = row(draft)
    with pytest.raises(AnswerRefused):
        services.business_case_save_answers(
            case=draft, actor=person, answers={"paying_business_unit": cousin_unit}
        )
    with pytest.raises(AnswerRefused):
        services.business_case_save_answers(
            case=draft,
            actor=person,
            answers={
                "paying_business_unit": person.profile.business_unit,
                "budget_holder": holder_in(cousin_unit),
            },
        )
    assert row(draft) == before


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nobody@example.gov.uk", "Enter the email address of someone in the staff directory"),
        (
            "sister@example.gov.uk",
            "The budget holder must work in Press Office, the unit that will pay",
        ),
        ("me", "The budget holder must be someone other than you"),
    ],
)
def test_the_budget_holder_is_someone_else_in_the_paying_unit(
    client, draft, person, sister_unit, email, message
):
    holder_in(sister_unit, email="sister@example.gov.uk")
    if email == "me":
        email = person.email
    before = row(draft)
    response = client.post(page(draft), answers(person.profile.business_unit, email))
    html = response.content.decode()
    assert "govuk-error-summary" in html and message in html
    assert row(draft) == before


def test_the_budget_holder_is_recorded_shown_and_told_when_the_case_is_sent(
    client, draft, person, django_capture_on_commit_callbacks
):
    unit = person.profile.business_unit
    holder = holder_in(unit, email="Jo.Budget@example.gov.uk")
    response = client.post(page(draft), answers(unit, "jo.budget@EXAMPLE.gov.uk"))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.budget_holder == holder and draft.budget_holder_name == "Jo Budget"

    # Complete the rest and send it.
    complete = BusinessCaseFactory.build(requester=person)
    services.business_case_set_sites(case=draft, actor=person, sites=[SiteFactory(name="X")])
    BusinessCase.objects.filter(pk=draft.pk).update(
        **{
            name: getattr(complete, name)
            for name in (
                "purpose",
                "audience",
                "integration",
                "start_date",
                "end_date",
                *services.DECLARATION_FIELDS,
            )
        }
    )
    identity = draft.site_identities.get()
    identity.display_name = "Sam Taylor"
    identity.uses_pseudonym = False
    identity.identifies_as_official = True
    identity.save()
    check = client.get(reverse("access_requests:case-check", kwargs={"pk": draft.pk}))
    assert "Jo Budget" in check.content.decode()
    assert "Jo.Budget@example.gov.uk" in check.content.decode()

    case_submit(case=draft, actor=person)
    told = OutboundEmail.objects.get(template="case_budget_holder")
    assert told.to == "Jo.Budget@example.gov.uk"
    subject, text, _ = email_render(told.template, told.context)
    assert "Sam Taylor" in subject and "Press Office" in subject
    assert "cost centre CC-1" in text and "named you as the budget holder" in text

    approver_email = OutboundEmail.objects.get(template="approval_request")
    assert "Jo Budget" in email_render(approver_email.template, approver_email.context)[1]
    draft.refresh_from_db()
    assert (
        "Jo Budget"
        in client.get(
            reverse("access_requests:case-detail", kwargs={"pk": draft.pk})
        ).content.decode()
    )
