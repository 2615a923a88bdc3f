"""Reminders to approvers who have not decided, and escalation after the last one (Celery
beat runs `approval_remind_due`).

The sweep takes cases, then their requests, with `skip_locked`, so it never waits behind a
decision (or another sweep).
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from access_requests.models import BusinessCase
from audit.services import NewEvent, SystemActor, record, record_many
from core.arrays import array_literal, unnest_of
from core.lookups import ids_any
from core.models import model_reference
from core.prepared import PreparedQuery
from core.sweeping import batches_handle
from core.working_days import add_working_days, add_working_days_at
from notifications.rendering import email_date
from notifications.services import Outgoing, email_queue_many, email_sends_batched

from .. import emails, selectors
from ..models import ApprovalReminder, ApprovalRequest
from .authority import approvals_supersede_lost_authority
from .closing import approvals_supersede_for_withdrawal
from .links import EmailLinks, token_issue
from .routing import Route, approval_request_create, fallback_approvers

logger = logging.getLogger(__name__)

# Reminders are written this many at a time, one transaction each (see `approval_remind_due`).
REMIND_BATCH_SIZE = 500

REMINDER_SWEEP = SystemActor("approval_remind_due")


def approval_remind_due() -> int:
    """Send the reminders (and escalations) that are due. Returns how many were handled.

    Due rows are walked through the partial index on open requests' (`next_reminder_at`,
    id), oldest first, by keyset, `REMIND_BATCH_SIZE` at a time, each batch in one
    transaction (`_approvals_remind`; two batches at a time on PostgreSQL, see
    `batches_handle`): its cases and requests are taken with `skip_locked`, so two sweeps
    running together never remind twice (and the unique ApprovalReminder rows and the
    emails' dedupe keys make sure of it even after a crash and retry). What a batch leaves
    to do one at a time (a withdrawn case's request to close, an escalation after the last
    reminder) is done by `approval_remind_one`, each in its own transaction, and so is
    every item of a batch that failed, so that one bad item holds back nobody else. One run
    handles everything due when it started, a backlog too.
    """
    now = timezone.now()

    def batches():
        after = None
        while due := selectors.approvals_reminder_due(
            now=now, after=after, limit=REMIND_BATCH_SIZE
        ):
            after = due[-1][:2]
            yield [(approval_id, case_id) for _, approval_id, case_id in due]

    return sum(batches_handle(batches(), _remind_batch, each_thread_within=email_sends_batched))


def _remind_batch(batch: list[tuple[int, int]]) -> int:
    """Remind one batch of (approval request id, case id) pairs; returns how many were
    handled. A batch that fails is retried one pair at a time."""
    try:
        handled, one_at_a_time = _approvals_remind(items=batch)
    except Exception:
        logger.exception("Reminding a batch of %s failed; one at a time", len(batch))
        handled, one_at_a_time = 0, batch
    for approval_id, case_id in one_at_a_time:
        try:
            handled += approval_remind_one(approval_id=approval_id, case_id=case_id)
        except Exception:
            logger.exception("Reminder for approval request %s failed", approval_id)
    return handled


def _cases_lock(ids: list[int]):
    return (
        BusinessCase.objects.select_for_update(skip_locked=True)
        .filter(ids_any(BusinessCase, "id", ids))
        .order_by("pk")
        .values_list("pk", "status", "reference")
    )


def _approvals_lock(ids: list[int]):
    return (
        ApprovalRequest.objects.select_for_update(skip_locked=True)
        .filter(ids_any(ApprovalRequest, "id", ids))
        .order_by("pk")
        .values_list("pk", "business_case_id", "status", "next_reminder_at", "reminders_sent")
    )


# A batch's locks, built once per process and prepared once per connection
# (`core.prepared`): building the two querysets cost each batch more Python than its loop.
_CASES_LOCK = PreparedQuery("approvals_remind_cases_lock", _cases_lock, ids=[-(2**62) + 71])
_APPROVALS_LOCK = PreparedQuery(
    "approvals_remind_approvals_lock", _approvals_lock, ids=[-(2**62) + 73]
)


def _approvals_remind(*, items: list[tuple[int, int]]) -> tuple[int, list[tuple[int, int]]]:
    """Send the next reminder of each of these (approval request id, case id) pairs that is
    still due, in one transaction: the cases, then their requests, are locked with
    `skip_locked` (what another sweep or a decision holds is left alone), each request's
    state is checked, one ApprovalReminder row per reminder is inserted (ON CONFLICT DO
    NOTHING: one that exists went out already), the requests get their fresh links in one
    UPDATE, the emails go to the outbox in one INSERT and the events to the audit trail in
    one append, recorded last.

    Returns how many were reminded, and the pairs that need more than a reminder (a case no
    longer waiting, a request that had its last reminder) for `approval_remind_one`."""
    now = timezone.now()
    with transaction.atomic():
        # The locks take the rows by primary key only and the state is checked here, on the
        # locked rows: with the due condition in SQL, stale statistics can make PostgreSQL
        # read every due request for each batch.
        cases = {
            pk: (status, reference)
            for pk, status, reference in _CASES_LOCK.run(
                ids=list({case_id for _, case_id in items})
            )
        }
        locked = _APPROVALS_LOCK.run(
            ids=[approval_id for approval_id, case_id in items if case_id in cases]
        )
        # A fresh link goes only to someone who may still decide: the others are left to
        # `approval_remind_one`, which supersedes their request and routes the case afresh.
        # The check gives each approver's address too (the reminder's recipient).
        with_authority = (
            selectors.approvals_with_authority_among(
                ids=[row[0] for row in locked], on=timezone.localdate(now)
            )
            if locked
            else {}
        )
        to_remind, one_at_a_time = [], []
        for approval_id, case_id, status, next_reminder_at, reminders_sent in locked:
            if (
                case_id not in cases
                or status != ApprovalRequest.Status.OPEN
                or next_reminder_at is None
                or next_reminder_at > now
            ):
                continue  # decided, closed or reminded meanwhile
            case_status, reference = cases[case_id]
            if (
                case_status == BusinessCase.Status.SUBMITTED
                and reminders_sent < settings.SNS_MAX_REMINDERS
                and approval_id in with_authority
            ):
                to_remind.append(
                    _Reminder(
                        approval_id,
                        case_id,
                        reminders_sent + 1,
                        with_authority[approval_id],
                        reference or f"Draft {case_id}",  # str(case)
                    )
                )
            else:
                one_at_a_time.append((approval_id, case_id))
        to_remind = _reminder_rows_insert(to_remind)
        if to_remind:
            _reminders_write(reminders=to_remind, now=now)
    return len(to_remind), one_at_a_time


@dataclass(frozen=True)
class _Reminder:
    """One reminder to send: the request, its case, the reminder's number, the approver's
    address and the case as the audit trail names it."""

    approval_id: int
    case_id: int
    number: int
    approver_email: str
    case_repr: str


def _reminder_rows_insert(reminders: list[_Reminder]) -> list[_Reminder]:
    """One ApprovalReminder row per reminder, in one INSERT … ON CONFLICT DO NOTHING: the
    reminders whose row was written (a row that exists means that reminder went out
    already). No savepoint per row; on PostgreSQL each column is one array (`core.arrays`)."""
    if not reminders:
        return []
    table = ApprovalReminder._meta.db_table
    sent_at = timezone.now()
    if connection.vendor == "postgresql":
        # The names are the model's and `unnest_of`'s; the values are parameters.
        arrays = unnest_of(_REMINDER_ROW, connection)
        rows = f"SELECT v.approval_request_id, v.number, %s FROM {arrays}"  # noqa: S608  # nosec B608
        params = [
            sent_at,
            array_literal(r.approval_id for r in reminders),
            array_literal(r.number for r in reminders),
        ]
    else:  # `make run`'s SQLite
        rows = "VALUES " + ", ".join(["(%s, %s, %s)"] * len(reminders))
        params = [value for r in reminders for value in (r.approval_id, r.number, sent_at)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (approval_request_id, number, sent_at) {rows} "  # noqa: S608  # nosec B608 - the table name is the model's, values are parameters
            "ON CONFLICT DO NOTHING RETURNING approval_request_id",
            params,
        )
        written = {row[0] for row in cursor.fetchall()}
    return [r for r in reminders if r.approval_id in written]


_REMINDER_ROW = [("approval_request_id", "bigint"), ("number", "integer")]
_FRESH_LINK = [("id", "bigint"), ("reminders_sent", "integer"), ("token_hash", "text")]


def _fresh_links_update(
    links: list[tuple[int, int, str]], *, expires, next_reminder_at, now
) -> None:
    """One UPDATE … FROM for the whole batch: each request's (id, reminder count, new token
    hash), as one array per column (`core.arrays`), and the expiry and next reminder they
    share. (Django's `bulk_update` builds a CASE per field per row, which is slow for a
    batch this size.)"""
    table = ApprovalRequest._meta.db_table
    if connection.vendor != "postgresql":  # `make run`'s SQLite: no column list on VALUES
        for approval_id, reminders_sent, token_hash in links:
            ApprovalRequest.objects.filter(pk=approval_id).update(
                reminders_sent=reminders_sent,
                token_hash=token_hash,
                token_expires_at=expires,
                next_reminder_at=next_reminder_at,
                updated_at=now,
            )
        return
    params = [expires, next_reminder_at, now]
    params += [array_literal(column) for column in zip(*links, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS a SET reminders_sent = v.reminders_sent, "  # noqa: S608  # nosec B608 - the table name is the model's, values are parameters
            "token_hash = v.token_hash, token_expires_at = %s, next_reminder_at = %s, "
            f"updated_at = %s FROM {unnest_of(_FRESH_LINK, connection)} WHERE a.id = v.id",
            params,
        )


def _reminders_write(*, reminders: list[_Reminder], now) -> None:
    """Each request gets a fresh link (only its hash is stored, so the earlier link stops
    working: the pages say to use the newest email), a fresh expiry and its next reminder
    date; its approver gets the reminder with the link. The outbox row stores only the
    reminder's own values (`emails.reminder_stored_context`) and the link sealed: the case
    it shows is read when it is sent. The case and request objects the outbox and the audit
    trail refer to are built from their ids."""
    next_reminder_at = add_working_days_at(now, settings.SNS_REMINDER_WORKING_DAYS)
    links = EmailLinks.resolve()
    outgoing, events, fresh = [], [], []
    tz = timezone.get_current_timezone()  # looked up once: see `email_date`
    # Every link of a batch expires at the same time: its text in the emails, and in the
    # events' changes as the audit trail's encoder writes it, are worked out once.
    expiry_texts: dict = {}
    for reminder in reminders:
        token, digest, expires = token_issue(now)
        if expires not in expiry_texts:
            expiry_texts[expires] = (email_date(expires, tz), DjangoJSONEncoder().default(expires))
        expires_text, expires_json = expiry_texts[expires]
        fresh.append((reminder.approval_id, reminder.number, digest))
        outgoing.append(
            Outgoing(
                template="approval_reminder",
                context=emails.reminder_stored_context(
                    approval_id=reminder.approval_id,
                    number=reminder.number,
                    token_expires_text=expires_text,
                ),
                to=[
                    (
                        reminder.approver_email,
                        f"approval-reminder:{reminder.approval_id}:{reminder.number}",
                    )
                ],
                related=model_reference(ApprovalRequest, reminder.approval_id),
                secrets={"link": links.decide(token)},
            )
        )
        events.append(
            NewEvent(
                action="approval.reminded",
                obj=model_reference(BusinessCase, reminder.case_id),
                object_repr=reminder.case_repr,
                changes={
                    "approval_request": reminder.approval_id,
                    "approver": reminder.approver_email,
                    "reminder": reminder.number,
                    "link_expires_at": expires_json,
                },
            )
        )
    _fresh_links_update(fresh, expires=expires, next_reminder_at=next_reminder_at, now=now)
    email_queue_many(outgoing)
    # Recorded last: the audit chain's head stays locked from here until commit.
    record_many(actor=REMINDER_SWEEP, events=events)


def approval_remind_one(*, approval_id: int, case_id: int) -> bool:
    """The next step for one due request, in its own transaction: its reminder, or after
    the last one an escalation; a withdrawn case's request closes instead, and so does one
    whose approver lost the authority it was sent for (the case routed afresh if need be)."""
    with transaction.atomic():
        case = (
            BusinessCase.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(
                "requester__profile__business_unit__directorate__organisation",
                "paying_business_unit",
            )
            .filter(pk=case_id)
            .first()
        )
        if case is None:
            return False  # being decided, or another sweep has it
        now = timezone.now()
        approval = (
            ApprovalRequest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("approver__profile", "on_behalf_of__profile")
            .filter(pk=approval_id, status=ApprovalRequest.Status.OPEN, next_reminder_at__lte=now)
            .first()
        )
        if approval is None:
            return False  # handled already
        if case.status != BusinessCase.Status.SUBMITTED:
            # A withdrawn case whose request is still open (`case_withdraw` closes them, but
            # a case withdrawn some other way may have one left): close it the same way.
            approvals_supersede_for_withdrawal(
                case=case, approvals=[approval], actor=REMINDER_SWEEP, client=None
            )
            return False
        if not selectors.approval_authority(approval=approval, on=timezone.localdate(now)).ok:
            # No fresh link to someone who lost the authority: their request (and any other
            # of the case's in the same position) is superseded, and a case left with
            # nobody is routed afresh.
            approvals_supersede_lost_authority(case=case, actor=REMINDER_SWEEP)
            return True
        if approval.reminders_sent < settings.SNS_MAX_REMINDERS:
            return _approval_remind(case=case, approval=approval, now=now)
        approval.next_reminder_at = None
        approval.save(update_fields=["next_reminder_at", "updated_at"])
        if case_escalate(case=case, stalled=approval):
            return True
        # No escalation (the case was escalated already, or nobody is left to ask): the
        # reminders stop all the same, and the trail says so.
        record(
            actor=REMINDER_SWEEP,
            action="approval.reminders_stopped",
            obj=case,
            changes={
                "approval_request": approval.pk,
                "approver": approval.approver.email,
                "reminders_sent": approval.reminders_sent,
            },
        )
        return False


def _approval_remind(*, case: BusinessCase, approval: ApprovalRequest, now) -> bool:
    """The next reminder of one request (case and request locked by the caller), the same
    way as a batch of them."""
    written = _reminder_rows_insert(
        [
            _Reminder(
                approval.pk,
                case.pk,
                approval.reminders_sent + 1,
                approval.approver.email,
                str(case),
            )
        ]
    )
    if not written:
        return False  # this reminder went out already
    _reminders_write(reminders=written, now=now)
    return True


def case_escalate(
    *,
    case: BusinessCase,
    stalled: ApprovalRequest,
    actor=REMINDER_SWEEP,
    undeliverable: bool = False,
) -> bool:
    """The fallback approver (or else every admin) is asked too, once per case: after the
    last reminder, or when the approver's email cannot be delivered. The caller has locked
    the case. False when the case was escalated already or nobody is left to ask."""
    if stalled.routed_because == ApprovalRequest.Reason.ESCALATION:
        return False
    if case.approval_requests.filter(routed_because=ApprovalRequest.Reason.ESCALATION).exists():
        return False
    profile = getattr(case.requester, "profile", None)
    organisation = profile.business_unit.directorate.organisation if profile else None
    already = set(
        case.approval_requests.filter(status=ApprovalRequest.Status.OPEN).values_list(
            "approver_id", flat=True
        )
    )
    approvers, _ = fallback_approvers(
        organisation=organisation, exclude_ids=already | {case.requester_id}
    )
    lapses_on = timezone.localdate(
        case.submitted_at + datetime.timedelta(days=settings.SNS_LAPSE_AFTER_DAYS)
    )
    decide_by = min(
        add_working_days(timezone.localdate(), settings.SNS_REMINDER_WORKING_DAYS), lapses_on
    )
    for approver in approvers:
        approval_request_create(
            case=case,
            route=Route(approver, ApprovalRequest.Reason.ESCALATION, stage=stalled.stage),
            decide_by=decide_by,
            remind=False,
            actor=actor,
            client=None,
            action="approval.escalated",
            escalated_from=stalled,
            undeliverable=undeliverable,
        )
    return bool(approvers)
