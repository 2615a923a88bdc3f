"""Access reviews (recertification): each current grant in a review's scope is put to its
reviewer, who keeps or ends it; what nobody reviewed by the end follows
`SNS_ACCESS_REVIEW_DEFAULT`."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from access_requests.models import AccessGrant, AccessTier
from core.models import TimeStampedModel
from people.models import Directorate


class AccessReview(TimeStampedModel):
    """One review. Its scope: the grants of these directorates' people (none chosen: the
    whole department) in these tiers (none chosen: both), current when it started."""

    directorates = models.ManyToManyField(Directorate, blank=True, related_name="access_reviews")
    tiers = models.JSONField(default=list, blank=True)
    due_on = models.DateField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_reviews_started",
        help_text="Empty: started by the schedule.",
    )
    started_at = models.DateTimeField()
    # Reminders before the due date and the escalation after it go out once per review.
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What happened to what nobody reviewed: `keep` or `end` (blank while open).
    default_applied = models.CharField(max_length=4, blank=True, editable=False)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="review_default_applied_when_closed",
                condition=Q(closed_at__isnull=True, default_applied="")
                | Q(closed_at__isnull=False, default_applied__in=["keep", "end"]),
            )
        ]
        indexes = [
            models.Index(
                fields=["due_on", "id"], name="review_open_by_due", condition=Q(closed_at=None)
            )
        ]

    def __str__(self):
        return f"Access review of {self.started_at:%-d %B %Y}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def scope_in_words(self) -> str:
        tiers = (
            " and ".join(AccessTier(tier).label for tier in self.tiers)
            if self.tiers
            else "every tier"
        )
        names = [directorate.name for directorate in self.directorates.all()]
        where = ", ".join(names) if names else "the whole department"
        return f"{where}; {tiers}"


class ReviewItem(TimeStampedModel):
    """One grant put to one reviewer: the holder's director when the review started, or the
    fallback approver when the holder is that director (and after escalation)."""

    class Decision(models.TextChoices):
        NONE = "", "Not reviewed"
        KEEP = "keep", "Kept"
        END = "end", "Ended"

    review = models.ForeignKey(AccessReview, on_delete=models.PROTECT, related_name="items")
    grant = models.ForeignKey(AccessGrant, on_delete=models.PROTECT, related_name="review_items")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_items"
    )
    escalated = models.BooleanField(default=False, editable=False)
    decision = models.CharField(
        max_length=4, choices=Decision.choices, blank=True, default="", editable=False
    )
    reason = models.TextField(blank=True, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Empty for a decision the review's end applied (`automatic`).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="review_decisions",
        editable=False,
    )
    automatic = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["review", "grant"], name="review_item_once_per_grant"),
            models.CheckConstraint(
                name="review_item_decided_at_when_decided",
                condition=Q(decision="", decided_at__isnull=True)
                | (~Q(decision="") & Q(decided_at__isnull=False)),
            ),
            models.CheckConstraint(
                name="review_item_end_has_reason",
                condition=~Q(decision="end") | ~Q(reason=""),
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "review"], name="review_item_by_reviewer")]

    def __str__(self):
        return f"Review of grant {self.grant_id}"
