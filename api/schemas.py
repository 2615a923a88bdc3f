"""The read API's request and response shapes (pydantic, through django-ninja): they make
the OpenAPI document, and a query outside them is answered 422 before any query runs."""

import datetime
import re
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator

from access_requests.models import AccessGrant, BusinessCase

BIGINT_MAX = 2**63 - 1


def _iso_date_text(value):
    """Only a date written YYYY-MM-DD: pydantic would also read "0" as 1 January 1970."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("Write a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[datetime.date, BeforeValidator(_iso_date_text)]
# Text PostgreSQL can hold: no NUL character.
NO_NUL = r"^[^\x00]*$"


GrantStatus = Literal[("current", "all", *AccessGrant.Status.values)]
CaseStatus = Literal[tuple(s for s in BusinessCase.Status.values if s != "draft")]


class Problem(Schema):
    detail: str


class ValidationProblem(Schema):
    detail: list[dict[str, Any]]


class GrantFilters(Schema):
    status: GrantStatus = Field("current", description="current: awaiting provisioning or active")
    tier: Literal["passive", "active"] | None = None
    site: int | None = Field(None, ge=1, le=BIGINT_MAX, description="a site's id")
    organisation: int | None = Field(None, ge=1, le=BIGINT_MAX)
    directorate: int | None = Field(None, ge=1, le=BIGINT_MAX)
    business_unit: int | None = Field(None, ge=1, le=BIGINT_MAX, description="the holder's unit")
    approver: int | None = Field(None, ge=1, le=BIGINT_MAX, description="the approver's user id")
    expiring_within_days: int | None = Field(None, ge=0, le=3650)
    start_from: IsoDate | None = None
    start_to: IsoDate | None = None
    end_from: IsoDate | None = None
    end_to: IsoDate | None = None
    q: str = Field("", max_length=100, pattern=NO_NUL, description="holder or case reference")
    sort: Literal["end_date", "-end_date", "holder", "-holder"] = "end_date"
    after: str | None = Field(None, max_length=2000, description="the `next` link's cursor")
    limit: int = Field(50, ge=1, le=200)


class Person(Schema):
    id: int
    name: str
    email: str


class Holder(Person):
    directorate: str
    business_unit: str


class Unit(Schema):
    id: int
    name: str
    cost_centre: str


class CostAgreement(Schema):
    text: str = Field(description="who agreed to the cost, in the register's words")
    agreed_by: Person | None = Field(description="the budget holder (or deputy) who agreed")
    agreed_on: datetime.date | None
    counted_as_director: bool = Field(
        description="the director's approval counted for the cost (a shortcut)"
    )


class ReviewOutcome(Schema):
    review_id: int
    outcome: str
    decided_by: Person | None
    decided_on: datetime.date | None
    text: str = Field(description="the outcome in the register's words")


class Grant(Schema):
    id: int
    reference: str | None
    case_id: int
    holder: Holder
    sites: list[str]
    tier: str
    tier_label: str
    start_date: datetime.date
    end_date: datetime.date
    status: str
    status_label: str
    approved_by: Person | None
    approved_on_behalf_of: Person | None
    paying_unit: Unit | None
    cost_agreed: CostAgreement = Field(description="who agreed to an active-tier grant's cost")
    latest_review: ReviewOutcome | None = Field(
        description="the grant's latest access review, or null if it has been in none"
    )


class GrantPage(Schema):
    items: list[Grant]
    next: str | None = Field(description="the next page, or null on the last one")


class CaseFilters(Schema):
    status: CaseStatus | None = None
    reference: str = Field("", max_length=20, pattern=NO_NUL)
    after: str | None = Field(None, max_length=2000, description="the `next` link's cursor")
    limit: int = Field(50, ge=1, le=200)


class SiteIdentity(Schema):
    site: str
    display_name: str
    uses_pseudonym: bool
    identifies_as_official: bool
    pseudonym_reason: str | None = Field(None, description="with the cases:reasons scope only")
    not_official_reason: str | None = Field(None, description="with the cases:reasons scope only")


class Case(Schema):
    id: int
    reference: str | None
    status: str
    status_label: str
    requester: Person
    tier: str
    tier_label: str
    sites: list[SiteIdentity]
    paying_unit: Unit | None
    budget_holder: str
    start_date: datetime.date | None
    end_date: datetime.date | None
    submitted_at: datetime.datetime | None
    decided_at: datetime.datetime | None
    withdrawn_at: datetime.datetime | None
    lapsed_at: datetime.datetime | None
    grant_id: int | None
    renewal_of: int | None
    purpose: str | None = Field(None, description="with the cases:reasons scope only")
    audience: str | None = Field(None, description="with the cases:reasons scope only")
    integration: str | None = Field(None, description="with the cases:reasons scope only")
    decision_reason: str | None = Field(None, description="with the cases:reasons scope only")
    withdrawal_reason: str | None = Field(None, description="with the cases:reasons scope only")


class CasePage(Schema):
    items: list[Case]
    next: str | None


class FeedFilters(Schema):
    after_id: int = Field(0, ge=0, le=BIGINT_MAX, description="the last id already read")
    limit: int = Field(100, ge=1, le=1000)
    action: str = Field("", max_length=80, pattern=NO_NUL)
    object_type: str = Field("", max_length=80, pattern=NO_NUL)
    object_id: str = Field("", max_length=64, pattern=NO_NUL)


class AuditEventItem(Schema):
    id: int
    occurred_at: str = Field(description="ISO 8601, exactly as the event's hash covers it")
    actor_id: int | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    changes: dict[str, Any]
    client_address: str | None
    user_agent: str
    client_digest: str | None
    previous_hash: str
    hash: str


class AuditFeed(Schema):
    items: list[AuditEventItem]
    next: str = Field(description="where to ask next: after the last event served")
