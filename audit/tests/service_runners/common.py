"""What every runner shares: the client, the expected events, the run."""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from audit.models import AuditEvent
from core.client import Client

CLIENT = Client(address="203.0.113.9", user_agent="Service test")


@dataclass(frozen=True)
class Expected:
    action: str
    obj: object | None  # the model the event is about (None: no object)
    actor_label: str
    client_address: str | None = None  # and then the client's user agent too
    changes: dict = field(default_factory=dict)  # must be among the event's changes
    object_repr: str | None = None


@dataclass(frozen=True)
class NoEvent:
    """An item the run must leave alone (a sweep's item that was not due)."""

    obj: object


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


class Run:
    """What a runner gets: the test client, the settings, and `service_starts()`, called once
    the state is built, so that only what the service wrote is checked."""

    def __init__(self, client, settings):
        self.client = client
        self.settings = settings
        self.since = _last_event_id()

    def service_starts(self) -> None:
        self.since = _last_event_id()


def _status(old, new) -> dict:
    return {"status": [old, new]}


def _days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)
