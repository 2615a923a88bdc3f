"""Runners for the retention sweep's services and the read API's service tokens."""

import datetime

import time_machine
from axes.models import AccessLog
from django.utils import timezone

from access_requests.models import BusinessCase
from access_requests.services import (
    retention as case_retention,
)
from access_requests.tests.factories import (
    BusinessCaseFactory,
)
from api import services as api_services
from api.models import Scope
from audit import retention as audit_retention
from audit.models import AuditEvent
from audit.services import CLIENT_FIELDS_CLEARED, record
from core.client import Client
from notifications import (
    retention as email_retention,
)
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory
from portal import tasks as portal_tasks

from .common import CLIENT, Expected, NoEvent

# --- the retention sweep's services -----------------------------------------------------------

EMAIL_RETENTION = "notifications.retention"
CASE_RETENTION = "access_requests.services.retention"
PORTAL_TASKS = "portal.tasks"
AUDIT_RETENTION = "audit.retention"
RETENTION_SWEEP = "system:retention sweep"


def _days_ago(n: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)


def run_outbound_email_bodies_purge(run):
    run.settings.SNS_RETENTION_EMAIL_BODY_DAYS = 90
    old = OutboundEmail.objects.create(
        to="sam@example.gov.uk",
        template="t",
        body_text="Dear Sam",
        status="sent",
        sent_at=_days_ago(91),
    )
    run.service_starts()
    assert email_retention.outbound_email_bodies_purge() == 1
    return Expected(
        "email.bodies_removed",
        None,
        RETENTION_SWEEP,
        changes={"emails": [old.pk], "count": 1},
        object_repr="1 email",
    )


def run_case_texts_purge_due(run):
    run.settings.SNS_RETENTION_CASE_TEXT_DAYS = 730
    case = BusinessCaseFactory(
        submitted=True,
        status=BusinessCase.Status.REJECTED,
        decided_at=_days_ago(731),
        decision_reason="Personal reasons",
    )
    run.service_starts()
    assert case_retention.case_texts_purge_due() == 1
    return Expected(
        "case.texts_removed",
        None,
        RETENTION_SWEEP,
        changes={"cases": [case.reference]},
        object_repr="1 closed case",
    )


def run_sign_in_records_purge(run):
    run.settings.SNS_RETENTION_SIGN_IN_DAYS = 90
    entry = AccessLog.objects.create(
        username="old@example.gov.uk", ip_address="203.0.113.9", user_agent="Firefox"
    )
    AccessLog.objects.filter(pk=entry.pk).update(attempt_time=_days_ago(91))
    run.service_starts()
    assert portal_tasks.sign_in_records_purge() == 1
    return Expected(
        "sign_in_records.removed",
        None,
        RETENTION_SWEEP,
        changes={"count": 1, "retention_days": 90},
        object_repr="1 sign-in record",
    )


def run_audit_client_fields_purge(run):
    run.settings.SNS_RETENTION_CLIENT_DAYS = 400
    with time_machine.travel(_days_ago(401), tick=False):
        old = record(actor=None, action="test.signed_in", client=CLIENT)
    run.service_starts()
    assert audit_retention.audit_client_fields_purge() == 1
    old = AuditEvent.objects.get(pk=old.pk)
    assert (old.client_address, old.user_agent) == (None, "")
    return Expected(
        CLIENT_FIELDS_CLEARED,
        None,
        RETENTION_SWEEP,
        changes={"count": 1, "up_to_id": old.pk, "retention_days": 400},
        object_repr="1 audit event",
    )


# --- the read API's service tokens ---------------------------------------------------------

API = "api.services"


def _service_token(admin=None):
    admin = admin or UserFactory(role=Role.ADMIN)
    return api_services.service_token_create(
        name="SIEM",
        owner=admin,
        scopes=[Scope.AUDIT_READ],
        expires_at=timezone.now() + datetime.timedelta(days=30),
        actor=admin,
    )


def run_service_token_create(run):
    admin = UserFactory(role=Role.ADMIN)
    run.service_starts()
    token, _secret = api_services.service_token_create(
        name="SIEM",
        owner=admin,
        scopes=[Scope.AUDIT_READ],
        expires_at=timezone.now() + datetime.timedelta(days=30),
        actor=admin,
        client=CLIENT,
    )
    return Expected(
        "service_token.created",
        token,
        admin.email,
        CLIENT.address,
        changes={"scope": "audit:read", "owner": admin.email},
    )


def run_service_token_revoke(run):
    admin = UserFactory(role=Role.ADMIN)
    token, _secret = _service_token(admin)
    run.service_starts()
    api_services.service_token_revoke(token=token, actor=admin, client=CLIENT)
    return Expected("service_token.revoked", token, admin.email, CLIENT.address)


def run_service_token_use(run):
    token, secret = _service_token()
    api_services.service_token_use(secret=secret, client=Client("198.51.100.1", "siem"))
    run.service_starts()
    api_services.service_token_use(secret=secret, client=CLIENT)
    return Expected(
        "service_token.used_from_new_address",
        token,
        "anonymous",
        CLIENT.address,
        changes={"address": ["198.51.100.1", CLIENT.address]},
    )


def run_service_token_use_same_address(run):
    token, secret = _service_token()
    api_services.service_token_use(secret=secret, client=CLIENT)
    run.service_starts()
    api_services.service_token_use(secret=secret, client=CLIENT)
    return NoEvent(token)
