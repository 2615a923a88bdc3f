"""A small department for reviews: a directorate with its director and people holding
current grants."""

from access_requests.models import AccessGrant
from access_requests.tests.factories import grant_in_status
from people.models import Directorate, Role
from people.tests.factories import BusinessUnitFactory, UserFactory, director_of


def holder_in(directorate: Directorate, **kwargs):
    return UserFactory(
        profile__business_unit=BusinessUnitFactory(directorate=directorate), **kwargs
    )


def grant_held_in(
    directorate: Directorate, *, active: bool = False, holder=None, status=None
) -> AccessGrant:
    """A current grant of someone in `directorate` (active tier with `active=True`)."""
    holder = holder or holder_in(directorate)
    return grant_in_status(
        status or AccessGrant.Status.ACTIVE,
        business_case__requester=holder,
        business_case__active=active,
    )


def department(*, fallback=True):
    """A directorate with a director, an organisation with a fallback approver (an admin)."""
    directorate = BusinessUnitFactory().directorate
    director = director_of(directorate)
    if fallback:
        organisation = directorate.organisation
        organisation.fallback_approver = UserFactory(role=Role.ADMIN)
        organisation.save(update_fields=["fallback_approver"])
    return directorate, director
