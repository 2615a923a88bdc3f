"""Runners for the grant services: provisioning, withdrawal, expiry, safe use, renewal."""

import datetime

from django.db import transaction
from django.utils import timezone

from access_requests.models import AccessGrant, BusinessCase, SafeUseReminder
from access_requests.selectors.grants import expiry_notice_due
from access_requests.services import (
    grant_expiry,
    grant_renewal,
    grant_safe_use,
    grant_withdrawal,
    grants as grant_services,
)
from access_requests.tests.factories import (
    BusinessCaseFactory,
    grant_in_status,
)
from people.models import Role
from people.tests.factories import UserFactory

from .common import CLIENT, Expected, NoEvent, _days, _status

# --- access_requests.services.grants ---------------------------------------------------------

GRANTS = "access_requests.services.grants"
GRANT_EXPIRY = "access_requests.services.grant_expiry"
GRANT_SAFE_USE = "access_requests.services.grant_safe_use"
GRANT_RENEWAL = "access_requests.services.grant_renewal"
GRANT_EMAILS = "access_requests.services.grant_emails"


def run_grant_create_from_case(run):
    case = BusinessCaseFactory(
        submitted=True, status=BusinessCase.Status.APPROVED, decided_at=timezone.now()
    )
    director = UserFactory(role=Role.DIRECTOR)
    run.service_starts()
    grant = grant_services.grant_create_from_case(
        case=case, approved_by=director, approved_at=timezone.now()
    )
    return Expected("grant.created", grant, director.email, changes=_status(None, "awaiting"))


def run_grant_provision(run):
    grant = grant_in_status(AccessGrant.Status.AWAITING_PROVISIONING)
    ict = UserFactory(role=Role.ICT)
    run.service_starts()
    grant_services.grant_provision(grant=grant, actor=ict, client=CLIENT)
    return Expected(
        "grant.provisioned", grant, ict.email, CLIENT.address, _status("awaiting", "active")
    )


def run_grant_provision_active_tier(run):
    grant = grant_in_status(AccessGrant.Status.AWAITING_PROVISIONING, business_case__active=True)
    ict = UserFactory(role=Role.ICT)
    run.service_starts()
    grant_services.grant_provision(grant=grant, actor=ict, asset_tag="PC-0042", client=CLIENT)
    return Expected(
        "grant.provisioned",
        grant,
        ict.email,
        CLIENT.address,
        {**_status("awaiting", "active"), "pc_asset_tag": ["", "PC-0042"]},
    )


def run_grant_withdrawal_confirm(run):
    grant = grant_in_status(AccessGrant.Status.EXPIRED)
    ict = UserFactory(role=Role.ICT)
    run.service_starts()
    grant_withdrawal.grant_withdrawal_confirm(grant=grant, actor=ict, client=CLIENT)
    return Expected("grant.access_withdrawn", grant, ict.email, CLIENT.address)


def run_grant_return(run):
    grant = grant_in_status(AccessGrant.Status.AWAITING_PROVISIONING)
    ict = UserFactory(role=Role.ICT)
    run.service_starts()
    grant_services.grant_return(grant=grant, actor=ict, reason="No PC in stock", client=CLIENT)
    return Expected(
        "grant.returned",
        grant,
        ict.email,
        CLIENT.address,
        {**_status("awaiting", "returned"), "reason": "No PC in stock"},
    )


def run_grant_revoke(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE)
    admin = UserFactory(role=Role.ADMIN)
    run.service_starts()
    grant_services.grant_revoke(grant=grant, actor=admin, reason="Misuse", client=CLIENT)
    return Expected(
        "grant.revoked",
        grant,
        admin.email,
        CLIENT.address,
        {**_status("active", "revoked"), "reason": "Misuse"},
    )


def run_grant_revoke_before_provisioning(run):
    grant = grant_in_status(AccessGrant.Status.AWAITING_PROVISIONING)
    admin = UserFactory(role=Role.ADMIN)
    run.service_starts()
    grant_services.grant_revoke(grant=grant, actor=admin, reason="Moved post", client=CLIENT)
    return Expected(
        "grant.revoked", grant, admin.email, CLIENT.address, _status("awaiting", "revoked")
    )


def run_grant_surrender(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE)
    run.service_starts()
    grant_services.grant_surrender(grant=grant, actor=grant.holder, client=CLIENT)
    return Expected(
        "grant.surrendered",
        grant,
        grant.holder.email,
        CLIENT.address,
        _status("active", "surrendered"),
    )


def run_grant_choose_lapse(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE)
    run.service_starts()
    grant_services.grant_choose_lapse(grant=grant, actor=grant.holder, client=CLIENT)
    grant.refresh_from_db()
    assert grant.lapse_chosen_at is not None
    return Expected("grant.lapse_chosen", grant, grant.holder.email, CLIENT.address)


