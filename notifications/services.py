"""Writing emails to the outbox and sending them.

The calling service decides who is told and calls `email_queue` inside its transaction;
the row is sent by a Celery task after commit, and the outbox sweep sends anything a
broker or mail-server outage left behind.
"""

import json
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone

from audit.services import SystemActor, record
from core.arrays import array_literal, unnest_of
from core.models import column_fields, primary_key_field

from .models import OutboundEmail
from .rendering import email_not_needed_because, email_render_sending
from .secrets import secrets_seal
from .transports import SendDeferred, SendFailed, email_transport

logger = logging.getLogger(__name__)

SENDER = SystemActor("outbox")


@dataclass
class Outgoing:
    """One email to write to the outbox: one row per recipient, each rendered when sent.

    `context` holds plain JSON values only (strings, numbers, booleans, lists and dicts of
    them; dates written out as the email shows them): it is stored on the row, so a value
    JSON cannot hold fails here, in the caller's transaction, not later in the sender.
    `to` is a list of (address, dedupe_key) pairs; a pair whose dedupe key was used before
    is skipped (that email exists already). `secrets` holds the live values the template
    shows besides (a link with its token): they are stored sealed, used by the sender, and
    only ever stored masked in the email that went out (see `notifications.secrets`).
    `extra` holds what this email shows besides `context` (the row stores the two merged,
    `extra` winning): emails of one call that share the same `context` dict (a grant's
    holder, director and ICT) encode it and send it to PostgreSQL once."""

    template: str
    context: dict
    to: list[tuple[str, str | None]]
    related: models.Model | None = None
    secrets: dict[str, str] | None = None
    extra: dict | None = None


def email_queue_many(messages: list[Outgoing]) -> list[int]:
    """Write several emails to the outbox in one INSERT (ON CONFLICT DO NOTHING on the
    dedupe key), in the caller's transaction. Returns the ids of the rows written (not of
    the skipped duplicates). Nothing is rendered here (the sender renders each email when
    it sends it, see `outbound_email_send`); sending is queued for after the surrounding
    transaction commits (unless `SNS_SEND_EMAIL_ON_COMMIT` is off: then the outbox sweep
    sends them)."""
    rows, contexts = [], []
    places: dict[int, int] = {}  # id() of a context dict → its place in `contexts`
    for message in messages:
        related = message.related
        # Every recipient's row refers to its context by its place; a context shared by
        # several messages is encoded once (`messages` keeps each dict alive, so no id()
        # is reused meanwhile).
        context = places.get(id(message.context))
        if context is None:
            context = places[id(message.context)] = len(contexts)
            contexts.append(json.dumps(message.context))
        extra = json.dumps(message.extra) if message.extra else None
        object_type = related._meta.label_lower if related is not None else ""
        object_id = str(related.pk) if related is not None else ""
        sealed = secrets_seal(message.secrets) if message.secrets else None
        for address, dedupe_key in message.to:
            rows.append(
                (
                    address,
                    message.template,
                    context,
                    extra,
                    sealed,
                    dedupe_key,
                    object_type,
                    object_id,
                )
            )
    ids = _insert_skipping_duplicates(rows, contexts=contexts, now=timezone.now())
    if ids and settings.SNS_SEND_EMAIL_ON_COMMIT:
        transaction.on_commit(lambda: _after_commit(ids))
    return ids


# What `_insert_skipping_duplicates` writes for each email; every other column is the same
# for every email of a call (a pending, unrendered email).
_PER_EMAIL = ("to", "template", "context", "secret", "dedupe_key", "object_type", "object_id")
# Each row as `email_queue_many` builds it: `_PER_EMAIL`'s values, its context as its place
# in the call's contexts, and the JSON of its `extra` (or None) after it.
_ROW = ("to", "template", "context", "extra", "secret", "dedupe_key", "object_type", "object_id")


