"""Routing a submitted case to its approver, and deciding it.

Issue 4 builds routing, the token, decisions, reminders, escalation and lapse here.
"""

from django.db import transaction

from access_requests.models import BusinessCase
from access_requests.services import business_cases as case_services
from audit.client import Client


def case_submit(*, case: BusinessCase, actor, client: Client | None = None) -> BusinessCase:
    """ "Accept and send": in one transaction the case becomes submitted and is routed."""
    with transaction.atomic():
        submitted = case_services.business_case_submit(case=case, actor=actor, client=client)
    return submitted