def run_grant_lapse_undo(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE, lapse_chosen_at=timezone.now())
    run.service_starts()
    with transaction.atomic():
        grant_services.grant_lapse_undo(grant=grant, actor=grant.holder, client=CLIENT)
    grant.refresh_from_db()
    assert grant.lapse_chosen_at is None
    return Expected("grant.lapse_undone", grant, grant.holder.email, CLIENT.address)


def _past_end_grant():
    return grant_in_status(AccessGrant.Status.ACTIVE, start_date=_days(-30), end_date=_days(-1))


def _expired(grant) -> Expected:
    return Expected(
        "grant.expired", grant, "system:grant_expiry_sweep", changes=_status("active", "expired")
    )


def run_grant_expire(run):
    grant = _past_end_grant()
    run.service_starts()
    assert grant_services.grant_expire(grant_id=grant.pk) is not None
    return _expired(grant)


def run_grants_expire(run):
    due = [_past_end_grant(), _past_end_grant()]
    run.service_starts()
    ids = [grant.pk for grant in due]
    assert len(grant_services.grants_expire(grant_ids=ids, today=_days(0), ict=None)) == 2
    return [_expired(grant) for grant in due]


def run_grant_expiry_sweep(run):
    due = [_past_end_grant(), _past_end_grant()]
    not_due = grant_in_status(AccessGrant.Status.ACTIVE)
    run.service_starts()
    assert grant_expiry.grant_expiry_sweep().done == 2
    return [*(_expired(grant) for grant in due), NoEvent(not_due)]


def run_expiry_notice_send(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE, end_date=_days(1))
    days_before = expiry_notice_due(grant=grant, today=timezone.localdate())
    run.service_starts()
    assert grant_expiry.expiry_notice_send(grant_id=grant.pk, days_before=days_before)
    return Expected(
        "grant.expiry_notice_sent",
        grant,
        "system:grant_expiry_notice_sweep",
        changes={"days_before": days_before},
    )


def run_grant_expiry_notice_sweep(run):
    due = [
        grant_in_status(AccessGrant.Status.ACTIVE, end_date=_days(1)),
        grant_in_status(AccessGrant.Status.ACTIVE, end_date=_days(20)),
    ]
    not_due = grant_in_status(AccessGrant.Status.ACTIVE, end_date=_days(80))
    run.service_starts()
    assert grant_expiry.grant_expiry_notice_sweep().done == 2
    return [
        *(
            Expected("grant.expiry_notice_sent", grant, "system:grant_expiry_notice_sweep")
            for grant in due
        ),
        NoEvent(not_due),
    ]


def _safe_use_due_grant():
    return grant_in_status(
        AccessGrant.Status.ACTIVE,
        business_case__active=True,
        provisioned_at=timezone.now() - datetime.timedelta(days=100),
        pc_asset_tag="PC-0042",
    )


def run_safe_use_reminder_send(run):
    grant = _safe_use_due_grant()
    run.service_starts()
    assert grant_safe_use.safe_use_reminder_send(grant_id=grant.pk) is not None
    return Expected(
        "grant.safe_use_reminded", grant, "system:grant_safe_use_sweep", changes={"period": 1}
    )


def run_grant_safe_use_sweep(run):
    due = [_safe_use_due_grant(), _safe_use_due_grant()]
    not_due = grant_in_status(AccessGrant.Status.ACTIVE, business_case__active=True)
    run.service_starts()
    assert grant_safe_use.grant_safe_use_sweep().done == 2
    return [
        *(
            Expected("grant.safe_use_reminded", grant, "system:grant_safe_use_sweep")
            for grant in due
        ),
        NoEvent(not_due),
    ]


def run_safe_use_confirm(run):
    grant = _safe_use_due_grant()
    SafeUseReminder.objects.create(grant=grant, period=1, confirm_by=_days(14))
    run.service_starts()
    assert grant_safe_use.safe_use_confirm(grant=grant, actor=grant.holder, client=CLIENT)
    return Expected(
        "grant.safe_use_confirmed", grant, grant.holder.email, CLIENT.address, {"period": 1}
    )


def run_grant_renewal_start(run):
    grant = grant_in_status(AccessGrant.Status.ACTIVE, end_date=_days(10))
    run.service_starts()
    renewal = grant_renewal.grant_renewal_start(grant=grant, actor=grant.holder, client=CLIENT)
    assert renewal.renewal_of_id == grant.pk
    return Expected(
        "case.renewal_started", renewal, grant.holder.email, CLIENT.address, _status(None, "draft")
    )
