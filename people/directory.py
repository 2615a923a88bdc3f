"""The staff directory's own changes: what a file would change (`staff_directory_plan`, a
pure diff against the database) and making those changes (`staff_directory_apply`; joiners
go in through `directory_bulk`, leavers are switched off through `switching`).

What a change means for access (grants ended, cases re-routed, approvers told) is the
business of the apps above: `approvals.services.people_changes` runs it, in the same
transaction, from `staffing`, which reads the file and calls both.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from audit.services import NewEvent, record_many
from core.models import model_reference

from .directory_bulk import joiners_insert, joiners_insert_orm
from .models import BusinessUnit, Directorate, Organisation, Role, StaffProfile, User
from .roles import ADMIN_SITE_ROLES
from .staff_csv import StaffImportError, StaffRow
from .switching import users_switch_off

# A full import refuses to switch off more than this share of the active people (or
# `LEAVER_LIMIT_FLOOR`, whichever is more) unless told a limit: a truncated HR extract must
# not switch off the department.
LEAVER_LIMIT_SHARE = 0.05
LEAVER_LIMIT_FLOOR = 10

# The audit trail's events go in a few thousand at a time (one INSERT each, well under
# PostgreSQL's 65,535 parameters per statement).
AUDIT_BATCH = 2000
# Joiners go in this many a statement (their values as arrays: no parameter limit).
CREATE_BATCH = 10_000
# Changed profiles go in this many an UPDATE (Django's bulk_update writes one CASE branch a
# row for each field, which every row of the statement then searches).
UPDATE_BATCH = 1000

DirectorateKey = tuple[str, str]  # (organisation name, directorate name)


@dataclass(frozen=True)
class PersonUpdate:
    """An existing person whose row differs: {field: [old, new]}."""

    user_id: int
    email: str
    line: int
    changes: dict


@dataclass(frozen=True)
class Move:
    """A person whose business unit changed; `directorate_changed` when they also left
    their directorate (their cases then go to another approver)."""

    user_id: int
    email: str
    line: int
    from_unit: str
    to_unit: str
    from_directorate_id: int
    from_directorate: DirectorateKey
    to_directorate: DirectorateKey

    @property
    def directorate_changed(self) -> bool:
        return self.from_directorate != self.to_directorate


@dataclass(frozen=True)
class RoleChange:
    user_id: int
    email: str
    old: list[str]
    new: str


@dataclass(frozen=True)
class DirectorChange:
    """A directorate whose director changes: `old_id` None for a first director,
    `new_email` None when the file names nobody (a full import)."""

    directorate: DirectorateKey
    directorate_id: int | None
    old_id: int | None
    old_email: str | None
    new_email: str | None


@dataclass(frozen=True)
class Leaver:
    user_id: int
    email: str
    name: str


@dataclass
class DirectoryPlan:
    """What importing a file would change. `full`: the file is the whole directory."""

    full: bool
    rows: list[StaffRow] = field(default_factory=list)
    new_organisations: list[str] = field(default_factory=list)
    new_directorates: list[DirectorateKey] = field(default_factory=list)
    new_units: list[StaffRow] = field(default_factory=list)  # the first row naming each
    joiners: list[StaffRow] = field(default_factory=list)
    updates: list[PersonUpdate] = field(default_factory=list)
    movers: list[Move] = field(default_factory=list)
    role_changes: list[RoleChange] = field(default_factory=list)
    director_changes: list[DirectorChange] = field(default_factory=list)
    # cost centre → the email of its budget holder, for each unit the file names one for.
    budget_holders: dict[str, str] = field(default_factory=dict)
    leavers: list[Leaver] = field(default_factory=list)
    unchanged: int = 0
    active_people: int = 0  # before the import, superusers aside

    @property
    def leaver_limit_default(self) -> int:
        return max(LEAVER_LIMIT_FLOOR, math.floor(self.active_people * LEAVER_LIMIT_SHARE))


@dataclass
class _Person:
    id: int
    email: str
    is_active: bool
    is_staff: bool
    is_superuser: bool
    name: str
    job_title: str | None = None
    unit_id: int | None = None
    has_profile: bool = False
    roles: list[str] = field(default_factory=list)


def _people_by_email() -> dict[str, _Person]:
    """Every person, as plain values (three queries, no model instances)."""
    people = {}
    by_id = {}
    for pk, email, active, staff, superuser, first, last in User.objects.values_list(
        "id", "email", "is_active", "is_staff", "is_superuser", "first_name", "last_name"
    ).order_by():
        person = _Person(pk, email, active, staff, superuser, f"{first} {last}".strip() or email)
        people[email.lower()] = person
        by_id[pk] = person
    for user_id, name, job_title, unit_id in StaffProfile.objects.values_list(
        "user_id", "commonly_used_name", "job_title", "business_unit_id"
    ).order_by():
        person = by_id[user_id]
        person.name, person.job_title, person.unit_id = name, job_title, unit_id
        person.has_profile = True
    for user_id, group in (
        User.groups.through.objects.filter(group__name__in=[role.value for role in Role])
        .values_list("user_id", "group__name")
        .order_by()
    ):
        by_id[user_id].roles.append(group)
    for person in by_id.values():
        person.roles.sort()
    return people


def staff_directory_plan(*, rows: Iterable[StaffRow], full: bool, progress=None) -> DirectoryPlan:
    """What these rows would change, compared with the database; changes nothing.

    Raises StaffImportError (with the file's line) for a row that cannot be applied: an
    email twice (emails are compared without case), a second director for one directorate,
    a cost centre that belongs to another unit, or a person moving into a directorate that
    is neither in the portal nor led by a director named in the file.
    """
    plan = DirectoryPlan(full=full)
    people = _people_by_email()
    organisations = dict(Organisation.objects.values_list("name", "id").order_by())
    directorates: dict[DirectorateKey, tuple[int, int | None]] = {
        (org, name): (pk, director_id)
        for pk, org, name, director_id in Directorate.objects.values_list(
            "id", "organisation__name", "name", "director_id"
        ).order_by()
    }
    directorate_names = {pk: key for key, (pk, _) in directorates.items()}
    units = {
        cost_centre: (pk, name, directorate_id)
        for pk, cost_centre, name, directorate_id in BusinessUnit.objects.values_list(
            "id", "cost_centre", "name", "directorate_id"
        ).order_by()
    }
    units_by_id = {pk: (cc, name, d_id) for cc, (pk, name, d_id) in units.items()}
    ids = {person.id: person for person in people.values()}
    plan.active_people = sum(
        1 for person in people.values() if person.is_active and not person.is_superuser
    )

    seen: dict[str, int] = {}
    directors_in_file: dict[DirectorateKey, StaffRow] = {}
    units_in_file: dict[str, StaffRow] = {}
    new_organisations: set[str] = set()
    new_directorates: set[DirectorateKey] = set()
    pending_moves: list[tuple[StaffRow, Move]] = []
    holders_in_file: dict[str, StaffRow] = {}
    for row in rows:
        plan.rows.append(row)
        if progress is not None:
            progress.update(1)
        if row.email in seen:
            raise StaffImportError(
                row.line, f"{row.email} appears twice (first on line {seen[row.email]})"
            )
        seen[row.email] = row.line
        key = (row.organisation, row.directorate)
        if row.organisation not in organisations and row.organisation not in new_organisations:
            new_organisations.add(row.organisation)
            plan.new_organisations.append(row.organisation)
        if key not in directorates and key not in new_directorates:
            new_directorates.add(key)
            plan.new_directorates.append(key)
        _unit_check(row, key, units, directorate_names, units_in_file, plan)
        if row.role == Role.DIRECTOR:
            if key in directors_in_file:
                first = directors_in_file[key]
                raise StaffImportError(
                    row.line,
                    f"{row.directorate} already has a director in this file "
                    f"({first.email} on line {first.line})",
                )
            directors_in_file[key] = row
        if row.budget_holder:
            if row.cost_centre in holders_in_file:
                first = holders_in_file[row.cost_centre]
                raise StaffImportError(
                    row.line,
                    f"{row.business_unit} already has a budget holder in this file "
                    f"({first.email} on line {first.line})",
                )
            holders_in_file[row.cost_centre] = row
            plan.budget_holders[row.cost_centre] = row.email

        person = people.get(row.email)
        if person is None:
            plan.joiners.append(row)
            continue
        changes = _person_changes(row, person, units, units_by_id)
        if not changes:
            plan.unchanged += 1
            continue
        plan.updates.append(PersonUpdate(person.id, person.email, row.line, changes))
        if "role" in changes:
            plan.role_changes.append(RoleChange(person.id, person.email, person.roles, row.role))
        if "business_unit" in changes and person.unit_id is not None:
            old = units_by_id[person.unit_id]
            move = Move(
                user_id=person.id,
                email=person.email,
                line=row.line,
                from_unit=old[1],
                to_unit=row.business_unit,
                from_directorate_id=old[2],
                from_directorate=directorate_names[old[2]],
                to_directorate=key,
            )
            pending_moves.append((row, move))

    for row, move in pending_moves:
        if move.to_directorate in new_directorates and move.to_directorate not in directors_in_file:
            raise StaffImportError(
                row.line,
                f"{row.email} moves to {row.directorate}, which is not in the staff directory "
                "(no such directorate yet, and no director for it in this file)",
            )
        plan.movers.append(move)

    plan.director_changes = _director_changes(
        directorates, directors_in_file, new_directorates, ids, people, full
    )
    if full:
        plan.leavers = [
            Leaver(person.id, person.email, person.name)
            for email, person in sorted(people.items())
            if email not in seen and person.is_active and not person.is_superuser
        ]
    return plan


def _unit_check(row, key, units, directorate_names, units_in_file, plan) -> None:
    """A cost centre names one business unit in one directorate, in the file and the portal."""
    first = units_in_file.get(row.cost_centre)
    if first is not None:
        if (first.organisation, first.directorate, first.business_unit) != (
            row.organisation,
            row.directorate,
            row.business_unit,
        ):
            raise StaffImportError(
                row.line,
                f"cost centre {row.cost_centre} already belongs to {first.business_unit} in "
                f"{first.directorate} (line {first.line})",
            )
        return
    units_in_file[row.cost_centre] = row
    existing = units.get(row.cost_centre)
    if existing is None:
        plan.new_units.append(row)
        return
    _, name, directorate_id = existing
    if directorate_names[directorate_id] != key or name != row.business_unit:
        raise StaffImportError(
            row.line,
            f"cost centre {row.cost_centre} already belongs to {name} in "
            f"{directorate_names[directorate_id][1]}",
        )


def _person_changes(row: StaffRow, person: _Person, units, units_by_id) -> dict:
    changes: dict = {}
    is_admin_site_user = row.role in ADMIN_SITE_ROLES
    if person.is_staff != is_admin_site_user and not person.is_superuser:
        changes["is_staff"] = [person.is_staff, is_admin_site_user]
    if not person.has_profile:
        changes["profile"] = [None, row.name]
        changes["business_unit"] = [None, row.cost_centre]
    else:
        if person.name != row.name:
            changes["commonly_used_name"] = [person.name, row.name]
        if person.job_title != row.job_title:
            changes["job_title"] = [person.job_title, row.job_title]
        unit = units.get(row.cost_centre)
        if unit is None or unit[0] != person.unit_id:
            changes["business_unit"] = [units_by_id[person.unit_id][0], row.cost_centre]
    if person.roles != [row.role]:
        changes["role"] = [person.roles, row.role]
    return changes


def _director_changes(directorates, directors_in_file, new_directorates, ids, people, full):
    changes = []
    for key, row in directors_in_file.items():
        if key in new_directorates:
            changes.append(DirectorChange(key, None, None, None, row.email))
            continue
        pk, director_id = directorates[key]
        current = ids.get(director_id)
        if current is None or current.email.lower() != row.email:
            changes.append(
                DirectorChange(key, pk, director_id, current.email if current else None, row.email)
            )
    if full:
        # The file is the whole directory: a directorate it names no director for has none.
        for key, (pk, director_id) in sorted(directorates.items()):
            if director_id is not None and key not in directors_in_file:
                changes.append(DirectorChange(key, pk, director_id, ids[director_id].email, None))
    return changes


@dataclass
class DirectoryApplied:
    """What `staff_directory_apply` did, for the effects that follow: ids by email."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    switched_off: int = 0
    user_ids: dict[str, int] = field(default_factory=dict)
    directorate_ids: dict[DirectorateKey, int] = field(default_factory=dict)


def staff_directory_apply(*, plan: DirectoryPlan, actor) -> DirectoryApplied:
    """Make the plan's changes to the directory in one transaction, in bulk: organisations,
    directorates and units created, joiners created, people updated (profile, role, admin
    site), directors set, leavers switched off. Each change is one audit event, written a
    few thousand per INSERT, and one `people.staff_imported` event sums the import up.

    Access (grants, cases, approval requests) is not touched here: see
    `approvals.services.people_changes`."""
    applied = DirectoryApplied(unchanged=plan.unchanged)
    events: list[NewEvent] = []
    with transaction.atomic():
        organisation_ids = dict(Organisation.objects.values_list("name", "id").order_by())
        created = Organisation.objects.bulk_create(
            [Organisation(name=name) for name in plan.new_organisations]
        )
        organisation_ids.update({o.name: o.pk for o in created})
        applied.directorate_ids = {
            (org, name): pk
            for pk, org, name in Directorate.objects.values_list(
                "id", "organisation__name", "name"
            ).order_by()
        }
        created = Directorate.objects.bulk_create(
            [
                Directorate(organisation_id=organisation_ids[o], name=n)
                for o, n in plan.new_directorates
            ]
        )
        for directorate, (org, _) in zip(created, plan.new_directorates, strict=True):
            applied.directorate_ids[(org, directorate.name)] = directorate.pk
        unit_ids = dict(BusinessUnit.objects.values_list("cost_centre", "id").order_by())
        created = BusinessUnit.objects.bulk_create(
            [
                BusinessUnit(
                    directorate_id=applied.directorate_ids[(row.organisation, row.directorate)],
                    name=row.business_unit,
                    cost_centre=row.cost_centre,
                )
                for row in plan.new_units
            ]
        )
        unit_ids.update({unit.cost_centre: unit.pk for unit in created})
        groups = {role.value: Group.objects.get_or_create(name=role.value)[0] for role in Role}

        events += _joiners_create(plan.joiners, unit_ids, groups, applied)
        events += _people_update(plan, unit_ids, groups)
        applied.updated = len(plan.updates)
        directors = {c.new_email for c in plan.director_changes if c.new_email}
        applied.user_ids.update(
            {
                email.lower(): pk
                for email, pk in User.objects.filter(email__in=directors).values_list("email", "id")
            }
        )
        for change in plan.director_changes:
            directorate_id = applied.directorate_ids[change.directorate]
            new_id = applied.user_ids[change.new_email] if change.new_email else None
            Directorate.objects.filter(pk=directorate_id).update(
                director_id=new_id, updated_at=timezone.now()
            )
            events.append(
                NewEvent(
                    action="people.director_changed",
                    obj=Directorate(pk=directorate_id, name=change.directorate[1]),
                    object_repr=change.directorate[1],
                    changes={"director": [change.old_email, change.new_email]},
                )
            )
        events += _budget_holders_set(plan.budget_holders)
        if plan.leavers:
            users_switch_off([leaver.user_id for leaver in plan.leavers])
            applied.switched_off = len(plan.leavers)
            events += [
                NewEvent(
                    action="people.switched_off",
                    obj=model_reference(User, leaver.user_id),
                    object_repr=leaver.email,
                    changes={
                        "is_active": [True, False],
                        "reason": "not in the staff directory: left the department",
                    },
                )
                for leaver in plan.leavers
            ]
        events.append(
            NewEvent(
                action="people.staff_imported",
                changes={
                    "full": plan.full,
                    "created": applied.created,
                    "updated": applied.updated,
                    "unchanged": applied.unchanged,
                    "moved": len(plan.movers),
                    "directors_changed": len(plan.director_changes),
                    "switched_off": applied.switched_off,
                },
            )
        )
        for start in range(0, len(events), AUDIT_BATCH):
            record_many(actor=actor, events=events[start : start + AUDIT_BATCH])
    return applied


def _budget_holders_set(budget_holders: dict[str, str]) -> list[NewEvent]:
    """Each unit the file names a budget holder for gets that person (a unit it names none
    for keeps its own)."""
    if not budget_holders:
        return []
    ids = {
        email.lower(): pk
        for email, pk in User.objects.filter(email__in=budget_holders.values()).values_list(
            "email", "id"
        )
    }
    emails_by_id = {pk: email for email, pk in ids.items()}
    events = []
    units = BusinessUnit.objects.filter(cost_centre__in=budget_holders).select_related(
        "budget_holder"
    )
    for unit in units.order_by("pk"):
        new_id = ids[budget_holders[unit.cost_centre]]
        if unit.budget_holder_id == new_id:
            continue
        old = unit.budget_holder.email if unit.budget_holder_id else None
        BusinessUnit.objects.filter(pk=unit.pk).update(
            budget_holder_id=new_id, updated_at=timezone.now()
        )
        events.append(
            NewEvent(
                action="people.budget_holder_changed",
                obj=unit,
                object_repr=str(unit),
                changes={"budget_holder": [old, emails_by_id[new_id]]},
            )
        )
    return events


def _joiners_create(joiners, unit_ids, groups, applied) -> list[NewEvent]:
    # One unusable password for all: each is "!" and random text, and nobody signs in with
    # it (joiners set their own through the emailed link); hashing 50,000 would cost seconds.
    unusable = make_password(None)
    insert = joiners_insert if connection.vendor == "postgresql" else joiners_insert_orm
    created: list[tuple[int, StaffRow]] = []
    for start in range(0, len(joiners), CREATE_BATCH):
        batch = joiners[start : start + CREATE_BATCH]
        ids = insert(batch, unit_ids, groups, unusable)
        created.extend((ids[row.email], row) for row in batch)
    applied.created = len(created)
    applied.user_ids.update({row.email: pk for pk, row in created})
    return [
        NewEvent(
            action="people.staff_created",
            obj=model_reference(User, pk),
            object_repr=row.email,
            changes={
                "email": [None, row.email],
                "role": [None, row.role],
                "business_unit": [None, row.cost_centre],
            },
        )
        for pk, row in created
    ]


def _people_update(plan: DirectoryPlan, unit_ids, groups) -> list[NewEvent]:
    if not plan.updates:
        return []
    rows = {row.email: row for row in plan.rows}
    now = timezone.now()
    profiles = {
        p.user_id: p
        for p in StaffProfile.objects.filter(user_id__in=[u.user_id for u in plan.updates])
    }
    changed_profiles, new_profiles = [], []
    staff_on, staff_off = [], []
    for update in plan.updates:
        row = rows[update.email]
        if "is_staff" in update.changes:
            (staff_on if update.changes["is_staff"][1] else staff_off).append(update.user_id)
        profile = profiles.get(update.user_id)
        if profile is None:
            new_profiles.append(
                StaffProfile(
                    user_id=update.user_id,
                    commonly_used_name=row.name,
                    job_title=row.job_title,
                    business_unit_id=unit_ids[row.cost_centre],
                )
            )
        elif update.changes.keys() & {"commonly_used_name", "job_title", "business_unit"}:
            profile.commonly_used_name = row.name
            profile.job_title = row.job_title
            profile.business_unit_id = unit_ids[row.cost_centre]
            profile.updated_at = now
            changed_profiles.append(profile)
    StaffProfile.objects.bulk_create(new_profiles)
    StaffProfile.objects.bulk_update(
        changed_profiles,
        ["commonly_used_name", "job_title", "business_unit", "updated_at"],
        batch_size=UPDATE_BATCH,
    )
    User.objects.filter(pk__in=staff_on).update(is_staff=True)
    User.objects.filter(pk__in=staff_off).update(is_staff=False)
    if plan.role_changes:
        User.groups.through.objects.filter(
            user_id__in=[change.user_id for change in plan.role_changes],
            group__name__in=[role.value for role in Role],
        ).delete()
        User.groups.through.objects.bulk_create(
            [
                User.groups.through(user_id=change.user_id, group_id=groups[change.new].pk)
                for change in plan.role_changes
            ]
        )
    return [
        NewEvent(
            action="people.staff_updated",
            obj=model_reference(User, update.user_id),
            object_repr=update.email,
            changes=update.changes,
        )
        for update in plan.updates
    ]
