"""The outbox: every email is a row written in the same transaction as its cause."""

from django.db import models
from django.db.models import Q


class OutboundEmail(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"  # written, not yet sent (or retrying)
        SENT = "sent", "Sent"  # handed to the mail server
        FAILED = "failed", "Failed"  # gave up after the maximum attempts

    to = models.EmailField()
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    template = models.CharField(max_length=100, help_text="Which email this is")
    # A unique key per email that must go out at most once (a reminder, a notice).
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, editable=False
    )
    attempts = models.PositiveIntegerField(default=0, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    # A sender claims a row until this time; a crashed sender's claim runs out.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="outbox_pending_idx",
            ),
            models.Index(fields=["object_type", "object_id"], name="outbox_object_idx"),
            models.Index(fields=["to", "id"], name="outbox_to_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False) | ~Q(status="sent"),
                name="outbox_sent_has_sent_at",
            )
        ]

    def __str__(self):
        return f"{self.template} to {self.to}"
