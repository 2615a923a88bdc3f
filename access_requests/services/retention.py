"""Retention of closed cases' free text (docs/privacy.md).

The reasons people give on a case say things about them (why they need a pseudonym, why
they cannot say they are an official, why a case was rejected, withdrawn, revoked or sent
back). They are needed while the case or its access is live and for the department's
retention period after it closes (`SNS_RETENTION_CASE_TEXT_DAYS`); then each is replaced by
`REMOVED`, which says what happened and keeps the database's "a reason is given" rules
true. The rest of the record (who, which sites, when, the decision) stays, as the register
and the audit trail need it.

A case is closed when it is rejected, withdrawn or lapsed, or, once approved, when its
grant ended (expired, revoked, given up or returned by ICT).
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase, SiteIdentity
from audit.services import SystemActor, record

RETENTION = SystemActor("retention sweep")
REMOVED = "Removed after the retention period"
BATCH = 500

# The free text removed, per model.
CASE_TEXTS = ("decision_reason", "withdrawal_reason")
IDENTITY_TEXTS = ("pseudonym_reason", "not_official_reason")
GRANT_TEXTS = ("revocation_reason", "returned_reason")
GRANT_ENDED = [
    AccessGrant.Status.EXPIRED,
    AccessGrant.Status.REVOKED,
    AccessGrant.Status.SURRENDERED,
    AccessGrant.Status.RETURNED,
]


def _still_held(fields: tuple[str, ...], prefix: str = "") -> Q:
    """Any of these text fields still holds something other than `REMOVED`."""
    held = Q()
    for field in fields:
        held |= Q(**{f"{prefix}{field}__gt": ""}) & ~Q(**{f"{prefix}{field}": REMOVED})
    return held


def cases_with_texts_due(*, now: datetime.datetime | None = None):
    """The closed cases past the retention period that still hold free text to remove."""
    now = now or timezone.now()
    closed_before = now - datetime.timedelta(days=settings.SNS_RETENTION_CASE_TEXT_DAYS)
    identities = SiteIdentity.objects.filter(business_case=OuterRef("pk")).filter(
        _still_held(IDENTITY_TEXTS)
    )
    return (
        BusinessCase.objects.annotate(
            grant_ended_at=Coalesce(
                "grant__expired_at",
                "grant__revoked_at",
                "grant__surrendered_at",
                "grant__updated_at",
            )
        )
        .filter(
            Q(status=BusinessCase.Status.REJECTED, decided_at__lt=closed_before)
            | Q(status=BusinessCase.Status.WITHDRAWN, withdrawn_at__lt=closed_before)
            | Q(status=BusinessCase.Status.LAPSED, lapsed_at__lt=closed_before)
            | Q(
                status=BusinessCase.Status.APPROVED,
                grant__status__in=GRANT_ENDED,
                grant_ended_at__lt=closed_before,
            )
        )
        .filter(
            _still_held(CASE_TEXTS)
            | Exists(identities)
            | _still_held(GRANT_TEXTS, prefix="grant__")
        )
    )


def case_texts_purge_due(*, now: datetime.datetime | None = None, batch: int = BATCH) -> int:
    """Replace the free text of every closed case past the retention period with `REMOVED`,
    `batch` cases per transaction, each batch one audit event naming its cases. Safe to run
    again (a case whose text is gone is not due). Returns the cases changed."""
    now = now or timezone.now()
    changed = 0
    while True:
        with transaction.atomic():
            ids = list(
                cases_with_texts_due(now=now)
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                return changed
            _remove(BusinessCase.objects.filter(pk__in=ids), CASE_TEXTS)
            _remove(SiteIdentity.objects.filter(business_case_id__in=ids), IDENTITY_TEXTS)
            _remove(AccessGrant.objects.filter(business_case_id__in=ids), GRANT_TEXTS)
            references = list(
                BusinessCase.objects.filter(pk__in=ids)
                .order_by("pk")
                .values_list("reference", flat=True)
            )
            record(
                actor=RETENTION,
                action="case.texts_removed",
                object_repr=f"{len(ids)} closed case{'s' if len(ids) != 1 else ''}",
                changes={
                    "cases": references,
                    "fields": [*CASE_TEXTS, *IDENTITY_TEXTS, *GRANT_TEXTS],
                    "retention_days": settings.SNS_RETENTION_CASE_TEXT_DAYS,
                },
            )
        changed += len(ids)


def _remove(rows, fields: tuple[str, ...]) -> None:
    for field in fields:
        rows.filter(_still_held((field,))).update(**{field: REMOVED})
