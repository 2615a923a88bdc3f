"""Importing the staff directory, and people's passwords."""

import csv
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from audit.services import record
from core.client import Client
from notifications.models import OutboundEmail
from notifications.rendering import email_date
from notifications.services import email_queue

from . import selectors
from .errors import PasswordLinkThrottled
from .lockout import email_key
from .models import BusinessUnit, Directorate, Organisation, Role, StaffProfile, User
from .roles import ADMIN_SITE_ROLES
from .throttle import request_count, worth_recording

PASSWORD_LINK_TEMPLATE = "password_link"  # noqa: S105 - an email template's name

STAFF_CSV_COLUMNS = [
    "email",
    "name",
    "job_title",
    "organisation",
    "directorate",
    "business_unit",
    "cost_centre",
    "role",
]
FIELD_LIMITS = {
    "email": 254,
    "name": 200,
    "job_title": 200,
    "organisation": 200,
    "directorate": 200,
    "business_unit": 200,
    "cost_centre": 20,
}


class StaffImportError(Exception):
    def __init__(self, line: int, reason: str):
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


@dataclass(frozen=True)
class StaffRow:
    line: int
    email: str
    name: str
    job_title: str
    organisation: str
    directorate: str
    business_unit: str
    cost_centre: str
    role: str


@dataclass
class StaffImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changed_emails: list[str] = field(default_factory=list)


def staff_rows_read(lines: Iterable[str]) -> Iterator[StaffRow]:
    """Parse and check each CSV row; raise StaffImportError naming the file's line."""
    reader = csv.DictReader(lines)
    # "Job title", "job-title" and "JOB_TITLE" all name the column job_title.
    header = [
        "_".join(name.strip().lower().replace("-", " ").split())
        for name in (_csv_read(reader, lambda: reader.fieldnames) or [])
    ]
    missing = [column for column in STAFF_CSV_COLUMNS if column not in header]
    if missing:
        raise StaffImportError(1, f"the header is missing the column(s): {', '.join(missing)}")
    reader.fieldnames = header
    roles = {choice.value for choice in Role}
    while (raw := _csv_read(reader, lambda: next(reader, None))) is not None:
        line = reader.line_num
        values = {name: (raw.get(name) or "").strip() for name in STAFF_CSV_COLUMNS}
        for name in STAFF_CSV_COLUMNS:
            if name != "job_title" and not values[name]:
                raise StaffImportError(line, f"{name} is empty")
            if unwanted := _control_character(values[name]):
                raise StaffImportError(line, f"{name} contains the control character {unwanted}")
        for name, limit in FIELD_LIMITS.items():
            if len(values[name]) > limit:
                raise StaffImportError(line, f"{name} is longer than {limit} characters")
        try:
            validate_email(values["email"])
        except ValidationError:
            raise StaffImportError(line, f"'{values['email']}' is not an email address") from None
        role = values["role"].lower()
        if role not in roles:
            raise StaffImportError(
                line, f"role '{values['role']}' is not one of {', '.join(sorted(roles))}"
            )
        yield StaffRow(line=line, **{**values, "email": values["email"].lower(), "role": role})


# Control characters (NUL, line breaks, tabs…) and the invisible characters that reverse
# or embed text direction (U+202A–U+202E, U+2066–U+2069): in a name, job title, unit or cost
# centre they only break email subjects, CSV cells and pages, as the web forms refuse NUL.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _control_character(value: str) -> str | None:
    """The first unwanted character in `value`, as U+XXXX, or None."""
    for character in value:
        if unicodedata.category(character) == "Cc" or character in _BIDI_CONTROLS:
            return f"U+{ord(character):04X}"
    return None


def _csv_read(reader, read):
    """`read()` from the CSV reader; a row the csv module cannot read (a field over its size
    limit, a stray quote in strict mode) is a bad row like any other."""
    try:
        return read()
    except csv.Error as error:
        # The csv module counts the line it fails on only once it has read it whole.
        raise StaffImportError(
            reader.line_num + 1, f"the row cannot be read as CSV ({error})"
        ) from None


