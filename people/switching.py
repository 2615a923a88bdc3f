"""Switching people off (they cannot sign in, their sessions end) and on again: for the
directory's leavers and for an admin's decision about one person."""

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from audit.services import NewEvent, record_many
from core.client import Client

from .models import User


def users_switch_off(user_ids: list[int]) -> None:
    """Switched off: they cannot sign in (`is_active`), and their sessions end now."""
    User.objects.filter(pk__in=user_ids).update(is_active=False)
    sessions_end(user_ids=user_ids)


def sessions_end(*, user_ids: list[int]) -> int:
    """Delete the sessions of these people. A session names its person only inside its
    signed data, so the unexpired ones (a few hours' worth) are read and decoded."""
    wanted = {str(pk) for pk in user_ids}
    doomed = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get("_auth_user_id") in wanted
    ]
    Session.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def person_deactivate(*, person: User, actor, reason: str, client: Client | None = None) -> User:
    """Switch one person off (an admin's decision, with a reason): they cannot sign in and
    their sessions end. Returns the person (unchanged if already off). The access effects
    are `approvals.services.people_changes.person_switch_off`'s, which calls this."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=person.pk)
        if locked.is_active:
            users_switch_off([locked.pk])
            locked.is_active = False
            record_many(
                actor=actor,
                events=[
                    NewEvent(
                        action="people.switched_off",
                        obj=locked,
                        object_repr=locked.email,
                        changes={"is_active": [True, False], "reason": reason},
                        client=client,
                    )
                ],
            )
    return locked


def person_activate(*, person: User, actor, client: Client | None = None) -> User:
    """Switch a person back on: they may sign in again. Their ended grants stay ended."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=person.pk)
        if not locked.is_active:
            locked.is_active = True
            locked.save(update_fields=["is_active"])
            record_many(
                actor=actor,
                events=[
                    NewEvent(
                        action="people.switched_on",
                        obj=locked,
                        object_repr=locked.email,
                        changes={"is_active": [False, True]},
                        client=client,
                    )
                ],
            )
    return locked
