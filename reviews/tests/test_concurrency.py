import datetime

import pytest
import time_machine

from access_requests.models import AccessGrant
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from people.models import Role
from people.tests.factories import UserFactory
from reviews import services
from reviews.errors import AlreadyReviewed
from tests.at_once import run_at_once

from .factories import department, grant_held_in


@pytest.mark.django_db(transaction=True)
def test_two_decisions_on_the_same_grant_at_once_exactly_one_wins(outbox_sends_later):
    directorate, director = department()
    grant = grant_held_in(directorate)
    admin = UserFactory(role=Role.ADMIN)
    review = services.access_review_start(actor=director)
    item = review.items.get()

    outcomes = run_at_once(
        lambda: services.review_item_decide(item=item, actor=director, decision="keep"),
        lambda: services.review_item_decide(
            item=item, actor=admin, decision="end", reason="Not needed"
        ),
    )

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["raised", "returned"], outcomes
    (lost,) = [value for kind, value in outcomes if kind == "raised"]
    assert isinstance(lost, AlreadyReviewed)
    item.refresh_from_db()
    grant.refresh_from_db()
    won_by_end = item.decision == "end"
    assert grant.status == (AccessGrant.Status.REVOKED if won_by_end else AccessGrant.Status.ACTIVE)
    assert AuditEvent.objects.filter(action="access_review.decided").count() == 1
    assert audit_chain_verify()[1] is None


@pytest.mark.django_db(transaction=True)
def test_the_review_s_end_and_a_late_decision_at_once_exactly_one_wins(
    outbox_sends_later, settings
):
    directorate, director = department()
    grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    item = review.items.get()
    day = services.access_review_closes_on(review) + datetime.timedelta(days=1)
    with time_machine.travel(datetime.datetime.combine(day, datetime.time(12)), tick=False):
        services.access_review_escalate_due()
        outcomes = run_at_once(
            lambda: services.access_review_close_due(),
            lambda: services.review_item_decide(item=item, actor=item.reviewer, decision="keep"),
        )
    item.refresh_from_db()
    assert AuditEvent.objects.filter(action="access_review.decided").count() == 1, outcomes
    assert item.decision in ("keep", "end")
