"""People's passwords and single sign-on's refusals. The staff directory's import is
`people.directory` (its plan and changes) and `people.staff_csv` (reading the file)."""

from datetime import timedelta

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
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
from .models import User
from .throttle import request_count, worth_recording

PASSWORD_LINK_TEMPLATE = "password_link"  # noqa: S105 - an email template's name


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


def sso_sign_in_refuse(
    *, reason: str, email: str = "", person: User | None = None, client: Client | None = None
) -> None:
    """Record a single sign-on attempt that signed no one in, and why (a code from
    `people.sso.backend.REASONS`; never a token or anything the provider sent but the email).

    Counted per client address in the lock-out's window, as failed password sign-ins are:
    each is recorded up to SNS_SIGNIN_ADDRESS_FAILURE_LIMIT, then only the 2^n-th, carrying
    the count, so a flood of forged answers writes a few events rather than one each.
    """
    address = client.address if client is not None else None
    count = request_count(
        kind="sso_refused_address",
        key=address or "",
        window=timedelta(hours=settings.AXES_COOLOFF_TIME),
    )
    if not worth_recording(count, settings.SNS_SIGNIN_ADDRESS_FAILURE_LIMIT):
        return
    email = email_key(email)
    with transaction.atomic():
        record(
            actor=None,
            action="auth.sso_refused",
            obj=person,
            object_repr=email[:200] or "no email address",
            changes={"reason": reason, "email": email, "refused_from_address": count},
            client=client,
        )
