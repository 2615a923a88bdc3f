"""Access reviews: starting one (by an admin or the schedule), each reviewer's decisions,
keeping what is not marked, reminders before the due date, escalation after it, and the
review's end, when what nobody reviewed is kept or ended (`SNS_ACCESS_REVIEW_DEFAULT`).

Ending a grant goes through the portal's one revoke path
(`approvals.services.closing.grant_revoke_closing_renewals`): the holder is told, ICT is
asked to withdraw the access, and a renewal under way closes."""

import datetime
from collections import Counter, defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from approvals.services.closing import grant_renewals_lock, grant_revoke_closing_renewals
from audit.services import NewEvent, SystemActor, record, record_many
from core.client import Client
from core.links import absolute_url
from core.working_days import add_working_days
from notifications.rendering import email_date
from notifications.services import Outgoing, email_queue_many
from people.models import Directorate, User

from . import selectors
from .errors import (
    AlreadyReviewed,
    DueDateNotAfterToday,
    GrantEndedMeanwhile,
    NothingToReview,
    ReasonRequired,
    ReviewClosed,
    ReviewPassedOn,
)
from .models import AccessReview, ReviewItem

SCHEDULE_ACTOR = SystemActor("access_review_schedule")
REMINDER_ACTOR = SystemActor("access_review_remind_due")
ESCALATION_ACTOR = SystemActor("access_review_escalate_due")
CLOSE_ACTOR = SystemActor("access_review_close_due")

Decision = ReviewItem.Decision


def _review_link(review: AccessReview) -> str:
    return absolute_url(reverse("reviews:review", args=[review.pk]))


def _reviewer_emails(
    *, review: AccessReview, counts: dict[int, int], template: str, key: str
) -> None:
    """One email per reviewer, saying how many grants they have to review."""
    people = User.objects.select_related("profile").in_bulk(list(counts))
    email_queue_many(
        [
            Outgoing(
                template=template,
                context={
                    "reviewer_name": people[pk].display_name,
                    "count": count,
                    "due_on": email_date(review.due_on),
                    "review_url": _review_link(review),
                    "default_end": settings.SNS_ACCESS_REVIEW_DEFAULT == "end",
                },
                to=[(people[pk].email, f"access-review:{review.pk}:{key}:{pk}")],
                related=review,
            )
            for pk, count in sorted(counts.items())
        ]
    )


def access_review_start(
    *,
    actor,
    directorates: list[Directorate] | None = None,
    tiers: list[str] | None = None,
    due_on: datetime.date | None = None,
    client: Client | None = None,
) -> AccessReview:
    """Start a review of the current grants in scope (no directorates chosen: the whole
    department; no tiers: both), due `due_on` (default `SNS_ACCESS_REVIEW_DAYS` from today).
    Each grant goes to its reviewer (`selectors.grant_reviewer`), and each reviewer gets one
    email with how many grants they have to review.

    Raises DueDateNotAfterToday, or NothingToReview when no current grant is in scope."""
    today = timezone.localdate()
    due_on = due_on or today + datetime.timedelta(days=settings.SNS_ACCESS_REVIEW_DAYS)
    if due_on <= today:
        raise DueDateNotAfterToday()
    directorates = sorted(directorates or [], key=lambda directorate: directorate.name)
    tiers = sorted(tiers or [])
    by_system = isinstance(actor, SystemActor)
    with transaction.atomic():
        grants = list(
            selectors.grants_in_scope(
                directorate_ids=[directorate.pk for directorate in directorates], tiers=tiers
            )
        )
        pairs = [(grant, selectors.grant_reviewer(grant)) for grant in grants]
        pairs = [(grant, reviewer) for grant, reviewer in pairs if reviewer is not None]
        if not pairs:
            raise NothingToReview()
        review = AccessReview.objects.create(
            tiers=tiers,
            due_on=due_on,
            started_by=None if by_system else actor,
            started_at=timezone.now(),
        )
        review.directorates.set(directorates)
        ReviewItem.objects.bulk_create(
            [ReviewItem(review=review, grant=grant, reviewer=reviewer) for grant, reviewer in pairs]
        )
        counts = Counter(reviewer.pk for _, reviewer in pairs)
        _reviewer_emails(review=review, counts=counts, template="review_started", key="started")
        record(
            actor=actor,
            action="access_review.started",
            obj=review,
            changes={
                "due_on": due_on,
                "directorates": [directorate.name for directorate in directorates],
                "tiers": tiers,
                "grants_to_review": len(pairs),
                "reviewers": len(counts),
            },
            client=client,
        )
    return review


