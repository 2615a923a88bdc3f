import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from access_requests.models import AccessGrant, AccessTier
from audit.models import AuditEvent
from core.working_days import add_working_days
from notifications.models import OutboundEmail
from people.tests.factories import DirectorateFactory
from reviews import services
from reviews.errors import (
    AlreadyReviewed,
    DueDateNotAfterToday,
    GrantEndedMeanwhile,
    NothingToReview,
    ReasonRequired,
)
from reviews.models import AccessReview, ReviewItem

from .factories import department, grant_held_in

pytestmark = pytest.mark.django_db


def emails(template, to=None):
    rows = OutboundEmail.objects.filter(template=template)
    if to is not None:
        rows = rows.filter(to=to)
    return list(rows.order_by("pk"))


def test_start_covers_the_whole_department_due_in_14_days_with_one_email_per_reviewer(
    settings,
):
    directorate, director = department()
    other, other_director = department()
    grant_held_in(directorate)
    grant_held_in(directorate, active=True)
    grant_held_in(other)
    admin = other.organisation.fallback_approver

    review = services.access_review_start(actor=admin)

    assert review.due_on == timezone.localdate() + datetime.timedelta(days=14)
    assert review.items.count() == 3
    started = emails("review_started")
    assert sorted(email.to for email in started) == sorted([director.email, other_director.email])
    mine = emails("review_started", to=director.email)[0]
    assert mine.context["count"] == 2
    assert mine.context["review_url"] == f"http://testserver/reviews/{review.pk}/"
    assert AuditEvent.objects.filter(action="access_review.started").count() == 1


def test_start_scope_chooses_directorates_and_tiers():
    directorate, director = department()
    other, _ = department()
    passive = grant_held_in(directorate)
    active = grant_held_in(directorate, active=True)
    grant_held_in(other, active=True)

    review = services.access_review_start(
        actor=director, directorates=[directorate], tiers=[AccessTier.ACTIVE]
    )
    assert list(review.items.values_list("grant_id", flat=True)) == [active.pk]
    assert passive.pk not in review.items.values_list("grant_id", flat=True)


def test_a_director_s_own_access_goes_to_the_fallback_approver():
    directorate, director = department()
    grant_held_in(directorate, holder=director)
    review = services.access_review_start(actor=director)
    item = review.items.get()
    assert item.reviewer == directorate.organisation.fallback_approver


def test_start_refuses_an_empty_scope_and_a_past_due_date():
    directorate, director = department()
    with pytest.raises(NothingToReview):
        services.access_review_start(actor=director)
    grant_held_in(directorate)
    with pytest.raises(DueDateNotAfterToday):
        services.access_review_start(actor=director, due_on=timezone.localdate())
    assert not AccessReview.objects.exists()


def test_ending_revokes_the_grant_and_tells_the_holder_and_ict(settings):
    settings.SNS_ICT_MAILBOX = "ict@example.gov.uk"
    directorate, director = department()
    grant = grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    item = review.items.get()

    with pytest.raises(ReasonRequired):
        services.review_item_decide(item=item, actor=director, decision="end", reason=" ")
    services.review_item_decide(item=item, actor=director, decision="end", reason="Left the team")

    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.REVOKED
    assert grant.revoked_by == director
    assert grant.revocation_reason == "Left the team"
    assert emails("grant_revoked", to=grant.holder.email)
    assert emails("grant_withdraw_ict", to="ict@example.gov.uk")
    event = AuditEvent.objects.get(action="access_review.decided")
    assert event.changes["review_decision"] == ["", "end"]


def test_the_fallback_approver_may_end_a_director_s_own_access():
    directorate, director = department()
    grant = grant_held_in(directorate, holder=director)
    fallback = directorate.organisation.fallback_approver
    fallback.groups.clear()  # a fallback approver who is not an admin
    review = services.access_review_start(actor=director)
    services.review_item_decide(
        item=review.items.get(), actor=fallback, decision="end", reason="Not needed"
    )
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.REVOKED


def test_only_the_reviewer_or_an_admin_decides():
    directorate, director = department()
    grant = grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    with pytest.raises(PermissionDenied):
        services.review_item_decide(item=review.items.get(), actor=grant.holder, decision="keep")
    assert review.items.get().decision == ""


def test_a_second_decision_is_refused_and_a_grant_ended_meanwhile_says_so():
    directorate, director = department()
    kept = grant_held_in(directorate)
    ended = grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    item = review.items.get(grant=kept)
    services.review_item_decide(item=item, actor=director, decision="keep")
    with pytest.raises(AlreadyReviewed):
        services.review_item_decide(item=item, actor=director, decision="end", reason="x")

    ended.status = AccessGrant.Status.EXPIRED
    ended.expired_at = timezone.now()
    ended.save()
    with pytest.raises(GrantEndedMeanwhile):
        services.review_item_decide(
            item=review.items.get(grant=ended), actor=director, decision="keep"
        )


