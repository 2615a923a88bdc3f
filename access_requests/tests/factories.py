import datetime
from zoneinfo import ZoneInfo

import factory
from django.utils import timezone

from access_requests.models import (
    AccessGrant,
    AccessTier,
    BusinessCase,
    Site,
    SiteIdentity,
)
from people.tests.factories import UserFactory


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Site {n}")
    url = factory.LazyAttribute(lambda o: f"https://{o.name.lower().replace(' ', '')}.example/")


def _today():
    return timezone.localdate()


class BusinessCaseFactory(factory.django.DjangoModelFactory):
    """A complete draft (every question answered). Use `submitted=True` for a sent case."""

    class Meta:
        model = BusinessCase
        skip_postgeneration_save = True

    requester = factory.SubFactory(UserFactory)
    tier = AccessTier.PASSIVE
    purpose = "Monitor public discussion of visa policy to brief ministers."
    audience = "Members of the public and stakeholder organisations."
    integration = "Feeds the weekly communications plan."
    start_date = factory.LazyFunction(_today)
    end_date = factory.LazyFunction(lambda: _today() + datetime.timedelta(days=90))
    declared_read_guidance = True
    declared_civil_service_code = True
    declared_no_protected_information = True
    declared_media_to_press_office = True
    declared_separate_identities = True

    class Params:
        submitted = factory.Trait(
            status=BusinessCase.Status.SUBMITTED,
            reference=factory.Sequence(lambda n: f"SNS-2026-{n + 1:05d}"),
            submitted_at=factory.LazyFunction(timezone.now),
            declarations_made_at=factory.LazyFunction(timezone.now),
        )
        active = factory.Trait(
            tier=AccessTier.ACTIVE,
            budget_holder_name="Jo Budget",
            pc_choice=BusinessCase.PcChoice.NEW,
            paying_business_unit=factory.LazyAttribute(lambda o: o.requester.profile.business_unit),
            budget_holder=factory.LazyAttribute(
                lambda o: UserFactory(
                    profile__business_unit=o.requester.profile.business_unit,
                    profile__name="Jo Budget",
                )
            ),
        )

    @factory.post_generation
    def sites(self, create, extracted, **kwargs):
        """`sites=[site, …]`; by default one site. Each gets a SiteIdentity."""
        if not create:
            return
        for site in extracted if extracted is not None else [SiteFactory(name="LinkedIn")]:
            SiteIdentity.objects.create(
                business_case=self,
                site=site,
                display_name=self.requester.display_name,
                identifies_as_official=True,
            )


class AccessGrantFactory(factory.django.DjangoModelFactory):
    """A grant awaiting provisioning, from an approved case. `provisioned=True` makes it active."""

    class Meta:
        model = AccessGrant
        skip_postgeneration_save = True

    business_case = factory.SubFactory(
        BusinessCaseFactory,
        submitted=True,
        status=BusinessCase.Status.APPROVED,
        decided_at=factory.LazyFunction(timezone.now),
    )
    holder = factory.LazyAttribute(lambda o: o.business_case.requester)
    tier = factory.LazyAttribute(lambda o: o.business_case.tier)
    start_date = factory.LazyAttribute(lambda o: o.business_case.start_date)
    end_date = factory.LazyAttribute(lambda o: o.business_case.end_date)
    approved_by = factory.SubFactory(UserFactory)
    approved_at = factory.LazyFunction(timezone.now)

    class Params:
        provisioned = factory.Trait(
            status=AccessGrant.Status.ACTIVE,
            provisioned_at=factory.LazyFunction(timezone.now),
            provisioned_by=factory.SubFactory(UserFactory),
        )

    @factory.post_generation
    def sites(self, create, extracted, **kwargs):
        if not create:
            return
        self.sites.set(extracted if extracted is not None else self.business_case.sites.all())


# --- access grants (issue 5) -----------------------------------------------------------------


def grant_in_status(status: str, **kwargs) -> AccessGrant:
    """A grant in any status, with the fields its constraints ask for."""
    now = timezone.now()
    if status == AccessGrant.Status.AWAITING_PROVISIONING:
        return AccessGrantFactory(**kwargs)
    if status == AccessGrant.Status.RETURNED:
        return AccessGrantFactory(status=status, returned_reason="No PC in stock", **kwargs)
    grant = AccessGrantFactory(provisioned=True, **kwargs)
    extra = {
        AccessGrant.Status.ACTIVE: {},
        AccessGrant.Status.EXPIRED: {"expired_at": now},
        AccessGrant.Status.SURRENDERED: {"surrendered_at": now},
        AccessGrant.Status.REVOKED: {
            "revoked_at": now,
            "revoked_by": UserFactory(),
            "revocation_reason": "Misuse",
        },
    }[status]
    for field, value in {"status": status, **extra}.items():
        setattr(grant, field, value)
    grant.save()
    return grant


def requester_with_director(**kwargs):
    """A member of staff whose directorate has a director, so a sent case can be routed."""
    from people.tests.factories import director_of

    person = UserFactory(**kwargs)
    director_of(person.profile.business_unit.directorate)
    return person


LONDON = ZoneInfo("Europe/London")


def noon_in_london(day: datetime.date) -> datetime.datetime:
    """Midday on `day` where the portal runs: a time to travel to that is that day whatever
    the time zone offset."""
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=LONDON)


def grant_ending(
    end: datetime.date, start: datetime.date | None = None, *, provisioned: bool = True, **kwargs
) -> AccessGrant:
    """A grant ending on `end` (from 120 days before, unless `start`): active, or with
    `provisioned=False` still waiting for ICT."""
    start = start or end - datetime.timedelta(days=120)
    if provisioned:
        kwargs["provisioned"] = True
    return AccessGrantFactory(
        business_case__start_date=start, business_case__end_date=end, **kwargs
    )