def _months_before(day: datetime.date, months: int) -> datetime.date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    for last_day in (day.day, 30, 29, 28):
        try:
            return datetime.date(year, month + 1, last_day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def access_review_start_scheduled(*, today: datetime.date | None = None) -> AccessReview | None:
    """Start a review of the whole department when `SNS_ACCESS_REVIEW_MONTHS` is set and the
    last review started that many months ago or more (or there was none). A second run the
    same day finds the review it started and does nothing."""
    months = settings.SNS_ACCESS_REVIEW_MONTHS
    if months <= 0:
        return None
    today = today or timezone.localdate()
    with transaction.atomic():
        # Two beat runs at once: the second waits here, then finds the first's review.
        AccessReview.objects.select_for_update().order_by("-started_at").first()
        last = AccessReview.objects.order_by("-started_at").first()
        if last is not None and timezone.localdate(last.started_at) > _months_before(today, months):
            return None
        try:
            return access_review_start(actor=SCHEDULE_ACTOR)
        except NothingToReview:
            return None


def _locked_item(item: ReviewItem) -> ReviewItem:
    """The item and its grant, locked: a revoke, a give-up or the expiry sweep ending the
    grant at the same moment either comes first (and the decision sees it ended) or waits
    for the decision."""
    # Only locked rows are joined: after waiting for a lock PostgreSQL re-reads the locked
    # rows but keeps the joined rows it first read, so who decided (and the review) are read
    # once the lock is held.
    return (
        ReviewItem.objects.select_for_update(of=("self", "grant"))
        .select_related("grant")
        .get(pk=item.pk)
    )


def review_item_decide(
    *,
    item: ReviewItem,
    actor,
    decision: str,
    reason: str = "",
    client: Client | None = None,
) -> ReviewItem:
    """Keep or end one grant under review, by its reviewer or an admin. Ending revokes the
    grant with the reason (the holder and ICT are told, a renewal under way closes).

    Raises ReasonRequired (ending without a reason), ReviewClosed, AlreadyReviewed (another
    decision came first), GrantEndedMeanwhile, ReviewPassedOn (escalated to someone else
    after the due date), or PermissionDenied."""
    reason = (reason or "").strip()
    if decision not in (Decision.KEEP, Decision.END):
        raise ValueError(f"Not a review decision: {decision!r}")
    if decision == Decision.END and not reason:
        raise ReasonRequired()
    with transaction.atomic():
        if decision == Decision.END:
            # A revoke locks the grant's renewal cases before the grant: the same order here.
            grant_renewals_lock(grant=item.grant_id)
        locked = _locked_item(item)
        if not selectors.may_decide(user=actor, item=locked):
            if locked.escalated:
                # Its first reviewer, late: say who has it now, or who already decided it.
                raise AlreadyReviewed(locked) if locked.decision else ReviewPassedOn(locked)
            raise PermissionDenied("Only the reviewer or an admin can decide this")
        if locked.decision:
            raise AlreadyReviewed(locked)
        if not locked.review.is_open:
            raise ReviewClosed(locked.review)
        if locked.grant.status not in selectors.CURRENT:
            raise GrantEndedMeanwhile(locked)
        if decision == Decision.END:
            grant_revoke_closing_renewals(
                grant=locked.grant,
                actor=actor,
                reason=reason,
                client=client,
                by_reviewer=locked.reviewer_id == actor.pk,
            )
        locked.decision = decision
        locked.reason = reason if decision == Decision.END else ""
        locked.decided_at = timezone.now()
        locked.decided_by = actor
        locked.save(update_fields=["decision", "reason", "decided_at", "decided_by", "updated_at"])
        record(
            actor=actor,
            action="access_review.decided",
            obj=locked.grant,
            changes=_decision_changes(locked),
            client=client,
        )
    return locked


def _decision_changes(item: ReviewItem) -> dict:
    changes = {"access_review": item.review_id, "review_decision": ["", item.decision]}
    if item.reason:
        changes["reason"] = item.reason
    return changes


def review_keep_unmarked(*, review: AccessReview, actor, client: Client | None = None) -> int:
    """Keep, in one step, every grant still outstanding that this person reviews (an admin:
    all of the review's). Items another decision took first, or whose grant ended, are left
    as they are. Returns how many were kept.

    Raises ReviewClosed or PermissionDenied (someone with nothing to review here)."""
    with transaction.atomic():
        locked_review = AccessReview.objects.select_for_update().get(pk=review.pk)
        if not locked_review.is_open:
            raise ReviewClosed(locked_review)
        items = list(
            selectors.items_for(review=locked_review, user=actor)
            .select_for_update(of=("self",))
            .select_related("grant")
            .filter(decision="", grant__status__in=selectors.CURRENT)
            .order_by("pk")
        )
        if not items and not selectors.items_for(review=locked_review, user=actor).exists():
            raise PermissionDenied("Only a reviewer or an admin can keep access in a review")
        now = timezone.now()
        ReviewItem.objects.filter(pk__in=[item.pk for item in items]).update(
            decision=Decision.KEEP, decided_at=now, decided_by=actor, updated_at=now
        )
        for item in items:
            item.decision = Decision.KEEP
        record_many(
            actor=actor,
            events=[
                NewEvent(
                    action="access_review.decided",
                    obj=item.grant,
                    changes={**_decision_changes(item), "kept_with_all_unmarked": True},
                    client=client,
                )
                for item in items
            ],
        )
    return len(items)


def _outstanding(review: AccessReview):
    return ReviewItem.objects.filter(
        review=review, decision="", grant__status__in=selectors.CURRENT
    )


def _open_reviews(**filters):
    return AccessReview.objects.filter(closed_at=None, **filters).order_by("due_on", "pk")


def access_review_remind_due(*, today: datetime.date | None = None) -> list[AccessReview]:
    """Once per review, `SNS_REMINDER_WORKING_DAYS` working days before the due date (the
    approvals' rule), remind each reviewer who still has grants to review, with how many."""
    today = today or timezone.localdate()
    reminded = []
    for review in _open_reviews(reminded_at=None, due_on__gte=today):
        if add_working_days(today, settings.SNS_REMINDER_WORKING_DAYS) < review.due_on:
            continue
        with transaction.atomic():
            locked = (
                AccessReview.objects.select_for_update(skip_locked=True)
                .filter(pk=review.pk, reminded_at=None, closed_at=None)
                .first()
            )
            if locked is None:
                continue
            counts = Counter(_outstanding(locked).values_list("reviewer_id", flat=True))
            locked.reminded_at = timezone.now()
            locked.save(update_fields=["reminded_at", "updated_at"])
            _reviewer_emails(
                review=locked, counts=counts, template="review_reminder", key="reminder"
            )
            record(
                actor=REMINDER_ACTOR,
                action="access_review.reminded",
                obj=locked,
                changes={"reviewers": len(counts), "grants_outstanding": sum(counts.values())},
            )
        reminded.append(locked)
    return reminded


def access_review_escalate_due(*, today: datetime.date | None = None) -> list[AccessReview]:
    """Once per review, the day after its due date: what is still outstanding goes to the
    fallback approver (or the admins), who is emailed with how many."""
    today = today or timezone.localdate()
    escalated = []
    for review in _open_reviews(escalated_at=None, due_on__lt=today):
        with transaction.atomic():
            locked = (
                AccessReview.objects.select_for_update(skip_locked=True)
                .filter(pk=review.pk, escalated_at=None, closed_at=None)
                .first()
            )
            if locked is None:
                continue
            items = list(
                _outstanding(locked)
                .select_for_update(of=("self",))
                .select_related(
                    "grant__holder__profile__business_unit__directorate__organisation__fallback_approver"
                )
                .order_by("pk")
            )
            moved: dict[int, list[int]] = defaultdict(list)
            for item in items:
                fallback = selectors.fallback_reviewer(item.grant)
                if fallback is not None and fallback.pk != item.reviewer_id:
                    moved[fallback.pk].append(item.pk)
            for reviewer_id, item_ids in moved.items():
                ReviewItem.objects.filter(pk__in=item_ids).update(
                    reviewer_id=reviewer_id, escalated=True, updated_at=timezone.now()
                )
            locked.escalated_at = timezone.now()
            locked.save(update_fields=["escalated_at", "updated_at"])
            counts = {pk: len(ids) for pk, ids in moved.items()}
            _reviewer_emails(
                review=locked, counts=counts, template="review_escalated", key="escalated"
            )
            record(
                actor=ESCALATION_ACTOR,
                action="access_review.escalated",
                obj=locked,
                changes={"reviewers": len(counts), "grants_escalated": sum(counts.values())},
            )
        escalated.append(locked)
    return escalated


def access_review_closes_on(review: AccessReview) -> datetime.date:
    """The escalated reviewers have `SNS_REMINDER_WORKING_DAYS` working days after the due
    date; the review ends the day after."""
    return add_working_days(review.due_on, settings.SNS_REMINDER_WORKING_DAYS)


def access_review_close_due(*, today: datetime.date | None = None) -> list[AccessReview]:
    """End each review past its last day (and escalated): what nobody reviewed is kept or
    ended as `SNS_ACCESS_REVIEW_DEFAULT` says. Ending goes through the revoke path, so the
    holder and ICT are told. Each review in its own transaction."""
    today = today or timezone.localdate()
    default = settings.SNS_ACCESS_REVIEW_DEFAULT
    closed = []
    for review in _open_reviews(escalated_at__isnull=False, due_on__lt=today):
        if access_review_closes_on(review) >= today:
            continue
        with transaction.atomic():
            locked = (
                AccessReview.objects.select_for_update(skip_locked=True)
                .filter(pk=review.pk, closed_at=None)
                .first()
            )
            if locked is None:
                continue
            items = list(
                _outstanding(locked)
                .select_for_update(of=("self",))
                .select_related("grant")
                .order_by("pk")
            )
            reason = (
                f"Not reviewed in the access review that was due on {email_date(locked.due_on)}"
            )
            now = timezone.now()
            for item in items:
                if default == Decision.END:
                    grant_revoke_closing_renewals(
                        grant=item.grant, actor=CLOSE_ACTOR, reason=reason
                    )
                item.decision = default
                item.reason = reason if default == Decision.END else ""
                item.decided_at = now
                item.automatic = True
            ReviewItem.objects.bulk_update(
                items, ["decision", "reason", "decided_at", "automatic", "updated_at"]
            )
            locked.closed_at = now
            locked.default_applied = default
            locked.save(update_fields=["closed_at", "default_applied", "updated_at"])
            record_many(
                actor=CLOSE_ACTOR,
                events=[
                    NewEvent(
                        action="access_review.decided",
                        obj=item.grant,
                        changes={**_decision_changes(item), "automatic": True},
                    )
                    for item in items
                ]
                + [
                    NewEvent(
                        action="access_review.closed",
                        obj=locked,
                        changes={"default_applied": default, "grants_not_reviewed": len(items)},
                    )
                ],
            )
        closed.append(locked)
    return closed
