"""Writing and verifying the audit trail."""

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router, transaction
from django.utils import timezone

from core.arrays import array_literal, column_types, unnest_of
from core.client import Client, ip_or_none
from core.models import column_fields, primary_key_field

from .models import RECORDED_COLUMNS, AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
# The retention sweep's event (`audit.retention`): its changes name the newest event it
# cleared ("up_to_id"), and verification expects no cleared event after that.
CLIENT_FIELDS_CLEARED = "audit.client_fields_cleared"


@dataclass(frozen=True)
class SystemActor:
    """A named system task acting without a person, e.g. SystemActor("expiry_sweep")."""

    name: str

    @property
    def label(self) -> str:
        return f"system:{self.name}"


def _actor_fields(actor) -> tuple[Any, str]:
    if actor is None:
        return None, "anonymous"
    if isinstance(actor, SystemActor):
        return None, actor.label
    if getattr(actor, "is_authenticated", False):
        return actor, actor.email
    return None, "anonymous"


def chain_key() -> bytes:
    """The chain's key (`AUDIT_CHAIN_KEY`), held outside the database: without it nobody can
    compute hashes that verify, whatever they can write to the tables."""
    return settings.AUDIT_CHAIN_KEY.encode("utf-8")


# `json.dumps(…, cls=DjangoJSONEncoder, …)` builds an encoder for every call; a sweep hashes
# thousands of events, so each form keeps one (an encoder holds no state between calls).
_CANONICAL = DjangoJSONEncoder(sort_keys=True, separators=(",", ":"))
_CHANGES = DjangoJSONEncoder(sort_keys=True)


def _chained_text(previous_hash: str, content: dict) -> bytes:
    return (previous_hash + _CANONICAL.encode(content)).encode("utf-8")


def event_hash(*, previous_hash: str, content: dict, key: bytes | None = None) -> str:
    """HMAC-SHA-256 over the previous hash and the event's canonical content."""
    return hmac.digest(
        key if key is not None else chain_key(),
        _chained_text(previous_hash, content),
        "sha256",
    ).hex()


def event_hash_unkeyed(*, previous_hash: str, content: dict) -> str:
    """Plain SHA-256 of the same text: what anyone can compute without the key. Verification
    uses it only to say why a link fails (a trail hashed without the key)."""
    return hashlib.sha256(_chained_text(previous_hash, content)).hexdigest()


def client_digest(*, address: str | None, user_agent: str, key: bytes | None = None) -> str:
    """HMAC, with the chain's key, of a client address and browser; "" when neither was
    recorded. The hash of an event covers this instead of the two fields, so they can be
    cleared after the retention period, and a rewritten address or browser no longer
    matches it. The address is normalised first, as the database may write it otherwise;
    it holds no NUL, so the text names one pair only."""
    if address is None and not user_agent:
        return ""
    address = ip_or_none(address) or address or ""
    return hmac.new(
        key if key is not None else chain_key(),
        f"client\0{address}\0{user_agent}".encode(),
        hashlib.sha256,
    ).hexdigest()


def hashed_content(
    *,
    occurred_at,
    actor_id,
    actor_label,
    action,
    object_type,
    object_id,
    object_repr,
    changes,
    client_address,
    user_agent,
    client_digest,
) -> dict:
    """The fields the hash covers, in a canonical form: the one rule that chaining, the
    event-by-event check and `verify_audit`'s fast pass all hash by. An event with a client
    digest is hashed with the digest in place of its address and browser; one written before
    the digest existed (NULL) is hashed with the two fields, as it was written."""
    content = {
        "occurred_at": occurred_at.isoformat(),
        "actor_id": actor_id,
        "actor_label": actor_label,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr,
        "changes": changes,
    }
    if client_digest is None:
        content["client_address"] = client_address
        content["user_agent"] = user_agent
    else:
        content["client_digest"] = client_digest
    return content


def event_content(event: AuditEvent) -> dict:
    """`hashed_content` of a stored event."""
    return hashed_content(**{name: getattr(event, name) for name in RECORDED_COLUMNS})


