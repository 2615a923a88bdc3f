"""A department-scale data set for the benchmark (`make bench`), loaded fast.

At scale 1.0 (see `bench_counts`): 50,000 staff in 3 organisations and 40 directorates,
200,000 grants (one per approved case) plus 24,000 cases in the other statuses over five
years, their approval requests and site identities, the active tier's safe-use reminders
(most confirmed), 2,000,000 audit events forming a valid hash chain, 20,000 sent
emails, and an access review of the bench director's directorate in progress. Rows go in with PostgreSQL `COPY` from in-memory buffers, in one transaction, with
the secondary indexes dropped and built again afterwards; then `VACUUM ANALYZE`.
"""

from contextlib import contextmanager

from django.db import connection, transaction

from access_requests.models import (
    AccessGrant,
    BusinessCase,
    ReferenceCounter,
    SafeUseReminder,
    Site,
    SiteIdentity,
)
from approvals.models import ApprovalRequest
from audit.checkpoints import audit_checkpoints_retire
from audit.models import AuditChainHead, AuditEvent
from bench.data.audit_trail import audit_trail_load
from bench.data.cases import cases_load, cases_plan
from bench.data.marker import marker_clear, marker_write
from bench.data.outbox import outbox_load
from bench.data.people import people_load, person_search_texts_write
from bench.data.pg_copy import (
    foreign_key_triggers_skip,
    indexes_build,
    reset_sequence,
    secondary_indexes_drop,
)
from bench.data.reviews import review_in_progress_load
from bench.data.state import BenchLoad
from notifications.models import OutboundEmail
from people.models import (
    BusinessUnit,
    Directorate,
    Organisation,
    PersonSearchText,
    StaffProfile,
    User,
)
from reviews.models import AccessReview, ReviewItem

# The tables the loader writes with explicit ids: their sequences continue after the load.
SEQUENCED_MODELS = (
    Organisation,
    Directorate,
    BusinessUnit,
    User,
    StaffProfile,
    User.groups.through,
    BusinessCase,
    SiteIdentity,
    ApprovalRequest,
    AccessGrant,
    AccessGrant.sites.through,
    SafeUseReminder,
    AuditEvent,
    OutboundEmail,
)
# The big tables whose secondary indexes are built once after the load rather than kept
# row by row.
REINDEXED_MODELS = [
    AuditEvent,
    BusinessCase,
    SiteIdentity,
    ApprovalRequest,
    AccessGrant,
    AccessGrant.sites.through,
    OutboundEmail,
]


def bench_tables() -> list[str]:
    """The tables --reset empties: everything the loader writes (and what refers to it)."""
    keep = {Site._meta.db_table}
    tables = []
    for model in (
        ReviewItem,
        AccessReview.directorates.through,
        AccessReview,
        AuditEvent,
        AuditChainHead,
        OutboundEmail,
        ApprovalRequest,
        SafeUseReminder,
        AccessGrant,
        SiteIdentity,
        BusinessCase,
        ReferenceCounter,
        StaffProfile,
        BusinessUnit,
        Directorate,
        Organisation,
        User,
    ):
        if model._meta.db_table not in keep:
            tables.append(model._meta.db_table)
    tables.append("django_session")
    return tables


# The audit tables' TRUNCATE triggers (audit migration 0007).
AUDIT_TRUNCATE_TRIGGERS = (
    (AuditEvent._meta.db_table, "audit_event_no_truncate"),
    (AuditChainHead._meta.db_table, "audit_chain_head_no_truncate"),
)


@contextmanager
def audit_truncate_allowed(cursor):
    """Switch the audit tables' TRUNCATE triggers off for the reset, as their owner, inside
    the load's transaction, and back to how they were. Only this loader does it, and only on
    a benchmark database (bench/data/guard.py)."""
    switched = []
    for table, trigger in AUDIT_TRUNCATE_TRIGGERS:
        cursor.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
            [table, trigger],
        )
        row = cursor.fetchone()
        if row is not None and row[0] != "D":
            cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER {trigger}')
            switched.append((table, trigger))
    yield
    for table, trigger in switched:
        cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER {trigger}')


def bench_data_load(
    *, scale: float, seed: int, reset: bool, keep_checks: bool, progress: bool
) -> dict[str, int]:
    """Loads the data set in one transaction (emptying the portal's tables first when
    `reset`) and returns how many of each thing the database then holds. The caller has
    made sure that the database is the benchmark's (bench/data/guard.py)."""
    load = BenchLoad(scale=scale, seed=seed, progress=progress)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            if reset:
                # Django's foreign keys are deferred: check pending ones before TRUNCATE.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                tables = ", ".join(f'"{t}"' for t in bench_tables())
                with audit_truncate_allowed(cursor):
                    cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            if reset:
                # The emptied trail starts again: its old checkpoints would report it cut short.
                audit_checkpoints_retire()
        marker_clear()
        if not keep_checks:
            foreign_key_triggers_skip()
        indexes = secondary_indexes_drop(REINDEXED_MODELS)
        people_load(load)
        person_search_texts_write()
        cases_plan(load)
        cases_load(load)
        audit_trail_load(load)
        outbox_load(load)
        for model in SEQUENCED_MODELS:
            reset_sequence(model)
        indexes_build(indexes, progress)
        # Through the services, so after the indexes their queries use.
        reviewed = review_in_progress_load()
        counts = {
            "staff": User.objects.count(),
            "directorates": Directorate.objects.count(),
            "business_cases": BusinessCase.objects.count(),
            "grants": AccessGrant.objects.count(),
            "approval_requests": ApprovalRequest.objects.count(),
            "safe_use_reminders": load.reminder_count,
            "audit_events": load.audit_count,
            "emails": OutboundEmail.objects.count(),
            **reviewed,
        }
        marker_write(scale, counts)
    return counts


def bench_data_analyze() -> None:
    """Fresh statistics (and, outside a transaction, the visibility map that index-only
    scans need, as autovacuum would have set it on a live system)."""
    statement = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    tables = [t for t in bench_tables() if t != "django_session"] + [
        SiteIdentity._meta.db_table,
        AccessGrant.sites.through._meta.db_table,
        User.groups.through._meta.db_table,
        PersonSearchText._meta.db_table,
    ]
    with connection.cursor() as cursor:
        for table in dict.fromkeys(tables):
            cursor.execute(f'{statement} "{table}"')