def _insert_skipping_duplicates(rows: list[tuple], *, contexts: list[str], now) -> list[int]:
    """One INSERT … ON CONFLICT DO NOTHING RETURNING id: no savepoint per email, and an
    email whose dedupe key exists already is left out (it went out, or will, once).

    Each row holds the `_ROW` values: its context as its place (0-based) in `contexts`
    (JSON texts, sent as one JSON array parsed once) and the JSON of what it adds to it
    (`Outgoing.extra`, merged in SQL): a message to several people (every ICT member, on
    every expired grant), or several messages sharing a context, send and parse it once,
    not once per recipient, so the SQL text does not repeat the same contexts. The columns
    every pending email shares are given once, not once per row, each per-email column as
    one array (`core.arrays`), and no model instance is built: a sweep writes thousands of
    rows, and adapting and parsing every value of every row would cost more than the INSERT
    itself. A field added to the model must be added here (the `shared` dict below raises
    KeyError for it)."""
    if not rows:
        return []
    shared = {
        "subject": "",
        "body_text": "",
        "body_html": "",
        "status": OutboundEmail.Status.PENDING,
        "attempts": 0,
        "last_error": "",
        "claimed_until": None,
        "next_attempt_at": now,
        "sent_at": None,
        "sent_via": "",
        "provider_id": "",
        "delivery_status": "",
        "delivery_updated_at": None,
        "created_at": now,
        "updated_at": now,
    }
    meta = OutboundEmail._meta
    connection = connections[router.db_for_write(OutboundEmail)]
    quote = connection.ops.quote_name
    fields = column_fields(OutboundEmail)
    others = [f for f in fields if not f.primary_key and f.attname not in _PER_EMAIL]
    columns = [meta.get_field(name).column for name in _PER_EMAIL] + [f.column for f in others]
    if connection.vendor != "postgresql":
        return _insert_rows_plainly(connection, rows, contexts, shared, columns, others)
    context, extra = f"c.contexts -> v.{quote('context')}", f"v.{quote('extra')}"
    selected = [f"v.{quote(name)}" for name in _PER_EMAIL]
    selected[_PER_EMAIL.index("context")] = (
        f"CASE WHEN {extra} IS NULL THEN {context} ELSE ({context}) || {extra} END"
    )
    selected += ["%s"] * len(others)
    # Each row's column is one array (`core.arrays`); its context is its place in the array
    # of contexts, which is a constant, parsed once.
    row_columns = [
        (name, meta.get_field(name).db_type(connection) if name in _PER_EMAIL else "jsonb")
        for name in _ROW
    ]
    row_columns[_ROW.index("context")] = ("context", "integer")
    # Table and column names come from the model; the values are parameters. Rows stay in
    # the order given, and take their ids in that order.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608  # nosec B608 - names from the model, values are parameters
        f"SELECT {', '.join(selected)} FROM {unnest_of(row_columns, connection)} "
        "CROSS JOIN (SELECT %s::jsonb AS contexts) AS c "
        f"ON CONFLICT DO NOTHING RETURNING {quote(primary_key_field(OutboundEmail).column)}"
    )
    params = [shared[f.attname] for f in others]
    params += [array_literal(column) for column in zip(*rows, strict=True)]
    params.append("[" + ",".join(contexts) + "]")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]


