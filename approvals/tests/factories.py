import datetime
import secrets

import factory
from django.utils import timezone

from access_requests.tests.factories import BusinessCaseFactory
from approvals.models import ApprovalRequest, Delegation
from people.tests.factories import UserFactory


class ApprovalRequestFactory(factory.django.DjangoModelFactory):
    """An open approval request. Its token is random and unknown: use the service to get one."""

    class Meta:
        model = ApprovalRequest

    business_case = factory.SubFactory(BusinessCaseFactory, submitted=True)
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
