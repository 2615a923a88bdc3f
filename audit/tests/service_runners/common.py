"""What every runner shares: the client, the expected events, the run."""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from access_requests.services import (
    business_cases as case_services,
    case_copies,
    grant_emails,
    grant_expiry,
    grant_renewal,
    grant_safe_use,
    grants as grant_services,
    retention as case_retention,
    sites as site_services,
)
from api import services as api_services
from approvals import services as approval_services
from audit import retention as audit_retention
from audit.models import AuditEvent
from core.client import Client
from notifications import (
    delivery as email_delivery,
    retention as email_retention,
    services as notification_services,
)
from people import (
    directory as people_directory,
    services as people_services,
)
from portal import tasks as portal_tasks
from reviews import services as review_services
from staffing import services as staffing_services

CLIENT = Client(address="203.0.113.9", user_agent="Service test")

# The modules whose public functions the coverage test lists.
SERVICE_MODULES = [
    case_services,
    site_services,
    case_copies,
    grant_services,
    grant_expiry,
    grant_safe_use,
    grant_renewal,
    grant_emails,
    approval_services,
    notification_services,
    email_delivery,
    people_services,
    people_directory,
    staffing_services,
    review_services,
    email_retention,
    case_retention,
    portal_tasks,
    audit_retention,
    api_services,
]


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
