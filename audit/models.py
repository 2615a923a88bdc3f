"""The append-only, hash-chained audit trail.

Each event stores an HMAC-SHA-256, keyed with `AUDIT_CHAIN_KEY` (kept outside the
database), over its own content and the previous event's hash, so an edited, deleted or
reordered row breaks the chain (`manage.py verify_audit`) and someone holding only the
database login cannot compute a chain that verifies. Events are written only by
`audit.services.record`, inside the transaction of the change they record. What the trail
proves, against whom: docs/threat-model.md.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be changed")

    def client_fields_clear(self) -> int:
        """Empty the client address and browser of these events: the one change the
        database allows, on events old enough whose hash covers their digest instead
        (migration 0008). Only `audit.retention` calls it. Returns the rows changed."""
        return super().update(client_address=None, user_agent="")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted")


# What a writer records of an event, in the order the sequencer and verification read it;
# chaining adds `previous_hash` and `hash`. `RecordedEvent` declares these columns once for
# both tables that hold events (the chain, and the pending rows the sequencer moves into it).
RECORDED_COLUMNS = (
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "client_address",
    "user_agent",
    "client_digest",
    "changes",
)


class RecordedEvent(models.Model):
    """The columns of `RECORDED_COLUMNS`, shared by `AuditEvent` and `AuditPendingEvent`:
    the sequencer copies a pending row into the chain column for column, so the two must
    not drift apart. Abstract: each table keeps its own columns and indexes."""

    # AuditEvent indexes it; the pending table is read only whole, oldest first.
    occurred_at = models.DateTimeField()
    # AuditEvent names its reverse relation and has its own index on it; the pending table
    # needs neither.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # Who acted, as text: the user's email, or "system:<task>" for Celery tasks and
    # "anonymous" for token holders and failed sign-ins.
    actor_label = models.CharField(max_length=254)
    # Not db_index: audit_action_idx (action, id) serves the filter and the list of actions.
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    # Where the request came from. The hash covers `client_digest`, not these two, so that
    # the retention sweep (`audit.retention`) can clear them after
    # `SNS_RETENTION_CLIENT_DAYS` and the chain still verifies; the database lets nothing else
    # change (migration 0008).
    client_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # HMAC of the address and browser with `AUDIT_CHAIN_KEY` (`audit.services.client_digest`):
    # "" when no client was recorded. NULL on events written before the digest existed,
    # whose hash covers the two fields themselves; they are never cleared.
    client_digest = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL and "" differ
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True


class AuditEvent(RecordedEvent):
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        db_constraint=True,
        db_index=False,  # audit_actor_idx (actor, id) serves lookups by actor
    )
    previous_hash = models.CharField(max_length=64)
    # Not unique, and not indexed: nothing looks an event up by its hash (the chain is
    # checked by walking it in id order, `audit_chain_verify`), and a unique index on random
    # keys costs every event written a random leaf page of a large index.
    hash = models.CharField(max_length=64)
    # The pending row this event was chained from (audit/sequencer.py): the pending table's
    # delete trigger (migration 0011) lets a pending row go only once an event names it, so
    # the runtime login cannot make an event vanish between its commit and its chaining.
    pending_id = models.BigIntegerField(null=True, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "id"], name="audit_object_idx"),
            models.Index(fields=["actor", "id"], name="audit_actor_idx"),
            models.Index(fields=["action", "id"], name="audit_action_idx"),
            # The audit page filters by who acted, whoever it was (a person, a system
            # task, "anonymous"), newest first.
            models.Index(fields=["actor_label", "id"], name="audit_actor_label_idx"),
            models.Index(
                fields=["pending_id"],
                name="audit_pending_idx",
                condition=models.Q(pending_id__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted")


class AuditChainHead(models.Model):
    """One row holding the newest event's id and hash; locking it serialises appends to the
    chain. A database trigger refuses its deletion and any move that is not forward to the
    newest event along the chain (migration 0007)."""

    last_hash = models.CharField(max_length=64)
    # The id of the newest event (0 for an empty trail): the head names the event it vouches
    # for, so the trigger can check each move and verification can spot a missing tail.
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.last_hash


class AuditPendingEvent(RecordedEvent):
    """An event committed with the work it records but not chained yet: written when the
    chain head was busy (another transaction appending), so that no writer waits for the
    head. The sequencer (`audit.sequencer`) moves these into the chain, oldest first, in the
    transaction that deletes them here: each is chained exactly once, and a crash before
    that commit leaves it here for the next run. Its columns are an event's, without the
    hashes (given only when chained)."""

    # When its transaction wrote it (the database's clock): the merge delay is measured from it.
    staged_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} (pending)"
