"""Sign-in events go into the audit trail (Django's auth views send these signals).

Failed sign-ins are recorded by the lock-out (`people.lockout`), which counts them.
"""

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from audit.services import record
from core.client import client_of

from .sso import SSO_BACKEND


@receiver(user_logged_in, dispatch_uid="audit_signed_in")
def audit_signed_in(sender, request, user, **kwargs):
    client = client_of(request)
    record(
        actor=user,
        action="auth.signed_in",
        obj=user,
        object_repr=user.email,
        # Which way in, said only for single sign-on (a password is the other).
        changes={"method": "single sign-on"}
        if request.session.get(BACKEND_SESSION_KEY) == SSO_BACKEND
        else None,
        client=client,
    )


@receiver(user_logged_out, dispatch_uid="audit_signed_out")
def audit_signed_out(sender, request, user, **kwargs):
    if user is None:
        return
    client = client_of(request)
    record(
        actor=user,
        action="auth.signed_out",
        obj=user,
        object_repr=user.email,
        client=client,
    )


def sync_roles_after_migrate(sender, **kwargs):
    from .roles import roles_sync

    roles_sync()


post_migrate.connect(sync_roles_after_migrate, dispatch_uid="people_roles_sync")