class _Directory:
    """Caches of the organisation tree so a large import makes few queries."""

    def __init__(self):
        self.organisations = {o.name: o for o in Organisation.objects.all()}
        self.directorates = {
            (d.organisation.name, d.name): d
            for d in Directorate.objects.select_related("organisation")
        }
        self.units = {
            u.cost_centre: u
            for u in BusinessUnit.objects.select_related("directorate__organisation")
        }
        self.groups = {g.name: g for g in Group.objects.filter(name__in=[r.value for r in Role])}

    def organisation(self, name: str) -> Organisation:
        if name not in self.organisations:
            self.organisations[name] = Organisation.objects.create(name=name)
        return self.organisations[name]

    def directorate(self, organisation: Organisation, name: str) -> Directorate:
        key = (organisation.name, name)
        if key not in self.directorates:
            self.directorates[key] = Directorate.objects.create(
                organisation=organisation, name=name
            )
        return self.directorates[key]

    def business_unit(self, row: StaffRow, directorate: Directorate) -> BusinessUnit:
        unit = self.units.get(row.cost_centre)
        if unit is None:
            unit = BusinessUnit.objects.create(
                directorate=directorate, name=row.business_unit, cost_centre=row.cost_centre
            )
            self.units[row.cost_centre] = unit
        elif unit.directorate_id != directorate.pk or unit.name != row.business_unit:
            raise StaffImportError(
                row.line,
                f"cost centre {row.cost_centre} already belongs to {unit.name} in "
                f"{unit.directorate.name}",
            )
        return unit

    def group(self, role: str) -> Group:
        if role not in self.groups:
            self.groups[role], _ = Group.objects.get_or_create(name=role)
        return self.groups[role]


def staff_import(*, rows: Iterable[StaffRow], actor, progress=None) -> StaffImportSummary:
    """Create or update each person, in one transaction: any bad row changes nothing."""
    summary = StaffImportSummary()
    seen_emails: dict[str, int] = {}
    directors_in_file: dict[int, tuple[str, int]] = {}
    with transaction.atomic():
        directory = _Directory()
        users = {
            u.email: u
            for u in User.objects.select_related("profile__business_unit").prefetch_related(
                "groups"
            )
        }
        for row in rows:
            if row.email in seen_emails:
                raise StaffImportError(
                    row.line, f"{row.email} appears twice (first on line {seen_emails[row.email]})"
                )
            seen_emails[row.email] = row.line
            organisation = directory.organisation(row.organisation)
            directorate = directory.directorate(organisation, row.directorate)
            unit = directory.business_unit(row, directorate)
            user = users.get(row.email)
            person, changes = _staff_row_apply(
                row=row, user=user, unit=unit, group=directory.group(row.role)
            )
            if row.role == Role.DIRECTOR:
                previous = directors_in_file.get(directorate.pk)
                if previous is not None:
                    raise StaffImportError(
                        row.line,
                        f"{directorate.name} already has a director in this file "
                        f"({previous[0]} on line {previous[1]})",
                    )
                directors_in_file[directorate.pk] = (row.email, row.line)
                if directorate.director_id != person.pk:
                    changes["director_of"] = [None, directorate.name]
                    directorate.director = person
                    directorate.save(update_fields=["director", "updated_at"])
            if user is None:
                summary.created += 1
            elif changes:
                summary.updated += 1
            else:
                summary.unchanged += 1
            if changes:
                summary.changed_emails.append(row.email)
                record(
                    actor=actor,
                    action="people.staff_created" if user is None else "people.staff_updated",
                    obj=person,
                    object_repr=row.email,
                    changes=changes,
                )
            if progress is not None:
                progress.update(1)
        record(
            actor=actor,
            action="people.staff_imported",
            changes={
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
            },
        )
    return summary


