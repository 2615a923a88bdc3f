"""Every allowed and every forbidden change of a grant's status, through its service."""

import datetime

import pytest
from django.utils import timezone

from access_requests.errors import AssetTagRequired, ReasonRequired, TransitionNotAllowed
from access_requests.models import AccessGrant, AccessTier
from access_requests.services import grants as services
from access_requests.tests.factories import (
    grant_in_status,
)
from audit.models import AuditEvent
from people.models import Role
from people.tests.factories import UserFactory

S = AccessGrant.Status
ALL = list(S)


def _provision(grant):
    return services.grant_provision(grant=grant, actor=UserFactory(role=Role.ICT))


def _return(grant):
    return services.grant_return(
        grant=grant, actor=UserFactory(role=Role.ICT), reason="No network port free"
    )


def _revoke(grant):
    return services.grant_revoke(
        grant=grant, actor=UserFactory(role=Role.ADMIN), reason="No longer needed"
    )


def _surrender(grant):
    return services.grant_surrender(grant=grant, actor=grant.holder)


ACTIONS = {
    S.ACTIVE: _provision,
    S.RETURNED: _return,
    S.REVOKED: _revoke,
    S.SURRENDERED: _surrender,
}


@pytest.mark.django_db
@pytest.mark.parametrize("to_status", list(ACTIONS))
@pytest.mark.parametrize("from_status", ALL)
def test_each_change_is_allowed_exactly_when_the_transitions_say_so(from_status, to_status):
    grant = grant_in_status(from_status)
    allowed = to_status in AccessGrant.TRANSITIONS[from_status]
    events_before = AuditEvent.objects.count()
    if allowed:
        changed = ACTIONS[to_status](grant)
        assert changed.status == to_status
        grant.refresh_from_db()
        assert grant.status == to_status
        assert AuditEvent.objects.count() == events_before + 1
        assert AuditEvent.objects.order_by("-id").first().action.startswith("grant.")
    else:
        with pytest.raises(TransitionNotAllowed):
            ACTIONS[to_status](grant)
        grant.refresh_from_db()
        assert grant.status == from_status
        assert AuditEvent.objects.count() == events_before


@pytest.mark.django_db
@pytest.mark.parametrize("from_status", ALL)
def test_only_a_current_grant_past_its_end_date_expires(from_status):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    grant = grant_in_status(
        from_status,
        start_date=yesterday - datetime.timedelta(days=30),
        end_date=yesterday,
    )
    result = services.grant_expire(grant_id=grant.pk)
    grant.refresh_from_db()
    if S.EXPIRED in AccessGrant.TRANSITIONS[from_status]:
        assert result is not None
        assert grant.status == S.EXPIRED
        assert grant.expired_at is not None
    else:
        assert result is None
        assert grant.status == from_status


@pytest.mark.django_db
def test_a_second_provisioning_after_the_first_is_refused():
    grant = grant_in_status(S.AWAITING_PROVISIONING)
    _provision(grant)
    with pytest.raises(TransitionNotAllowed):
        _provision(grant)
    assert AuditEvent.objects.filter(action="grant.provisioned").count() == 1


@pytest.mark.django_db
def test_the_active_tier_needs_an_asset_tag_to_be_provisioned():
    grant = grant_in_status(S.AWAITING_PROVISIONING, business_case__active=True)
    assert grant.tier == AccessTier.ACTIVE
    with pytest.raises(AssetTagRequired):
        services.grant_provision(grant=grant, actor=UserFactory(role=Role.ICT), asset_tag=" ")
    grant.refresh_from_db()
    assert grant.status == S.AWAITING_PROVISIONING


@pytest.mark.django_db
def test_revoking_and_returning_need_a_reason():
    grant = grant_in_status(S.AWAITING_PROVISIONING)
    with pytest.raises(ReasonRequired):
        services.grant_revoke(grant=grant, actor=UserFactory(role=Role.ADMIN), reason="  ")
    with pytest.raises(ReasonRequired):
        services.grant_return(grant=grant, actor=UserFactory(role=Role.ICT), reason="")
    grant.refresh_from_db()
    assert grant.status == S.AWAITING_PROVISIONING