def _changes_json(changes: dict | None) -> str:
    """`changes` as JSON text (dates and times written out by Django's encoder): the value
    stored is this text, and the value hashed is what it reads back as."""
    return _CHANGES.encode(changes or {})


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    changes: dict | None = None,
    client: Client | None = None,
    object_repr: str | None = None,
) -> AuditEvent:
    """Append one event to the trail, in the caller's transaction.

    `actor` is a user, a `SystemActor`, or None (anonymous). `changes` holds what
    changed, e.g. {"status": ["draft", "submitted"]}. `client` is where the request came
    from (address and browser), None for work without a request.
    """
    new = NewEvent(
        action=action,
        obj=obj,
        changes=changes,
        object_repr=object_repr,
        client=client,
    )
    ((pk, row),) = _append(actor=actor, events=[new])
    # The row as the database holds it, built as a query would load it (`Model.from_db`):
    # an instance that is saved, not one waiting to be inserted. A pending event has no id
    # and no hashes until the sequencer chains it.
    fields = column_fields(AuditEvent)
    values = [pk if field.primary_key else row.get(field.attname, "") for field in fields]
    return AuditEvent.from_db(
        router.db_for_write(AuditEvent), [field.attname for field in fields], values
    )


@dataclass(frozen=True)
class NewEvent:
    """One event for `record_many` (the actor is shared by the whole call)."""

    action: str
    obj: models.Model | None = None
    changes: dict | None = None
    object_repr: str | None = None
    client: Client | None = None


def record_many(*, actor, events: list[NewEvent]) -> int:
    """Append several events by one actor, in this order, in the caller's transaction: the
    chain head is locked once, the hashes are chained here, the events go in with one
    INSERT and the head is moved once. A sweep records a whole batch of items this way (one
    event per item, as `record` would write it, in a few round trips instead of three per
    event). Returns how many were appended."""
    return len(_append(actor=actor, events=events))


# Serialises the creation of a missing head (pg_advisory_xact_lock's key; any fixed number).
HEAD_CREATION_LOCK = 0x5A5A_A0D1


def _head_lock() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        _head_create_once()
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def _head_create_once() -> None:
    """Creates the head of a trail that has none (a new or emptied database).

    Two first appends at once would both try to create it, and the head's trigger refuses a
    new head once events exist: the second, having waited on the first's uncommitted row,
    would fail instead of finding it. On PostgreSQL a transaction-scoped advisory lock lets
    one create it; the other, let in after that commit, reads it afresh and finds it."""
    connection = connections[router.db_for_write(AuditChainHead)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [HEAD_CREATION_LOCK])
    AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})


def _append(*, actor, events: list[NewEvent]) -> list[tuple[int | None, dict]]:
    """Write the events, chained now if the chain head is free, else pending; returns each
    one's id (None while pending) and stored values.

    Chained now: the head is locked until commit (nobody else chains meanwhile) and the
    INSERT's rows take their ids in the order of its VALUES, so the chain read in id order
    (`audit_chain_verify`) is the order hashed here. Pending: when another transaction holds
    the head (a sweep's batch, another request), the events go into `AuditPendingEvent`
    without waiting, and the sequencer (`audit.sequencer`) chains them, in order, just
    after this commit. Once a transaction has left events pending, it leaves the rest
    pending too, so its events are chained in the order it wrote them."""
    if not events:
        return []
    user, label = _actor_fields(actor)
    now = timezone.now()
    key = chain_key()
    actor_id = user.pk if user is not None else None
    rows = []
    for new in events:
        obj = new.obj
        changes_json = _changes_json(new.changes)
        address = new.client.address if new.client else None
        user_agent = (new.client.user_agent if new.client else "")[:500]
        content = {
            "occurred_at": now,
            "actor_id": actor_id,
            "actor_label": label[:254],
            "action": new.action,
            "object_type": obj._meta.label_lower if obj is not None else "",
            "object_id": str(obj.pk) if obj is not None else "",
            "object_repr": (new.object_repr if new.object_repr is not None else str(obj or ""))[
                :200
            ],
            "client_digest": client_digest(address=address, user_agent=user_agent, key=key),
            # Stored and hashed as read back from its JSON, so the two are identical.
            "changes": json.loads(changes_json),
            "client_address": address,
            "user_agent": user_agent,
        }
        rows.append((content, changes_json))
    # No savepoint: an event that cannot be written fails the caller's whole transaction.
    with transaction.atomic(savepoint=False):
        from .sequencer import audit_sequence_soon, head_try, pending_insert

        head = head_try()
        if head is None:
            pending_insert(rows)
            return [(None, row) for row, _ in rows]
        ids = chain_rows(head, rows, key=key)
        # Events others left pending while this transaction held the head: chained after it.
        transaction.on_commit(audit_sequence_soon, using=router.db_for_write(AuditEvent))
    return [(pk, row) for pk, (row, _) in zip(ids, rows, strict=True)]


