"""The business case's services: each change audited, drafts only, withdraw by status."""

import datetime

import pytest
from django.utils import timezone

from access_requests.errors import (
    BusinessCaseIncomplete,
    BusinessCaseNotEditable,
    TransitionNotAllowed,
)
from access_requests.models import BusinessCase, SiteIdentity
from access_requests.services import business_cases as services
from access_requests.tests.factories import (
    BusinessCaseFactory,
    SiteFactory,
    requester_with_director,
)
from approvals.services import case_submit
from audit.models import AuditEvent
from core.client import Client
from people.tests.factories import UserFactory
from tests.at_once import run_at_once

CLIENT = Client(address="203.0.113.9", user_agent="pytest")


def events(case, action):
    return AuditEvent.objects.filter(
        object_type="access_requests.businesscase", object_id=str(case.pk), action=action
    )


@pytest.mark.django_db
def test_starting_a_draft_is_audited_with_the_client_address():
    person = UserFactory()
    case = services.business_case_start(requester=person, client=CLIENT)
    assert case.status == BusinessCase.Status.DRAFT and case.requester == person
    event = events(case, "case.started").get()
    assert event.actor == person and event.client_address == "203.0.113.9"


@pytest.mark.django_db
def test_saving_answers_records_what_changed_and_passive_clears_the_pc_answers():
    case = BusinessCaseFactory(active=True)
    services.business_case_save_answers(
        case=case, actor=case.requester, answers={"tier": "passive"}, client=CLIENT
    )
    case.refresh_from_db()
    assert case.tier == "passive"
    assert case.paying_business_unit is None and case.budget_holder_name == ""
    changes = events(case, "case.answers_saved").get().changes
    assert changes["tier"] == ["active", "passive"]
    assert changes["budget_holder_name"] == ["Jo Budget", ""]
    # Saving the same answer again changes nothing and records nothing.
    services.business_case_save_answers(
        case=case, actor=case.requester, answers={"tier": "passive"}
    )
    assert events(case, "case.answers_saved").count() == 1


@pytest.mark.django_db
def test_saving_answers_refuses_fields_that_are_not_answers():
    case = BusinessCaseFactory()
    with pytest.raises(ValueError):
        services.business_case_save_answers(
            case=case, actor=case.requester, answers={"status": "approved"}
        )


@pytest.mark.django_db
def test_choosing_sites_adds_unanswered_identities_and_removes_dropped_ones():
    linkedin, youtube = SiteFactory(name="LinkedIn"), SiteFactory(name="YouTube")
    case = BusinessCaseFactory(sites=[linkedin])
    services.business_case_set_sites(case=case, actor=case.requester, sites=[youtube])
    identity = SiteIdentity.objects.get(business_case=case)
    assert identity.site == youtube and identity.display_name == ""
    assert "your identity on YouTube" in services.business_case_missing_answers(case=case)
    assert events(case, "case.sites_changed").get().changes == {
        "sites": [["LinkedIn"], ["YouTube"]]
    }


@pytest.mark.django_db
def test_a_sent_case_is_read_only():
    case = BusinessCaseFactory(submitted=True)
    with pytest.raises(BusinessCaseNotEditable):
        services.business_case_save_answers(
            case=case, actor=case.requester, answers={"tier": "active"}
        )
    with pytest.raises(BusinessCaseNotEditable):
        services.business_case_set_sites(case=case, actor=case.requester, sites=[])
    with pytest.raises(BusinessCaseNotEditable):
        services.business_case_delete_draft(case=case, actor=case.requester)
    case.refresh_from_db()
    assert case.tier == "passive" and case.site_identities.count() == 1


@pytest.mark.django_db
def test_deleting_a_draft_is_audited():
    case = BusinessCaseFactory()
    pk = case.pk
    services.business_case_delete_draft(case=case, actor=case.requester, client=CLIENT)
    assert not BusinessCase.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.get(action="case.draft_deleted", object_id=str(pk))
    assert event.changes == {"status": ["draft", None]}


@pytest.mark.django_db
def test_withdrawing_a_submitted_case_records_the_reason():
    case = BusinessCaseFactory(submitted=True)
    services.business_case_withdraw(
        case=case, actor=case.requester, reason="No longer needed", client=CLIENT
    )
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.WITHDRAWN
    assert case.withdrawn_at is not None and case.withdrawal_reason == "No longer needed"
    event = events(case, "case.withdrawn").get()
    assert event.changes["status"] == ["submitted", "withdrawn"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status, extra",
    [
        ("draft", {}),
        ("approved", {"decided_at": timezone.now}),
        ("rejected", {"decided_at": timezone.now}),
        ("withdrawn", {}),
        ("lapsed", {}),
    ],
)
def test_withdrawing_is_refused_unless_the_case_is_awaiting_a_decision(status, extra):
    submitted = status != "draft"
    case = BusinessCaseFactory(
        submitted=submitted, status=status, **{k: v() for k, v in extra.items()}
    )
    with pytest.raises(TransitionNotAllowed):
        services.business_case_withdraw(case=case, actor=case.requester)
    case.refresh_from_db()
    assert case.status == status
    assert not events(case, "case.withdrawn").exists()


@pytest.mark.django_db
def test_sending_through_the_approval_step_gives_consecutive_references_and_sends_once():
    first = BusinessCaseFactory(requester=requester_with_director())
    second = BusinessCaseFactory(requester=requester_with_director())
    first = case_submit(case=first, actor=first.requester, client=CLIENT)
    second = case_submit(case=second, actor=second.requester, client=CLIENT)
    year = timezone.localdate().year
    number = int(first.reference.rsplit("-", 1)[1])
    assert first.reference.startswith(f"SNS-{year}-")
    assert second.reference == f"SNS-{year}-{number + 1:05d}"
    with pytest.raises(TransitionNotAllowed):
        case_submit(case=first, actor=first.requester)
    assert events(first, "case.submitted").count() == 1


@pytest.mark.django_db
def test_a_case_whose_dates_have_gone_stale_cannot_be_sent():
    case = BusinessCaseFactory(
        requester=requester_with_director(),
        start_date=timezone.localdate() - datetime.timedelta(days=40),
        end_date=timezone.localdate() - datetime.timedelta(days=1),
    )
    with pytest.raises(BusinessCaseIncomplete) as error:
        case_submit(case=case, actor=case.requester)
    assert any(item.startswith("the dates") for item in error.value.missing)


def test_add_months_keeps_the_day_or_takes_the_month_end():
    assert services.add_months(datetime.date(2026, 3, 10), 12) == datetime.date(2027, 3, 10)
    assert services.add_months(datetime.date(2026, 8, 31), 6) == datetime.date(2027, 2, 28)
    assert services.add_months(datetime.date(2026, 1, 31), 1) == datetime.date(2026, 2, 28)


@pytest.mark.django_db(transaction=True)
def test_two_sends_at_the_same_moment_make_one_submission():
    """Two tabs pressing "Accept and send" together: the row lock lets one through."""
    case = BusinessCaseFactory(requester=requester_with_director())

    def send():
        case_submit(case=BusinessCase.objects.get(pk=case.pk), actor=case.requester)

    outcomes = run_at_once(send, send, timeout=30)
    # One is sent; the other finds it sent already.
    kinds = sorted(type(value).__name__ if kind == "raised" else kind for kind, value in outcomes)
    assert kinds == [TransitionNotAllowed.__name__, "returned"]
    case.refresh_from_db()
    assert case.status == BusinessCase.Status.SUBMITTED
    assert events(case, "case.submitted").count() == 1
