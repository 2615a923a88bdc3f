"""Reading from a PostgreSQL streaming replica (`DATABASE_REPLICA_URL`), and when not to.

The database alias `replica` exists only when a replica is configured. Reads go there
only inside a view marked `@reads_from_replica` (the oversight wing's pages and CSV
exports, the read API), and only while all of these hold:

- the request is a GET or HEAD;
- the person has not changed anything in the last `SNS_READ_YOUR_WRITES_SECONDS`
  (`ReadYourWritesMiddleware` notes each state-changing request in the session), so
  they always see their own writes;
- the replica answers and is at most `SNS_REPLICA_MAX_LAG_SECONDS` behind (checked at
  most every `LAG_CHECK_SECONDS` per process, `replica_status`);
- the read is not inside a transaction on the primary (a read that a write depends on
  sees that write's own transaction), and its model is not one that decides who the
  person is or what they may do (sessions, permissions, the API's tokens: a revoked role
  or token ends at once, not when the replica catches up).

Everything else, every write included, goes to `default`, the primary. A view whose
replica fails while it runs (the server stopped, a query cancelled by replay) is run again
on the primary; the replica is then left alone until the next check.
"""

import contextvars
import dataclasses
import functools
import logging
import time

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connections
from django.http import StreamingHttpResponse

REPLICA = "replica"
# How long a process trusts its last look at the replica's lag (and at its being down).
LAG_CHECK_SECONDS = 2.0
# The session key holding when this person last sent a state-changing request (epoch s).
WROTE_AT_SESSION_KEY = "sns_wrote_at"
READ_METHODS = frozenset({"GET", "HEAD"})
# What a replica going away raises: a refused connection, or one dropped mid-query.
REPLICA_FAILURES = (DatabaseError, InterfaceError)
# Whose reads decide who someone is and what they may do: always the primary's.
PRIMARY_ONLY_APPS = frozenset({"sessions", "auth", "axes", "contenttypes"})
PRIMARY_ONLY_MODELS = frozenset({"api.ServiceToken", "people.User"})

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class _Reads:
    """One request's choice: reads may go to the replica; whether any did."""

    on_replica: bool
    used: bool = False


_reads: contextvars.ContextVar[_Reads | None] = contextvars.ContextVar(
    "replica_reads", default=None
)


@dataclasses.dataclass(frozen=True)
class ReplicaStatus:
    """The replica as last seen: whether it answered, and how far behind it was."""

    configured: bool
    answering: bool = False
    lag_seconds: float | None = None
    checked_at: float = 0.0
    problem: str = ""

    @property
    def usable(self) -> bool:
        return (
            self.answering
            and self.lag_seconds is not None
            and self.lag_seconds <= settings.SNS_REPLICA_MAX_LAG_SECONDS
        )


_last_status: ReplicaStatus | None = None

# Seconds since the last replayed transaction, or 0 when everything received is replayed
# (an idle primary sends nothing, so the replica is up to date however old that is).
# A server that is not in recovery (a test mirror of the primary) is never behind.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
END
"""


def replica_configured() -> bool:
    return REPLICA in connections.settings


def replica_status(*, fresh: bool = False) -> ReplicaStatus:
    """The replica's lag as this process last measured it, measured again if that was
    more than `LAG_CHECK_SECONDS` ago (or `fresh`). Never raises: a replica that does not
    answer is reported as such."""
    global _last_status
    if not replica_configured():
        return ReplicaStatus(configured=False)
    now = time.monotonic()
    if not fresh and _last_status and now - _last_status.checked_at < LAG_CHECK_SECONDS:
        return _last_status
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            lag = max(0.0, float(cursor.fetchone()[0]))
        _last_status = ReplicaStatus(
            configured=True, answering=True, lag_seconds=lag, checked_at=now
        )
    except REPLICA_FAILURES as error:
        _replica_close()
        _last_status = ReplicaStatus(configured=True, checked_at=now, problem=str(error)[:200])
    return _last_status


def _replica_close() -> None:
    try:
        connections[REPLICA].close()
    except REPLICA_FAILURES:
        logger.debug("Closing the replica's broken connection failed", exc_info=True)


def _replica_failed(error: Exception) -> None:
    """Leave the replica alone until the next check."""
    global _last_status
    logger.warning("Reading from the replica failed; reading from the primary: %s", error)
    _replica_close()
    _last_status = ReplicaStatus(
        configured=True, checked_at=time.monotonic(), problem=str(error)[:200]
    )


def wrote_recently(request) -> bool:
    session = getattr(request, "session", None)
    wrote_at = session.get(WROTE_AT_SESSION_KEY) if session is not None else None
    return wrote_at is not None and time.time() - wrote_at < settings.SNS_READ_YOUR_WRITES_SECONDS


def reads_may_use_replica(request) -> bool:
    """Whether this request's reads may go to the replica (see the module's docstring)."""
    return (
        replica_configured()
        and request.method in READ_METHODS
        and not wrote_recently(request)
        and replica_status().usable
    )


def reads_from_replica(view):
    """Marks a read-only view whose reads may be served by the replica.

    Who the person is and their session are read first, from the primary. A streamed
    response (a CSV export) keeps the choice while it is read out."""

    @functools.wraps(view)
    def on_replica_when_possible(request, *args, **kwargs):
        if not replica_configured():
            return view(request, *args, **kwargs)
        # Read now, from the primary: the person and their session.
        getattr(getattr(request, "user", None), "pk", None)
        reads = _Reads(on_replica=reads_may_use_replica(request))
        request.reads_on_replica = reads
        token = _reads.set(reads)
        try:
            response = view(request, *args, **kwargs)
        except REPLICA_FAILURES as error:
            if not reads.used:
                raise
            _replica_failed(error)
            reads.on_replica = False
            return view(request, *args, **kwargs)
        finally:
            _reads.reset(token)
        if isinstance(response, StreamingHttpResponse) and reads.on_replica:
            response.streaming_content = _streamed_with(reads, response.streaming_content)
        return response

    on_replica_when_possible.reads_from_replica = True
    return on_replica_when_possible


def _streamed_with(reads: _Reads, chunks):
    """Each chunk made with this request's choice of database in force."""
    chunks = iter(chunks)
    while True:
        token = _reads.set(reads)
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        finally:
            _reads.reset(token)
        yield chunk


def reading_from_replica() -> bool:
    """Whether this request's reads go to the replica (for the page's own note)."""
    reads = _reads.get()
    return bool(reads and reads.on_replica)


class ReplicaRouter:
    """Sends a read to the replica when the request allows it (`reads_from_replica`);
    everything else to the primary. With no replica configured it never answers, and
    Django uses `default` as it would without a router."""

    def db_for_read(self, model, **hints):
        reads = _reads.get()
        if reads is None or not reads.on_replica:
            return None
        meta = model._meta
        if meta.app_label in PRIMARY_ONLY_APPS or meta.label in PRIMARY_ONLY_MODELS:
            return None
        if connections["default"].in_atomic_block:
            return None
        reads.used = True
        return REPLICA

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's very rows.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # A replica is read-only; it gets its tables from the primary's WAL.
        return db != REPLICA


class ReadYourWritesMiddleware:
    """Notes in the session when a signed-in person sends a state-changing request, so
    their next pages for `SNS_READ_YOUR_WRITES_SECONDS` read the primary and show it.
    Does nothing without a replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.method not in READ_METHODS
            and replica_configured()
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        ):
            request.session[WROTE_AT_SESSION_KEY] = int(time.time())
        return response