def chain_rows(head: AuditChainHead, rows: list[tuple[dict, str]], *, key: bytes) -> list[int]:
    """Hash `rows` (each an event's values and its changes as JSON text) onto the locked
    head, insert them in this order and move the head; returns their ids."""
    previous_hash = head.last_hash
    for row, _ in rows:
        hashed = hashed_content(**{name: row[name] for name in RECORDED_COLUMNS})
        row["previous_hash"] = previous_hash
        row["hash"] = event_hash(previous_hash=previous_hash, content=hashed, key=key)
        previous_hash = row["hash"]
    ids = _insert_events(rows)
    # The head's trigger lets it move only to the newest event, along the chain.
    head.last_hash = previous_hash
    head.last_id = max(ids)
    head.save(update_fields=["last_hash", "last_id", "updated_at"])
    return ids


def _insert_events(rows: list[tuple[dict, str]]) -> list[int]:
    """One INSERT … RETURNING id for the rows (each one's values, and its changes as the
    JSON text they were read from, sent as it is), in their order (no model instance each).
    On PostgreSQL each column is one array (`core.arrays`): a batch of 500 events is 14
    parameters, not 7,000 literals to quote, parse and coerce one by one."""
    meta = AuditEvent._meta
    fields = [field for field in column_fields(AuditEvent) if not field.primary_key]
    connection = connections[router.db_for_write(AuditEvent)]
    quote = connection.ops.quote_name
    for row, _ in rows:
        row.setdefault("pending_id", None)
    columns = [
        [changes_json for _, changes_json in rows]
        if field.attname == "changes"
        else [row[field.attname] for row, _ in rows]
        for field in fields
    ]
    names = ", ".join(quote(field.column) for field in fields)
    returning = quote(primary_key_field(AuditEvent).column)
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({names}) "  # noqa: S608  # nosec B608 - names from the model, values are parameters
            f"SELECT * FROM {unnest_of(column_types(fields, connection), connection)} "
            f"RETURNING {returning}"
        )
        params = [array_literal(column) for column in columns]
    else:
        placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({names}) "  # noqa: S608  # nosec B608 - names from the model, values are parameters
            f"VALUES {', '.join([placeholder] * len(rows))} RETURNING {returning}"
        )
        params = [value for values in zip(*columns, strict=True) for value in values]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]


@dataclass(frozen=True)
class ChainBreak:
    event_id: int | None
    reason: str


def _client_break(event: AuditEvent, key: bytes, cleared_up_to: int) -> ChainBreak | None:
    """The address and browser of an event hashed over its digest must match the digest, or
    be cleared by the retention sweep (an event no later than the newest it says it
    cleared)."""
    if event.client_digest is None:
        return None  # hashed over the fields themselves
    if event.client_address is None and not event.user_agent:
        if event.client_digest and event.id > cleared_up_to:
            return ChainBreak(
                event.id,
                "its client address and browser are gone, but no retention sweep says it "
                "cleared them (removed)",
            )
        return None
    recorded = client_digest(address=event.client_address, user_agent=event.user_agent, key=key)
    if not hmac.compare_digest(event.client_digest, recorded):
        return ChainBreak(
            event.id,
            "its client address or browser does not match the digest its hash covers (altered)",
        )
    return None


def _link_break(
    event: AuditEvent, previous_hash: str, key: bytes, cleared_up_to: int = 0
) -> ChainBreak | None:
    if event.previous_hash != previous_hash:
        return ChainBreak(
            event.id,
            "its previous hash does not match the event before it "
            "(an event was removed or reordered)",
        )
    content = event_content(event)
    if hmac.compare_digest(
        event.hash, event_hash(previous_hash=previous_hash, content=content, key=key)
    ):
        return _client_break(event, key, cleared_up_to)
    if event.hash == event_hash_unkeyed(previous_hash=previous_hash, content=content):
        return ChainBreak(
            event.id,
            "its hash is plain SHA-256, made without the audit key (recomputed by someone "
            "without the key, or a trail from before the keyed chain: docs/threat-model.md)",
        )
    return ChainBreak(event.id, "its content does not match its hash (altered)")


