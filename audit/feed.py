"""The audit feed: events in id order from a given id on, for a SIEM to pull incrementally
(the read API's `/api/v1/audit-events/`) or for a log shipper to read from a file
(`manage.py export_audit`), and the check of such an export against the chain.

**Ordering.** An event's id comes from a sequence when its INSERT runs, and ids from a
sequence are handed out when asked for, not when their transactions commit: in general a
reader could see id 11 committed while id 10's transaction is still open, move its cursor
past 10 and never see it. Here an event is only chained after the chain head's row is
locked (by its writer, `audit.services._append`, or by the sequencer for events written
while the head was busy, `audit.sequencer`: those are pending, outside the chain and the
feed, until then), the ids are drawn while holding that lock, and the lock is held until
commit; so the next appender draws its ids only after the previous one has
committed (or rolled back, leaving a gap that is never filled). The feed relies on that,
and is defensive as well: it serves only events up to the head's `last_id`, read in the same
statement (one snapshot), and the head moves to an event only in the transaction that
commits it. Whatever has not committed yet is past the head, so a cursor never passes it.
A gap in the ids (a rolled-back append) is not a missing event: each event names the hash
of the one before it (`previous_hash`), so a consumer checks continuity by hash, not by id.
"""

import datetime
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet, Subquery

from .models import AuditChainHead, AuditEvent
from .services import GENESIS_HASH, ChainBreak, _link_break, chain_key

FEED_FIELDS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "client_address",
    "user_agent",
    "client_digest",
    "previous_hash",
    "hash",
)
FEED_MAX_LIMIT = 1000


def _head_id():
    return Subquery(AuditChainHead.objects.filter(pk=1).values("last_id")[:1])


def audit_feed(
    *, after_id: int, limit: int, up_to_id: int | None = None, events: QuerySet | None = None
) -> list[dict]:
    """Up to `limit` events after `after_id`, oldest first, none past the chain head (nor
    past `up_to_id`), each as a feed item (`feed_item`). `events` narrows them (a filter of
    the audit trail's page)."""
    events = (AuditEvent.objects.all() if events is None else events).filter(
        id__gt=after_id, id__lte=_head_id()
    )
    if up_to_id is not None:
        events = events.filter(id__lte=up_to_id)
    return [feed_item(values) for values in events.order_by("id").values(*FEED_FIELDS)[:limit]]


def feed_item(values: dict) -> dict:
    """An event as the feed and the export give it: every column, the time as ISO 8601
    exactly as its hash covers it."""
    return {**values, "occurred_at": values["occurred_at"].isoformat()}


def audit_head_id() -> int:
    """The newest committed event in the chain (0 for an empty trail)."""
    return AuditChainHead.objects.filter(pk=1).values_list("last_id", flat=True).first() or 0


def audit_export_lines(*, after_id: int, chunk_size: int = 1000) -> Iterator[str]:
    """Every event after `after_id` up to the chain head as it stood when the export began,
    one JSON object per line (the feed's items), read a chunk at a time."""
    up_to = audit_head_id()
    while True:
        items = audit_feed(after_id=after_id, limit=chunk_size, up_to_id=up_to)
        for item in items:
            yield json.dumps(item, cls=DjangoJSONEncoder, sort_keys=True) + "\n"
        if len(items) < chunk_size:
            return
        after_id = items[-1]["id"]


@dataclass(frozen=True)
class ExportCheck:
    events: int
    last_id: int
    last_hash: str
    chain_break: ChainBreak | None


def _event_from(item: dict) -> AuditEvent:
    fields = {name: item[name] for name in FEED_FIELDS}
    fields["occurred_at"] = datetime.datetime.fromisoformat(item["occurred_at"])
    return AuditEvent(**fields)


def audit_export_verify(
    items: Iterable[dict],
    *,
    previous_hash: str = GENESIS_HASH,
    events_before: int | None = None,
    checkpoints: list | None = None,
) -> ExportCheck:
    """Check exported events (`audit_export_lines`, parsed) link by link with the audit key.

    `previous_hash` is the hash of the last event before the export (the genesis hash, the
    default, for an export from the start), `events_before` how many events came before it
    (0 from the start; None when unknown). Each event must name the one before it and carry
    the keyed hash of its content; each signed checkpoint (`audit.checkpoints`) whose event
    falls within the export must find that event with its hash (and, when the count before
    is known, after exactly its count of events). Cleared client fields are accepted: only
    the database holds the retention sweep's record of what it cleared (`verify_audit`
    checks that)."""
    key = chain_key()
    if events_before is None and previous_hash == GENESIS_HASH:
        events_before = 0
    pending = sorted(checkpoints or [], key=lambda checkpoint: checkpoint.last_id)
    count, last_id, first = 0, 0, True

    def result(chain_break: ChainBreak | None) -> ExportCheck:
        return ExportCheck(count, last_id, previous_hash, chain_break)

    for item in items:
        try:
            event = _event_from(item)
        except (KeyError, TypeError, ValueError):
            return result(ChainBreak(None, f"line {count + 1} is not an audit event"))
        if first:
            pending = [checkpoint for checkpoint in pending if checkpoint.last_id >= event.id]
            first = False
        if pending and pending[0].last_id < event.id:
            return result(
                ChainBreak(event.id, f"the event {pending[0].describe()} names is missing")
            )
        chain_break = _link_break(event, previous_hash, key, cleared_up_to=sys.maxsize)
        if chain_break is not None:
            return result(chain_break)
        previous_hash, last_id = event.hash, event.id
        count += 1
        while pending and pending[0].last_id == event.id:
            checkpoint = pending.pop(0)
            wrong_count = events_before is not None and checkpoint.events != events_before + count
            if checkpoint.head_hash != event.hash or wrong_count:
                return result(
                    ChainBreak(
                        event.id, f"the export up to it differs from {checkpoint.describe()}"
                    )
                )
    return result(None)