def _insert_rows_plainly(connection, rows, contexts, shared, columns, others) -> list[int]:
    """The same INSERT for SQLite (`make run`'s demo database): every value of every row
    as a parameter, its context (with its extra values) as JSON text."""
    quote = connection.ops.quote_name
    params = []
    for row in rows:
        values = dict(zip(_ROW, row, strict=True))
        context = contexts[values["context"]]
        if values["extra"] is not None:
            context = json.dumps({**json.loads(context), **json.loads(values["extra"])})
        values["context"] = context
        params += [values[name] for name in _PER_EMAIL] + [shared[f.attname] for f in others]
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = (
        f"INSERT INTO {quote(OutboundEmail._meta.db_table)} "  # noqa: S608  # nosec B608 - names from the model, values are parameters
        f"({', '.join(quote(c) for c in columns)}) VALUES {', '.join([placeholder] * len(rows))} "
        f"ON CONFLICT DO NOTHING RETURNING {quote(primary_key_field(OutboundEmail).column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]


def email_queue(
    *,
    to: str,
    template: str,
    context: dict,
    related: models.Model | None = None,
    dedupe_key: str | None = None,
    secrets: dict[str, str] | None = None,
) -> OutboundEmail | None:
    """Write the email `notifications/email/<template>.{subject.txt,txt,html}` with `context`
    (plain JSON values, see `Outgoing`) to the outbox.

    Returns None when `dedupe_key` was already used (the email exists already).
    Sending is queued for after the surrounding transaction commits.
    """
    written = email_queue_many(
        [
            Outgoing(
                template=template,
                context=context,
                to=[(to, dedupe_key)],
                related=related,
                secrets=secrets,
            )
        ]
    )
    return OutboundEmail.objects.get(pk=written[0]) if written else None


# While a sweep runs, committed emails are collected and published to the broker in chunks
# (one task per chunk) instead of one message per email; whatever a crash leaves behind is
# pending in the outbox, and the outbox sweep sends it.
_batching = threading.local()
SEND_CHUNK = 100


@contextmanager
def email_sends_batched(*, chunk: int = SEND_CHUNK):
    """Within this block, emails committed are queued for sending `chunk` at a time."""
    if getattr(_batching, "ids", None) is not None:  # nested: the outer block flushes
        yield
        return
    _batching.ids = []
    _batching.chunk = chunk
    try:
        yield
    finally:
        ids, _batching.ids = _batching.ids, None
        for start in range(0, len(ids), chunk):
            _enqueue_send(ids[start : start + chunk])


def _after_commit(ids: list[int]) -> None:
    pending = getattr(_batching, "ids", None)
    if pending is None:
        for email_id in ids:
            _enqueue_send(email_id)
        return
    pending.extend(ids)
    if len(pending) >= _batching.chunk:
        _batching.ids = []
        _enqueue_send(pending)


def _enqueue_send(email_id: int | list[int]) -> None:
    """Queue one email (an id) or several (a list of ids, one task) for sending."""
    from .tasks import send_outbound_email, send_outbound_emails

    try:
        if isinstance(email_id, list):
            send_outbound_emails.delay(email_id)
        else:
            send_outbound_email.delay(email_id)
    except Exception:  # noqa: BLE001 - broker down: the outbox sweep sends it later
        logger.warning("Broker unavailable; email %s waits for the outbox sweep", email_id)


def _claim(email_id: int) -> OutboundEmail | None:
    """Take the row for sending unless it is sent, failed or claimed by another sender."""
    now = timezone.now()
    claimed = (
        OutboundEmail.objects.filter(pk=email_id, status=OutboundEmail.Status.PENDING)
        .filter(models.Q(claimed_until__isnull=True) | models.Q(claimed_until__lt=now))
        .update(
            claimed_until=now + timedelta(seconds=settings.SNS_OUTBOX_CLAIM_SECONDS), updated_at=now
        )
    )
    if not claimed:
        return None
    return OutboundEmail.objects.get(pk=email_id)


def outbox_message_id(email: OutboundEmail) -> str:
    """The same Message-ID on every attempt: a sender that died after the mail server took
    the email but before marking it sent resends it, and the copy is recognisably the same."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<sns-outbox-{email.pk}-{int(email.created_at.timestamp())}@{domain}>"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 1, 2, 4, 8 … minutes, capped at an hour."""
    return timedelta(minutes=min(60, 2 ** max(attempts - 1, 0)))


def outbound_email_send(*, email_id: int) -> OutboundEmail | None:
    """Send one email if it is still waiting. Safe to call twice: a sent row is skipped."""
    email = _claim(email_id)
    if email is None:
        return None
    reason = email_not_needed_because(email)
    if reason is not None:
        _set_aside(email, reason=reason)
        return email
    try:
        content, stored = email_render_sending(email)
    except Exception as exc:  # noqa: BLE001 - a template that cannot render: recorded, retried
        logger.exception("Email %s (%s) could not be rendered", email.pk, email.template)
        _record_failure(email, exc)
        return email
    try:
        sent = email_transport().send(
            email=email, content=content, message_id=outbox_message_id(email)
        )
    except SendDeferred as deferred:
        _defer(email, until=deferred.until)
        return email
    except SendFailed as exc:
        _record_failure(email, exc, give_up=not exc.retry)
        return email
    with transaction.atomic():
        now = timezone.now()
        # The row keeps what went out with its live values masked, and drops the context
        # and the sealed values it was rendered from.
        OutboundEmail.objects.filter(pk=email.pk).update(
            status=OutboundEmail.Status.SENT,
            sent_at=now,
            sent_via=sent.via,
            provider_id=sent.provider_id,
            attempts=models.F("attempts") + 1,
            claimed_until=None,
            last_error="",
            updated_at=now,
            subject=stored.subject,
            body_text=stored.body_text,
            body_html=stored.body_html,
            context=None,
            secret=None,
        )
        _email_event(
            email,
            action="email.sent",
            changes={
                "status": ["pending", "sent"],
                "to": email.to,
                "subject": stored.subject,
                "via": sent.via,
                **({"provider_id": sent.provider_id} if sent.provider_id else {}),
            },
        )
    return email


def _email_event(email: OutboundEmail, *, action: str, changes: dict) -> None:
    """The sender's audit event for this email, as its row now stands."""
    email.refresh_from_db()
    record(
        actor=SENDER,
        action=action,
        obj=email,
        object_repr=f"{email.template} to {email.to}",
        changes=changes,
    )


def _set_aside(email: OutboundEmail, *, reason: str) -> None:
    """Not sent, for good: what the email was about moved on after it was written. The row
    keeps why, and neither its context nor its sealed live values."""
    with transaction.atomic():
        now = timezone.now()
        OutboundEmail.objects.filter(pk=email.pk).update(
            status=OutboundEmail.Status.NOT_NEEDED,
            last_error=reason[:2000],
            claimed_until=None,
            next_attempt_at=None,
            context=None,
            secret=None,
            updated_at=now,
        )
        _email_event(
            email,
            action="email.not_needed",
            changes={"status": ["pending", "not_needed"], "reason": reason},
        )


def _defer(email: OutboundEmail, *, until) -> None:
    """Not sent for now (the transport's rate limit): the claim is let go and the email waits
    until `until`, without counting an attempt, so a burst larger than the limit goes out
    over the following minutes rather than using up its attempts."""
    OutboundEmail.objects.filter(pk=email.pk).update(
        claimed_until=None, next_attempt_at=until, updated_at=timezone.now()
    )


def _record_failure(email: OutboundEmail, exc: Exception, *, give_up: bool = False) -> None:
    attempts = email.attempts + 1
    gave_up = give_up or attempts >= settings.SNS_OUTBOX_MAX_ATTEMPTS
    now = timezone.now()
    # Given up, the row keeps what it would have said (masked, if it renders at all) and
    # neither its context nor its sealed live values.
    given_up = {"context": None, "secret": None, **_stored_content(email)} if gave_up else {}
    error = (str(exc) if isinstance(exc, SendFailed) else f"{type(exc).__name__}: {exc}")[:2000]
    with transaction.atomic():
        OutboundEmail.objects.filter(pk=email.pk).update(
            **given_up,
            attempts=attempts,
            last_error=error,
            claimed_until=None,
            status=OutboundEmail.Status.FAILED if gave_up else OutboundEmail.Status.PENDING,
            next_attempt_at=None if gave_up else now + retry_delay(attempts),
            updated_at=now,
        )
        _email_event(
            email,
            action="email.failed" if gave_up else "email.send_failed",
            changes={
                "attempts": [attempts - 1, attempts],
                "error": error,
                **({"status": ["pending", "failed"]} if gave_up else {}),
            },
        )
    logger.warning("Sending email %s failed (attempt %s): %s", email.pk, attempts, exc)


def _stored_content(email: OutboundEmail) -> dict:
    try:
        stored = email.content()
    except Exception:  # noqa: BLE001 - the template is what failed: nothing to keep
        return {}
    return {"subject": stored.subject, "body_text": stored.body_text, "body_html": stored.body_html}


def outbox_due_ids(*, limit: int = 500) -> list[int]:
    """Emails waiting whose next attempt is due (uses the partial pending index)."""
    now = timezone.now()
    return list(
        OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING, next_attempt_at__lte=now)
        .filter(models.Q(claimed_until__isnull=True) | models.Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def outbox_sweep(*, limit: int = 500) -> int:
    """Send what is due; each email is claimed and sent on its own. Returns emails sent."""
    sent = 0
    for email_id in outbox_due_ids(limit=limit):
        email = outbound_email_send(email_id=email_id)
        if email is not None and email.status == OutboundEmail.Status.SENT:
            sent += 1
    return sent