def _client_fields_cleared_up_to() -> int:
    """The newest event the retention sweep says it cleared. Its events are links of the
    chain like any other, so one forged to cover more is itself a break."""
    up_to = 0
    for changes in AuditEvent.objects.filter(action=CLIENT_FIELDS_CLEARED).values_list(
        "changes", flat=True
    ):
        value = changes.get("up_to_id") if isinstance(changes, dict) else None
        if isinstance(value, int):
            up_to = max(up_to, value)
    return up_to


def audit_chain_verify(
    *,
    checkpoints: list | None = None,
    chunk_size: int = 5000,
    workers: int | None = None,
    parallel_from: int = 100_000,
) -> tuple[int, ChainBreak | None]:
    """Walk the chain oldest first; return (events checked, first break or None).

    Each link must carry the keyed hash, and its client address and browser must match the
    digest the hash covers unless the retention sweep cleared them; the head must name the newest event; and each of
    `checkpoints` (`audit.checkpoints.Checkpoint`, signed and kept outside the database)
    must find its event, with its hash, after exactly its count of events: a trail shorter
    than a checkpoint, or different up to it, is a break even when its own links hold.

    A trail of `parallel_from` events or more is first checked on `workers` processes
    (`AUDIT_VERIFY_WORKERS`, `audit.verify_parallel`); only a trail that fails there is
    walked here, in one process, to name its first broken link."""
    key = chain_key()
    cleared_up_to = _client_fields_cleared_up_to()
    workers = settings.AUDIT_VERIFY_WORKERS if workers is None else workers
    head, newest = _head_and_newest()
    head_id = head.last_id if head is not None else 0
    if workers > 1 and head_id >= parallel_from:
        from .verify_parallel import audit_chain_verify_parallel

        checked = audit_chain_verify_parallel(
            checkpoints=list(checkpoints or []),
            cleared_up_to=cleared_up_to,
            workers=workers,
            chunk_size=chunk_size,
            genesis=GENESIS_HASH,
        )
        if checked is not None:
            return checked, None
    pending = sorted(checkpoints or [], key=lambda checkpoint: checkpoint.last_id)
    pending = [checkpoint for checkpoint in pending if checkpoint.last_id > 0]
    previous_hash = GENESIS_HASH
    last_id = 0
    checked = 0
    # Up to the head as it stood when the walk began: events appended since, with their head,
    # are the next verification's.
    up_to_id = head_id if head is not None else None
    for event in _events_checked_fast(key, cleared_up_to, chunk_size, up_to_id=up_to_id):
        if pending and pending[0].last_id < event.id:
            return checked, ChainBreak(
                event.id, f"the event {pending[0].describe()} names is missing (removed)"
            )
        if not event.verified or event.previous_hash != previous_hash:
            chain_break = _link_break(event.model(), previous_hash, key, cleared_up_to)
            if chain_break is not None:
                return checked, chain_break
        previous_hash = event.hash
        last_id = event.id
        checked += 1
        while pending and pending[0].last_id == event.id:
            checkpoint = pending.pop(0)
            if checkpoint.head_hash != event.hash or checkpoint.events != checked:
                return checked, ChainBreak(
                    event.id,
                    f"the trail up to it differs from {checkpoint.describe()} "
                    f"({checked} events here, hash {event.hash[:12]}…)",
                )
    if pending:
        return checked, ChainBreak(
            None,
            f"the trail is shorter than {pending[-1].describe()} "
            f"(it ends at event {last_id or 'none'}, {checked} events)",
        )
    if head is None:
        if checked:
            return checked, ChainBreak(None, "the chain head is missing")
    elif head.last_hash != previous_hash or head.last_id != last_id:
        return checked, ChainBreak(None, "the newest event(s) were removed from the end")
    elif newest > head.last_id:
        return checked, ChainBreak(newest, "an event after the chain head is not in the chain")
    return checked, None


def _head_and_newest() -> tuple[AuditChainHead | None, int]:
    """The chain head and the newest event's id, read by one statement, so from one snapshot:
    an event is appended with its head in one transaction, so there the newest event is the
    head's, whatever is appended while the trail is walked."""
    newest = AuditEvent.objects.order_by("-id").values("id")[:1]
    head = AuditChainHead.objects.filter(pk=1).annotate(newest=models.Subquery(newest)).first()
    if head is None:
        return None, AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return head, head.newest or 0


