"""Closed cases' free-text reasons are removed after the retention period (review finding 12)."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase, SiteIdentity
from access_requests.services.retention import REMOVED, case_texts_purge_due
from access_requests.tests.factories import BusinessCaseFactory, grant_in_status
from audit.models import AuditEvent
from audit.services import audit_chain_verify

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - datetime.timedelta(days=3 * 365)


def with_reasons(case: BusinessCase) -> BusinessCase:
    SiteIdentity.objects.filter(business_case=case).update(
        uses_pseudonym=True,
        pseudonym_reason="A stalker found me online in 2024",
        identifies_as_official=False,
        not_official_reason="My family's safety",
    )
    return case


def rejected_case(when) -> BusinessCase:
    return with_reasons(
        BusinessCaseFactory(
            submitted=True,
            status=BusinessCase.Status.REJECTED,
            decided_at=when,
            decision_reason="Ask your line manager about the harassment case first",
        )
    )


def texts_of(case: BusinessCase) -> set[str]:
    case.refresh_from_db()
    identity = case.site_identities.get()
    return {case.decision_reason, identity.pseudonym_reason, identity.not_official_reason}


def test_a_rejected_case_closed_past_the_period_loses_its_reasons_in_one_audited_batch(
    settings,
):
    settings.SNS_RETENTION_CASE_TEXT_DAYS = 730
    old = rejected_case(LONG_AGO)
    recent = rejected_case(timezone.now() - datetime.timedelta(days=100))

    assert case_texts_purge_due() == 1

    assert texts_of(old) == {REMOVED}
    assert REMOVED not in texts_of(recent)
    old.refresh_from_db()
    assert old.status == BusinessCase.Status.REJECTED and old.reference  # the record stays
    event = AuditEvent.objects.get(action="case.texts_removed")
    assert event.changes["cases"] == [old.reference]
    assert event.changes["retention_days"] == 730
    assert audit_chain_verify()[1] is None


def test_running_again_changes_nothing_and_records_nothing():
    rejected_case(LONG_AGO)
    assert case_texts_purge_due() == 1
    assert case_texts_purge_due() == 0
    assert AuditEvent.objects.filter(action="case.texts_removed").count() == 1


def test_withdrawn_and_lapsed_cases_count_from_when_they_closed():
    withdrawn = with_reasons(
        BusinessCaseFactory(
            submitted=True,
            status=BusinessCase.Status.WITHDRAWN,
            withdrawn_at=LONG_AGO,
            withdrawal_reason="I am off sick with stress",
        )
    )
    lapsed = with_reasons(
        BusinessCaseFactory(submitted=True, status=BusinessCase.Status.LAPSED, lapsed_at=LONG_AGO)
    )
    assert case_texts_purge_due() == 2
    withdrawn.refresh_from_db()
    assert withdrawn.withdrawal_reason == REMOVED
    assert lapsed.site_identities.get().pseudonym_reason == REMOVED
    assert lapsed.site_identities.get().not_official_reason == REMOVED


def test_an_approved_case_keeps_its_reasons_while_its_grant_is_live_and_for_the_period_after():
    with time_machine.travel(LONG_AGO):
        live = grant_in_status(AccessGrant.Status.ACTIVE)
        ended_long_ago = grant_in_status(AccessGrant.Status.REVOKED)
    ended_lately = grant_in_status(AccessGrant.Status.EXPIRED)
    for grant in (live, ended_long_ago, ended_lately):
        with_reasons(grant.business_case)

    assert case_texts_purge_due() == 1

    assert REMOVED not in texts_of(live.business_case)
    assert REMOVED not in texts_of(ended_lately.business_case)
    assert REMOVED in texts_of(ended_long_ago.business_case)
    ended_long_ago.refresh_from_db()
    assert ended_long_ago.revocation_reason == REMOVED
    assert ended_long_ago.status == AccessGrant.Status.REVOKED


def test_drafts_and_cases_awaiting_a_decision_are_never_touched():
    draft = with_reasons(BusinessCaseFactory())
    BusinessCase.objects.filter(pk=draft.pk).update(created_at=LONG_AGO)
    waiting = with_reasons(BusinessCaseFactory(submitted=True, submitted_at=LONG_AGO))
    assert case_texts_purge_due() == 0
    assert REMOVED not in texts_of(draft) | texts_of(waiting)


def test_many_cases_go_in_batches_each_with_its_event():
    for _ in range(5):
        rejected_case(LONG_AGO)
    assert case_texts_purge_due(batch=2) == 5
    events = AuditEvent.objects.filter(action="case.texts_removed")
    assert sorted(len(e.changes["cases"]) for e in events) == [1, 2, 2]
