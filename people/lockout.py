"""The sign-in lock-out: django-axes, keyed and counted the way the portal signs people in.

- The email is compared as sign-in matches it (case-insensitively), so `Dana.Director@…`
  and `dana.DIRECTOR@…` share one count (`username_of`, axes's `AXES_USERNAME_CALLABLE`).
- The client address is `core.client.client_address`, the one the audit trail records.
- Failures are counted three ways (`AXES_LOCKOUT_PARAMETERS`), each against its own limit:
  an email from one address (`AXES_FAILURE_LIMIT`), an address whatever the email, an email
  from any address (`SNS_SIGNIN_*_FAILURE_LIMIT`). Reaching any of them locks the sign-in.
- A correct sign-in forgets its own email-and-address failures only.
- Failed sign-ins go into the audit trail as `auth.sign_in_failed`, counted, not one event
  per try: see `people.throttle.worth_recording`.

The counts are axes's `AccessAttempt` rows in the database, shared by every web worker.
"""

from axes.attempts import get_user_attempts
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum

from audit.services import record
from core.client import client_of

from .throttle import worth_recording


def email_key(value) -> str:
    """An email address as the lock-out and the audit trail compare it."""
    return str(value or "").strip().lower()[:254]


def username_of(request, credentials=None) -> str:
    """axes's `AXES_USERNAME_CALLABLE`: the email tried, lower-cased and trimmed, from the
    credentials or else from the form posted (the admin's sign-in does not lower-case it)."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        return email_key(credentials.get(field))
    data = getattr(request, "POST", None) or {}
    return email_key(data.get(field))


def failure_counts(request, credentials) -> dict[str, int]:
    """Failures in the window, by kind, in the order of `AXES_LOCKOUT_PARAMETERS`."""
    kinds = ("email_at_address", "address", "email")
    totals = [
        attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
        for attempts in get_user_attempts(request, credentials)
    ]
    return dict(zip(kinds, totals, strict=True))


def failure_limits(request, credentials) -> dict[str, int]:
    return {
        "email_at_address": get_failure_limit(request, credentials),
        "address": settings.SNS_SIGNIN_ADDRESS_FAILURE_LIMIT,
        "email": settings.SNS_SIGNIN_EMAIL_FAILURE_LIMIT,
    }


class PortalLockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        # axes compares one number with AXES_FAILURE_LIMIT; each kind has its own limit, so
        # the answer is the limit itself once any kind has reached its own.
        counts = failure_counts(request, credentials)
        limits = failure_limits(request, credentials)
        if any(counts[kind] >= limits[kind] for kind in counts):
            return max(counts["email_at_address"], limits["email_at_address"])
        return counts["email_at_address"]

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        email = username_of(request, credentials)
        if request is None:
            record(
                actor=None,
                action="auth.sign_in_failed",
                object_repr=email[:200],
                changes={"email": email},
            )
            return
        counts = failure_counts(request, credentials)
        limits = failure_limits(request, credentials)
        if all(worth_recording(counts[kind], limits[kind]) for kind in counts):
            record(
                actor=None,
                action="auth.sign_in_failed",
                object_repr=email[:200],
                changes={
                    "email": email,
                    "failures": counts["email_at_address"],
                    "failures_from_address": counts["address"],
                    "failures_for_email": counts["email"],
                    "locked_out": bool(getattr(request, "axes_locked_out", False)),
                },
                client=client_of(request),
            )

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        AccessAttempt.objects.filter(
            username=email_key(user.get_username()), ip_address=request.axes_ip_address
        ).delete()
