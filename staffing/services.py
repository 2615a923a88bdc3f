"""The staff directory sync: a file's plan (`people.directory`), its changes to the
directory, and what those changes mean for access (`approvals.services.people_changes`),
all in one transaction."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from approvals.errors import NoApproverAvailable
from approvals.services.people_changes import (
    directorate_director_change,
    person_leave,
    person_move,
)
from people.directory import (
    DirectoryApplied,
    DirectoryPlan,
    staff_directory_apply,
    staff_directory_plan,
)
from people.models import Directorate, User
from people.staff_csv import StaffRow

# Two imports at once would each plan against a directory the other is changing: the
# second waits for the first (pg_advisory_xact_lock's key; any fixed number).
SYNC_LOCK = 0x5354_4146


class LeaverLimitExceeded(Exception):
    """A full import would switch off more people than the safety limit allows."""

    def __init__(self, count: int, limit: int):
        self.count = count
        self.limit = limit
        super().__init__(f"{count} people would be switched off; the limit is {limit}")


class SyncRefused(Exception):
    """The changes cannot be made (for example a case would be left with nobody to decide
    it): nothing was changed."""


@dataclass
class SyncResult:
    plan: DirectoryPlan
    applied: DirectoryApplied | None  # None for a dry run


def staff_directory_sync(
    *,
    rows: Iterable[StaffRow],
    actor,
    full: bool = False,
    dry_run: bool = False,
    max_leavers: int | None = None,
    progress=None,
) -> SyncResult:
    """Import a staff directory file, in one transaction.

    Without `full`, people are created and updated (a mover's cases and a directorate's new
    director take effect); with `full`, the file is the whole directory and everyone active
    missing from it (superusers aside) is a leaver. A full import that would switch off more
    than `max_leavers` (default: 5% of the active people, at least 10) raises
    LeaverLimitExceeded; a dry run plans and changes nothing. Raises StaffImportError for a
    bad row and SyncRefused when the changes cannot be made; either way nothing changes.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SYNC_LOCK])
        plan = staff_directory_plan(rows=rows, full=full, progress=progress)
        limit = plan.leaver_limit_default if max_leavers is None else max_leavers
        if len(plan.leavers) > limit:
            raise LeaverLimitExceeded(len(plan.leavers), limit)
        if dry_run:
            return SyncResult(plan=plan, applied=None)
        applied = staff_directory_apply(plan=plan, actor=actor)
        try:
            _access_effects(plan=plan, applied=applied, actor=actor)
        except NoApproverAvailable:
            raise SyncRefused(
                "a case would be left with nobody to decide it (no director, fallback approver "
                "or admin who can sign in)"
            ) from None
    return SyncResult(plan=plan, applied=applied)


def _access_effects(*, plan: DirectoryPlan, applied: DirectoryApplied, actor) -> None:
    """Leavers first (their cases and requests), then new directors, then movers: each
    case is re-routed against the directory as the file leaves it."""
    people = User.objects.select_related("profile").in_bulk(
        [leaver.user_id for leaver in plan.leavers]
        + [change.old_id for change in plan.director_changes if change.old_id]
        + [move.user_id for move in plan.movers]
    )
    for leaver in plan.leavers:
        person_leave(person=people[leaver.user_id], actor=actor)
    for change in plan.director_changes:
        if change.old_id is not None:
            directorate_director_change(
                directorate=Directorate(pk=applied.directorate_ids[change.directorate]),
                old_director=people[change.old_id],
                actor=actor,
            )
    for move in plan.movers:
        if move.directorate_changed:
            person_move(
                person=people[move.user_id], from_directorate=move.from_directorate[1], actor=actor
            )