_VERIFY_COLUMNS = ("id", *RECORDED_COLUMNS, "previous_hash", "hash")


@dataclass
class _CheckedRow:
    """One event as the fast walk read it: `verified` when its own hash and client digest
    hold (its link to the one before is compared by the caller)."""

    values: tuple
    verified: bool

    @property
    def id(self) -> int:
        return self.values[0]

    @property
    def previous_hash(self) -> str:
        return self.values[12]

    @property
    def hash(self) -> str:
        return self.values[13]

    def model(self) -> AuditEvent:
        fields = dict(zip(_VERIFY_COLUMNS, self.values, strict=True))
        if isinstance(fields["changes"], str):
            fields["changes"] = json.loads(fields["changes"])
        return AuditEvent(**fields)


def _verify_rows(connection, after_id: int, up_to_id: int | None, chunk_size: int):
    """The events after `after_id` (up to `up_to_id`) in id order, as tuples of
    `_VERIFY_COLUMNS`. On PostgreSQL from a server-side cursor, `changes` as its JSON text
    (decoding it is cheaper than Django's converters); elsewhere (`make run`'s SQLite, whose
    raw rows hold dates as text) through the ORM, converted."""
    if connection.vendor != "postgresql":
        events = AuditEvent.objects.using(connection.alias).filter(id__gt=after_id)
        if up_to_id is not None:
            events = events.filter(id__lte=up_to_id)
        yield from events.order_by("id").values_list(*_VERIFY_COLUMNS).iterator(chunk_size)
        return
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(AuditEvent._meta.get_field(name).column) for name in _VERIFY_COLUMNS[:-3]
    )
    sql = (
        f"SELECT {columns}, {quote('changes')}::text, {quote('previous_hash')}, {quote('hash')} "  # noqa: S608  # nosec B608 - names from the model
        f"FROM {quote(AuditEvent._meta.db_table)} WHERE {quote('id')} > %s"
        + (f" AND {quote('id')} <= %s" if up_to_id is not None else "")
        + f" ORDER BY {quote('id')}"
    )
    params = [after_id] if up_to_id is None else [after_id, up_to_id]
    with transaction.atomic(using=connection.alias), connection.chunked_cursor() as cursor:
        cursor.itersize = chunk_size
        cursor.execute(sql, params)
        yield from cursor


def _events_checked_fast(
    key: bytes,
    cleared_up_to: int,
    chunk_size: int,
    *,
    after_id: int = 0,
    up_to_id: int | None = None,
    using: str | None = None,
):
    """Every event in id order, each checked against its own hash, from a server-side
    cursor as plain rows: a model instance and Django's JSON encoder per event cost more
    than the HMAC itself over two million events. A row that fails here is checked again by
    `_link_break`, which says why."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
    loads = json.loads
    compare = hmac.compare_digest
    digests: dict[tuple, str] = {}
    connection = connections[using or router.db_for_read(AuditEvent)]
    for row in _verify_rows(connection, after_id, up_to_id, chunk_size):
        (pk, occurred_at, actor_id, actor_label, action, object_type, object_id) = row[:7]
        object_repr, address, user_agent, digest, changes, previous_hash, hashed = row[7:]
        content = hashed_content(
            occurred_at=occurred_at,
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr,
            changes=loads(changes) if isinstance(changes, str) else changes,
            client_address=address,
            user_agent=user_agent,
            client_digest=digest,
        )
        mac = keyed.copy()
        mac.update((previous_hash + dumps(content)).encode("utf-8"))
        verified = compare(mac.hexdigest(), hashed)
        if verified and digest is not None:
            if address is None and not user_agent:
                verified = not digest or pk <= cleared_up_to
            else:
                # Few distinct clients sign most events: each pair's digest once.
                recorded = digests.get((address, user_agent))
                if recorded is None:
                    if len(digests) > 100_000:
                        digests.clear()
                    recorded = client_digest(address=address, user_agent=user_agent, key=key)
                    digests[(address, user_agent)] = recorded
                verified = compare(digest, recorded)
        yield _CheckedRow(row, verified)