def test_keep_unmarked_keeps_only_what_is_outstanding_for_this_reviewer():
    directorate, director = department()
    other, other_director = department()
    ended = grant_held_in(directorate)
    grant_held_in(directorate)
    grant_held_in(directorate)
    theirs = grant_held_in(other)
    review = services.access_review_start(actor=director)
    services.review_item_decide(
        item=review.items.get(grant=ended), actor=director, decision="end", reason="Gone"
    )

    assert services.review_keep_unmarked(review=review, actor=director) == 2
    assert review.items.filter(decision="keep").count() == 2
    assert review.items.get(grant=ended).decision == "end"
    assert review.items.get(grant=theirs).decision == ""
    with pytest.raises(PermissionDenied):
        services.review_keep_unmarked(review=review, actor=ended.holder)


def test_reminders_before_the_due_date_then_escalation_after_it(settings):
    settings.SNS_REMINDER_WORKING_DAYS = 3
    directorate, director = department()
    grant_held_in(directorate)
    grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    services.review_item_decide(item=review.items.first(), actor=director, decision="keep")
    fallback = directorate.organisation.fallback_approver

    assert services.access_review_remind_due() == []
    remind_on = review.due_on
    while add_working_days(remind_on, 3) >= review.due_on:
        remind_on -= datetime.timedelta(days=1)
    remind_on += datetime.timedelta(days=1)
    with time_machine.travel(datetime.datetime.combine(remind_on, datetime.time(12)), tick=False):
        assert services.access_review_remind_due() == [review]
        assert services.access_review_remind_due() == []  # once
    (reminder,) = emails("review_reminder")
    assert reminder.to == director.email and reminder.context["count"] == 1

    day_after = review.due_on + datetime.timedelta(days=1)
    with time_machine.travel(datetime.datetime.combine(day_after, datetime.time(12)), tick=False):
        assert services.access_review_escalate_due() == [review]
        assert services.access_review_escalate_due() == []
    (escalated,) = emails("review_escalated")
    assert escalated.to == fallback.email and escalated.context["count"] == 1
    item = review.items.get(decision="")
    assert item.reviewer == fallback and item.escalated


def _close_day(review):
    return services.access_review_closes_on(review) + datetime.timedelta(days=1)


@pytest.mark.parametrize("default", ["end", "keep"])
def test_the_end_applies_the_default_to_what_nobody_reviewed(settings, default):
    settings.SNS_ACCESS_REVIEW_DEFAULT = default
    settings.SNS_ICT_MAILBOX = "ict@example.gov.uk"
    directorate, director = department()
    kept = grant_held_in(directorate)
    unreviewed = grant_held_in(directorate)
    review = services.access_review_start(actor=director)
    services.review_item_decide(item=review.items.get(grant=kept), actor=director, decision="keep")
    day = _close_day(review)
    with time_machine.travel(datetime.datetime.combine(day, datetime.time(12)), tick=False):
        assert services.access_review_close_due() == []  # not escalated yet
        services.access_review_escalate_due()
        assert services.access_review_close_due() == [review]
        assert services.access_review_close_due() == []

    review.refresh_from_db()
    assert review.closed_at and review.default_applied == default
    item = review.items.get(grant=unreviewed)
    assert item.decision == default and item.automatic and item.decided_by is None
    unreviewed.refresh_from_db()
    kept.refresh_from_db()
    assert kept.status == AccessGrant.Status.ACTIVE
    if default == "end":
        assert unreviewed.status == AccessGrant.Status.REVOKED
        (told,) = emails("grant_revoked", to=unreviewed.holder.email)
        assert told.context["revoked_by"] == "The access review"
        assert emails("grant_withdraw_ict", to="ict@example.gov.uk")
        revoked = AuditEvent.objects.get(action="grant.revoked")
        assert revoked.actor_label == "system:access_review_close_due"
    else:
        assert unreviewed.status == AccessGrant.Status.ACTIVE
        assert not emails("grant_revoked")
    assert AuditEvent.objects.filter(action="access_review.closed").count() == 1


def test_the_schedule_starts_a_review_every_n_months(settings):
    directorate, _ = department()
    grant_held_in(directorate)
    settings.SNS_ACCESS_REVIEW_MONTHS = 0
    assert services.access_review_start_scheduled() is None
    settings.SNS_ACCESS_REVIEW_MONTHS = 6
    first = services.access_review_start_scheduled()
    assert first is not None and first.started_by is None
    assert services.access_review_start_scheduled() is None
    later = timezone.localdate() + datetime.timedelta(days=200)
    with time_machine.travel(datetime.datetime.combine(later, datetime.time(12)), tick=False):
        assert services.access_review_start_scheduled() is not None
    assert AccessReview.objects.count() == 2


def test_a_directorate_without_a_director_goes_to_the_fallback():
    directorate = DirectorateFactory()
    grant = grant_held_in(directorate)
    other, director = department()
    directorate.organisation = other.organisation
    directorate.save()
    review = services.access_review_start(actor=director)
    assert review.items.get(grant=grant).reviewer == other.organisation.fallback_approver
    assert ReviewItem.objects.count() == 1
