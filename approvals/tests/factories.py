import datetime
import re
import secrets
from zoneinfo import ZoneInfo

import factory
from django.utils import timezone

from access_requests.tests.factories import BusinessCaseFactory
from approvals.models import ApprovalRequest, Delegation
from notifications.models import OutboundEmail
from people.tests.factories import BusinessUnitFactory, DirectorateFactory, UserFactory, director_of

LONDON = ZoneInfo("Europe/London")


def at(day: str, hour: int = 10, minute: int = 0) -> datetime.datetime:
    """A moment in London on that day (10:00 unless told)."""
    return datetime.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=LONDON)


def _case_in_a_directorate_led_by(request):
    """A submitted case from someone in a directorate the request's approver leads, so the
    approver holds the authority a director's request gives."""
    directorate = request.approver.directorates_led.first() or DirectorateFactory(
        director=request.approver
    )
    requester = UserFactory(profile__business_unit=BusinessUnitFactory(directorate=directorate))
    return BusinessCaseFactory(submitted=True, requester=requester)


class ApprovalRequestFactory(factory.django.DjangoModelFactory):
    """An open approval request. Its token is random and unknown: use the service to get one."""

    class Meta:
        model = ApprovalRequest

    business_case = factory.LazyAttribute(_case_in_a_directorate_led_by)
    approver = factory.SubFactory(UserFactory, role="director")
    routed_because = ApprovalRequest.Reason.DIRECTOR
    token_hash = factory.LazyFunction(lambda: secrets.token_hex(32))
    token_expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=14))
    decide_by = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=5))


class DelegationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delegation

    director = factory.SubFactory(UserFactory, role="director")
    deputy = factory.SubFactory(UserFactory)
    starts_on = factory.LazyFunction(timezone.localdate)
    ends_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=14))
    scope = Delegation.Scope.CASES


LINK_PATTERN = re.compile(r"(https?://[^\s\"<>]+/approvals/decide/([A-Za-z0-9_\-]+)/)")


def requester_and_director(**kwargs):
    """A requester in a directorate that has a director: returns (requester, director).
    (`access_requests.tests.factories.requester_with_director` returns the requester alone.)"""
    directorate = DirectorateFactory()
    director = director_of(directorate, profile__name=kwargs.pop("director_name", "Dana Director"))
    unit = BusinessUnitFactory(directorate=directorate)
    requester = UserFactory(profile__business_unit=unit, **kwargs)
    return requester, director


def submitted_case(requester=None, **case_kwargs):
    """A complete case sent through `case_submit` (routing, tokens, emails)."""
    from approvals.services import case_submit

    if requester is None:
        requester, _ = requester_and_director()
    case = BusinessCaseFactory(requester=requester, **case_kwargs)
    return case_submit(case=case, actor=requester)


def link_for(approval: ApprovalRequest) -> str:
    """The newest emailed link for this approval request (only its hash is stored). The
    request and its reminders carry one; "no decision needed" (approval_closed) does not."""
    email = (
        OutboundEmail.objects.filter(
            object_type="approvals.approvalrequest",
            object_id=str(approval.pk),
            template__in=["approval_request", "budget_holder_request", "approval_reminder"],
        )
        .order_by("-id")
        .first()
    )
    match = LINK_PATTERN.search(email.content(live=True).body_text)
    return match.group(1)


def token_for(approval: ApprovalRequest) -> str:
    return LINK_PATTERN.search(link_for(approval)).group(2)