def _staff_row_apply(
    *, row: StaffRow, user: User | None, unit: BusinessUnit, group: Group
) -> tuple[User, dict]:
    """Bring one person in line with their row (creating them if new); return the person and
    what changed as {field: [old, new]}."""
    changes: dict = {}
    is_admin_site_user = row.role in ADMIN_SITE_ROLES
    if user is None:
        user = User.objects.create_user(email=row.email, password=None)
        user.is_staff = is_admin_site_user
        user.save(update_fields=["is_staff"])
        StaffProfile.objects.create(
            user=user, commonly_used_name=row.name, job_title=row.job_title, business_unit=unit
        )
        user.groups.set([group])
        return user, {
            "email": [None, row.email],
            "role": [None, row.role],
            "business_unit": [None, unit.cost_centre],
        }
    if user.is_staff != is_admin_site_user and not user.is_superuser:
        changes["is_staff"] = [user.is_staff, is_admin_site_user]
        user.is_staff = is_admin_site_user
        user.save(update_fields=["is_staff"])
    profile = getattr(user, "profile", None)
    if profile is None:
        StaffProfile.objects.create(
            user=user, commonly_used_name=row.name, job_title=row.job_title, business_unit=unit
        )
        changes["profile"] = [None, row.name]
    else:
        for name, new in (
            ("commonly_used_name", row.name),
            ("job_title", row.job_title),
            ("business_unit_id", unit.pk),
        ):
            old = getattr(profile, name)
            if old != new:
                changes[name] = [old, new]
                setattr(profile, name, new)
        if changes.keys() & {"commonly_used_name", "job_title", "business_unit_id"}:
            profile.save()
    current_roles = sorted(g.name for g in user.groups.all())
    if current_roles != [row.role]:
        changes["role"] = [current_roles, row.role]
        user.groups.set([group])
    return user, changes


class PasswordLinkInvalid(Exception):
    """The emailed password link is wrong, used (the password changed since), expired, or
    for a person who has been switched off."""


def password_set(
    *, user: User, password: str, actor, client: Client | None = None, via: str = ""
) -> User:
    """Give a person a new password (the demo accounts' shared one, or one they chose from
    their emailed link), recorded in the audit trail without the password itself."""
    with transaction.atomic():
        first = not user.has_usable_password()
        user.set_password(password)
        user.save(update_fields=["password"])
        changes = {"first_password": first}
        if via:
            changes["via"] = via
        record(
            actor=actor,
            action="people.password_set",
            obj=user,
            object_repr=user.email,
            changes=changes,
            client=client,
        )
    return user


