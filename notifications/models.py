"""The outbox: every email is a row written in the same transaction as its cause.

A row is written with its template's name and a `context` of plain JSON values (names,
dates already written out as text, links) and is rendered by the sender when it sends it:
writing an email costs no template rendering, so a sweep writes its emails cheaply. A
template may store only what is its own and have the rest read from the database when it is
rendered (`notifications.rendering.email_context_completer`: an approver's reminder).
Once sent or given up, the row holds the subject and bodies that went out (and no context),
with every live value (a decision or password link) masked: the live values travel sealed in
`secret` until then (see `notifications.secrets`).
"""

from typing import NamedTuple

from django.db import models
from django.db.models import Q


class OutboundEmail(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"  # written, not yet sent (or retrying)
        SENT = "sent", "Sent"  # handed to the mail server
        FAILED = "failed", "Failed"  # gave up after the maximum attempts, or refused outright
        NOT_NEEDED = "not_needed", "Not sent: no longer needed"  # what it was about moved on

    class Via(models.TextChoices):
        SMTP = "smtp", "SMTP"
        NOTIFY = "notify", "GOV.UK Notify"

    class Delivery(models.TextChoices):
        """What GOV.UK Notify's delivery receipt said (SMTP gives none: blank)."""

        DELIVERED = "delivered", "Delivered"  # the recipient's provider accepted it
        # The address does not exist or the provider refused it for good: it never arrives.
        PERMANENT_FAILURE = "permanent-failure", "Email address does not exist"
        # The inbox was full or the provider was unavailable; Notify gave up retrying.
        TEMPORARY_FAILURE = "temporary-failure", "Inbox not accepting messages"
        TECHNICAL_FAILURE = "technical-failure", "Technical failure at Notify"

    to = models.EmailField()
    # Empty until the email is rendered (when it is sent), unless it was written rendered.
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    template = models.CharField(max_length=100, help_text="Which email this is")
    # What the template is rendered with; None once the subject and bodies are stored.
    context = models.JSONField(null=True, blank=True, editable=False)
    # The email's live values (links with tokens), sealed; wiped once it is sent or given up.
    secret = models.TextField(null=True, blank=True, editable=False)  # noqa: DJ001 - NULL: none
    # A unique key per email that must go out at most once (a reminder, a notice).
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, editable=False
    )
    attempts = models.PositiveIntegerField(default=0, editable=False)
    # Why the last try failed, or why the email was set aside unsent (`Status.NOT_NEEDED`).
    last_error = models.TextField("Why it failed or was not sent", blank=True, editable=False)
    # A sender claims a row until this time; a crashed sender's claim runs out.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How it was sent, and (through Notify) Notify's id for it and its delivery receipt.
    sent_via = models.CharField(max_length=10, choices=Via.choices, blank=True, editable=False)
    provider_id = models.CharField(max_length=64, blank=True, editable=False)
    delivery_status = models.CharField(
        max_length=20, choices=Delivery.choices, blank=True, editable=False
    )
    delivery_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
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
            # The admins' page of failed email: given up, or reported undeliverable.
            models.Index(
                fields=["id"],
                condition=Q(status="failed") | Q(delivery_status="permanent-failure"),
                name="outbox_undeliverable_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False) | ~Q(status="sent"),
                name="outbox_sent_has_sent_at",
            )
        ]

    def __str__(self):
        return f"{self.template} to {self.to}"

    def content(self, *, live: bool = False) -> "EmailContent":
        """What this email says: rendered from its template and context if it has not been
        sent yet, or as stored. Its live values (links with tokens) are masked, unless
        `live` (the sender, which unseals them to send the email)."""
        if self.context is None:
            return EmailContent(self.subject, self.body_text, self.body_html)
        from .rendering import email_context_complete, email_render, email_render_sending
        from .secrets import SealBroken

        try:
            sent, stored = email_render_sending(self)
        except SealBroken:
            if live:
                raise
            # Sealed under a key no longer held: shown without its live values.
            return email_render(self.template, email_context_complete(self.template, self.context))
        return sent if live else stored


class EmailContent(NamedTuple):
    subject: str
    body_text: str
    body_html: str
