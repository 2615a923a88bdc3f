"""A review decision, a revoke, the grant's expiry and escalation arriving at the same
moment for the same grant: exactly one wins, and whoever loses gets a clear page (never
a 500). Each call runs in its own thread on its own database connection."""

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant
from access_requests.services.grants import grant_expire
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from people.models import Role
from people.tests.factories import UserFactory
from reviews import services
from reviews.errors import GrantEndedMeanwhile, ReviewPassedOn
from reviews.models import ReviewItem
from tests.at_once import returned, run_at_once

from .factories import department, grant_held_in

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_review_s_end_and_a_revoke_of_the_same_grant_at_once_revoke_it_once(
    outbox_sends_later,
):
    directorate, director = department()
    grant = grant_held_in(directorate)
    admin = UserFactory(role=Role.ADMIN)
    review = services.access_review_start(actor=director)
    item = review.items.get()
    reviewer, revoker = signed_in(director), signed_in(admin)

    pages = returned(
        run_at_once(
            lambda: reviewer.post(
                reverse("reviews:review", args=[review.pk]),
                {f"decision_{item.pk}": "end", f"reason_{item.pk}": "No longer needed"},
            ),
            lambda: revoker.post(
                reverse("access_requests:grant-revoke", args=[grant.pk]),
                {"reason": "Moved to another team"},
                follow=True,
            ),
        )
    )

    review_page, revoke_page = pages
    grant.refresh_from_db()
    item.refresh_from_db()
    assert grant.status == AccessGrant.Status.REVOKED
    assert AuditEvent.objects.filter(action="grant.revoked", object_id=str(grant.pk)).count() == 1
    if item.decision == "end":  # the review came first: the revoke says the access ended
        assert review_page.status_code == 302
        assert "This access has already ended." in revoke_page.content.decode()
        assert grant.revocation_reason == "No longer needed"
    else:  # the revoke came first: the review says so, and saves nothing
        assert review_page.status_code == 409
        assert "this access ended after the review started (revoked)" in (
            review_page.content.decode()
        )
        assert grant.revocation_reason == "Moved to another team"
    assert audit_chain_verify()[1] is None


def test_a_review_decision_and_the_grant_s_expiry_at_once(outbox_sends_later):
    directorate, director = department()
    grant = grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    item = review.items.get()
    AccessGrant.objects.filter(pk=grant.pk).update(
        start_date=timezone.localdate() - datetime.timedelta(days=30),
        end_date=timezone.localdate() - datetime.timedelta(days=1),
    )

    decided, expired = run_at_once(
        lambda: services.review_item_decide(item=item, actor=director, decision="keep"),
        lambda: grant_expire(grant_id=grant.pk),
    )

    item.refresh_from_db()
    grant.refresh_from_db()
    if decided[0] == "raised":
        # The expiry came first: the review says the access ended meanwhile.
        assert isinstance(decided[1], GrantEndedMeanwhile), decided
        assert item.decision == ""
        assert grant.status == AccessGrant.Status.EXPIRED
    else:
        # The decision held the grant: the sweep skipped it, and takes it next time.
        assert item.decision == "keep"
        assert expired == ("returned", None) or grant.status == AccessGrant.Status.EXPIRED
        grant_expire(grant_id=grant.pk)
        grant.refresh_from_db()
        assert grant.status == AccessGrant.Status.EXPIRED
    assert AuditEvent.objects.filter(action="access_review.decided").count() == (
        1 if item.decision else 0
    )


def test_a_reviewer_deciding_as_escalation_passes_the_grant_on(outbox_sends_later):
    directorate, director = department()
    grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    item = review.items.get()
    day = review.due_on + datetime.timedelta(days=1)

    with time_machine.travel(datetime.datetime.combine(day, datetime.time(9)), tick=False):
        decided, escalated = run_at_once(
            lambda: services.review_item_decide(item=item, actor=director, decision="keep"),
            lambda: services.access_review_escalate_due(),
        )

    assert escalated[0] == "returned", escalated
    item.refresh_from_db()
    if decided[0] == "returned":
        # The decision came first: escalation leaves a decided grant where it is.
        assert item.decision == "keep" and not item.escalated
        assert item.reviewer == director
    else:
        assert isinstance(decided[1], ReviewPassedOn), decided
        assert item.escalated and item.decision == ""
        assert item.reviewer == directorate.organisation.fallback_approver


def test_the_first_reviewer_s_late_page_after_escalation_says_who_reviews_now(
    outbox_sends_later,
):
    directorate, director = department()
    grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    item = review.items.get()
    page_url = reverse("reviews:review", args=[review.pk])
    fallback = directorate.organisation.fallback_approver
    day = review.due_on + datetime.timedelta(days=1)
    with time_machine.travel(datetime.datetime.combine(day, datetime.time(9)), tick=False):
        services.access_review_escalate_due()
        reviewer, fallback_reviewer = signed_in(director), signed_in(fallback)
        # The first reviewer and the fallback reviewer post at the same moment.
        late, fallback_page = returned(
            run_at_once(
                lambda: reviewer.post(
                    page_url, {f"decision_{item.pk}": "end", f"reason_{item.pk}": "Not needed"}
                ),
                lambda: fallback_reviewer.post(page_url, {f"decision_{item.pk}": "keep"}),
            )
        )

    assert fallback_page.status_code == 302
    assert late.status_code == 409
    text = late.content.decode()
    assert "Your decisions were not saved" in text
    # Whichever of the two the database took first, the page names the fallback reviewer.
    assert (
        f"went to <bdi>{fallback.display_name}</bdi> to review" in text
        or f"already kept by <bdi>{fallback.display_name}</bdi>" in text
    ), text
    item.refresh_from_db()
    assert item.decision == ReviewItem.Decision.KEEP and item.decided_by == fallback
    assert AccessGrant.objects.get().status == AccessGrant.Status.ACTIVE