def password_link(user: User) -> str:
    """The absolute "create a password" link for this person: Django's password-reset token,
    which works once (its HMAC covers the password hash and last sign-in) and for
    `PASSWORD_RESET_TIMEOUT` seconds."""
    path = reverse(
        "people:password-reset-confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.PORTAL_BASE_URL + path


def password_reset_request(
    *, email: str, actor=None, client: Client | None = None
) -> OutboundEmail | None:
    """Someone asked for a "create or reset your password" link for `email`.

    The active person with that address, with a password or not (people from `import_staff`
    have none yet), is emailed a link through the outbox, unless one was emailed to them in
    the last `SNS_PASSWORD_EMAIL_MINUTES` minutes (that link still works). An unknown or
    switched-off address gets nothing. Every request is in the audit trail with its client
    address and outcome (never the link or its token). Returns the email written, or None.

    More than `SNS_PASSWORD_LINK_ADDRESS_LIMIT` requests from one client address, or
    `SNS_PASSWORD_LINK_EMAIL_LIMIT` for one email, in the lock-out's window raise
    `PasswordLinkThrottled` and send nothing; those refusals are recorded as
    `people.password_reset_throttled`, counted (`throttle.worth_recording`).
    """
    _password_reset_throttle(email=email, actor=actor, client=client)
    now = timezone.now()
    with transaction.atomic():
        # Locked: two requests at once for one person see each other's email.
        person = selectors.people_for_password_link(email=email).select_for_update().first()
        if person is None:
            record(
                actor=actor,
                action="people.password_reset_requested",
                object_repr=email[:200],
                changes={"email": email[:254], "outcome": "no active account"},
                client=client,
            )
            return None
        recently = OutboundEmail.objects.filter(
            object_type=User._meta.label_lower,
            object_id=str(person.pk),
            template=PASSWORD_LINK_TEMPLATE,
            created_at__gt=now - timedelta(minutes=settings.SNS_PASSWORD_EMAIL_MINUTES),
        ).exists()
        outcome = "not sent: a link was emailed minutes ago" if recently else "link emailed"
        written = None if recently else _password_link_email_queue(person, now=now)
        record(
            actor=actor,
            action="people.password_reset_requested",
            obj=person,
            object_repr=person.email,
            changes={"email": person.email, "outcome": outcome},
            client=client,
        )
    return written


def password_link_send(
    *, person: User, actor, client: Client | None = None
) -> OutboundEmail | None:
    """An admin added `person` without a password: email them the "create your password"
    link (the same link and page as `password_reset_request`), in the caller's transaction,
    so the account and its email are saved together. Recorded as
    `people.password_link_sent`. Someone switched off, or who already has a password, gets
    nothing. Returns the email written, or None."""
    with transaction.atomic():
        if not person.is_active or person.has_usable_password():
            return None
        written = _password_link_email_queue(person, now=timezone.now(), account_created=True)
        record(
            actor=actor,
            action="people.password_link_sent",
            obj=person,
            object_repr=person.email,
            changes={"email": person.email, "reason": "account added by an admin"},
            client=client,
        )
    return written


def _password_link_email_queue(
    person: User, *, now, account_created: bool = False
) -> OutboundEmail:
    expires = now + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    return email_queue(
        to=person.email,
        template=PASSWORD_LINK_TEMPLATE,
        context={
            "name": person.display_name,
            "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
            "expires_at": f"{timezone.localtime(expires):%H:%M} on {email_date(expires)}",
            "first_password": not person.has_usable_password(),
            "account_created": account_created,
            "request_link": settings.PORTAL_BASE_URL + reverse("people:password-reset"),
        },
        related=person,
        secrets={"link": password_link(person)},  # sealed, never stored readable
    )


def _password_reset_throttle(*, email: str, actor=None, client: Client | None = None) -> None:
    """Count a password-link request per client address and per email; raise
    `PasswordLinkThrottled` once either is over its limit in the window."""
    window = timedelta(hours=settings.AXES_COOLOFF_TIME)
    address = client.address if client is not None else None
    counts = {
        "requests_from_address": request_count(
            kind="password_link_address", key=address or "", window=window
        ),
        "requests_for_email": request_count(
            kind="password_link_email", key=email_key(email), window=window
        ),
    }
    limits = {
        "requests_from_address": settings.SNS_PASSWORD_LINK_ADDRESS_LIMIT,
        "requests_for_email": settings.SNS_PASSWORD_LINK_EMAIL_LIMIT,
    }
    if all(counts[kind] <= limits[kind] for kind in counts):
        return
    # One over the limit is recorded, then the 2^n-th: a flood writes a few counted events.
    if all(worth_recording(counts[kind] - limits[kind], 1) for kind in counts):
        record(
            actor=actor,
            action="people.password_reset_throttled",
            object_repr=email_key(email)[:200],
            changes={"email": email_key(email), **counts},
            client=client,
        )
    raise PasswordLinkThrottled


def password_reset_complete(
    *, user_id: int, token: str, password: str, client: Client | None = None
) -> User:
    """Set the password of the person the emailed link is for, if the link still works.

    The token is checked again with the person's row locked, so two posts of one link at
    once set one password: the second sees the changed password hash and is refused.
    The person's failed sign-ins are forgotten (django-axes), so a lock-out from guessing
    the old password does not keep them out with the new one.
    """
    with transaction.atomic():
        person = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
        if person is None or not default_token_generator.check_token(person, token):
            raise PasswordLinkInvalid
        password_set(user=person, password=password, actor=person, client=client, via="link")
        axes_reset(username=person.email)
    return person
