"""Read queries about people."""

from django.db.models import QuerySet

from .models import User


def people_for_password_link(*, email: str) -> QuerySet[User]:
    """Who may be sent a "create or reset your password" link for this address: the active
    person with it, whether or not they have a password yet.

    Django's `PasswordResetForm.get_users` leaves out people whose password is unusable,
    which is everyone `import_staff` created: they have never had a password, and this link
    is how they get their first one. People switched off (`is_active` false) get nothing.
    """
    return User.objects.filter(email__iexact=email.strip(), is_active=True)
