"""The audit trail's page: its filters, the events they match, the rows it shows and the
filter form's lists of actions and object types."""

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import F, QuerySet
from django.utils import timezone

from audit import descriptions
from audit.models import AuditEvent
from core.browsers import browser_summary
from people.models import display_name_of

from .distinct import distinct_values


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    occurred_from: datetime.date | None = None
    occurred_to: datetime.date | None = None


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def audit_events(filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Events for these filters; order by id (keyset) in the caller.

    Each filter matches an index: (actor_label, id), (action, id),
    (object_type, object_id, id), occurred_at.
    """
    qs = AuditEvent.objects.all()
    if filters.actor:
        qs = qs.filter(actor_label=filters.actor.strip().lower())
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    if filters.object_id:
        qs = qs.filter(object_id=filters.object_id)
    if filters.occurred_from:
        qs = qs.filter(occurred_at__gte=_day_start(filters.occurred_from))
    if filters.occurred_to:
        qs = qs.filter(occurred_at__lt=_day_start(filters.occurred_to + datetime.timedelta(1)))
    return qs


# The filter's lists of actions and object types are the same for everyone and change only
# when the code records a new kind of event: read once a minute per process, not per page.
AUDIT_CHOICES_CACHE_SECONDS = 60


def audit_actions() -> list[str]:
    return cache.get_or_set(
        "audit-trail:actions",
        lambda: distinct_values(AuditEvent, "action"),
        AUDIT_CHOICES_CACHE_SECONDS,
    )


def audit_object_types() -> list[str]:
    return cache.get_or_set(
        "audit-trail:object-types",
        lambda: [value for value in distinct_values(AuditEvent, "object_type") if value],
        AUDIT_CHOICES_CACHE_SECONDS,
    )


@dataclass(frozen=True)
class AuditRow:
    """One event of the audit trail, as the pages show it: plain values and their words
    (`audit.descriptions`), not an event with its actor and their profile as model
    instances."""

    id: int
    occurred_at: datetime.datetime
    actor_label: str
    actor_name: str  # the person's name when it says more than the label, else ""
    action: str
    object_type: str
    object_id: str
    object_repr: str
    client_address: str
    user_agent: str  # the whole string, for the event's own page
    changes: object

    @property
    def description(self) -> str:
        return descriptions.action_description(self.action)

    @property
    def actor_in_words(self) -> str:
        return descriptions.actor_in_words(
            actor_label=self.actor_label, actor_name=self.actor_name, action=self.action
        )

    @property
    def object_label(self) -> str:
        return descriptions.object_type_label(self.object_type)

    @property
    def browser(self) -> str:
        return browser_summary(self.user_agent)

    @property
    def change_lines(self) -> list[descriptions.ChangeLine]:
        return descriptions.change_lines(self.changes, self.object_type)


AUDIT_ROW_FIELDS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "client_address",
    "user_agent",
    "changes",
)
ACTOR_NAME_FIELDS = {
    "actor_common_name": F("actor__profile__commonly_used_name"),
    "actor_first_name": F("actor__first_name"),
    "actor_last_name": F("actor__last_name"),
    "actor_email": F("actor__email"),
}


def audit_page_values(queryset: QuerySet[AuditEvent]) -> QuerySet:
    """Events (`audit_events`) as dictionaries of what a row shows, with the actor's name
    columns; keyset pages on `id`. Turn a page of them into rows with `audit_rows`."""
    return queryset.values(*AUDIT_ROW_FIELDS, **ACTOR_NAME_FIELDS)


def _row(v: dict) -> AuditRow:
    actor_name = ""
    if v["actor_id"] is not None:
        actor_name = display_name_of(
            v["actor_common_name"],
            v["actor_first_name"],
            v["actor_last_name"],
            v["actor_email"],
        )
        if actor_name == v["actor_label"]:
            actor_name = ""
    return AuditRow(
        id=v["id"],
        occurred_at=v["occurred_at"],
        actor_label=v["actor_label"],
        actor_name=actor_name,
        action=v["action"],
        object_type=v["object_type"],
        object_id=v["object_id"],
        object_repr=v["object_repr"],
        client_address=v["client_address"] or "",
        user_agent=v["user_agent"],
        changes=v["changes"],
    )


def audit_rows(values: list[dict]) -> list[AuditRow]:
    return [_row(v) for v in values]


def audit_event(*, pk: int) -> AuditRow | None:
    """One event with everything its own page shows (the whole browser string), or None."""
    values = audit_page_values(AuditEvent.objects.filter(pk=pk)).first()
    return _row(values) if values is not None else None
