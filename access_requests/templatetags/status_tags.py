"""Each status's GOV.UK tag colour, defined once for every page that shows a business
case's or a grant's status (`{% load status_tags %}`, then `status|case_tag` or
`status|grant_tag` as the tag's class).

Green: in force or agreed. Blue: waiting on someone else (a decision, ICT). Yellow:
waiting on the person themselves (more information asked for). Orange: ended
without the outcome asked for, needing a look (lapsed, returned by ICT). Red: refused or
taken away. Grey: closed in the ordinary way, or not yet started.
"""

from django import template

from access_requests.models import AccessGrant, BusinessCase

register = template.Library()

CASE_STATUS_TAGS = {
    BusinessCase.Status.DRAFT: "govuk-tag--grey",
    BusinessCase.Status.SUBMITTED: "govuk-tag--blue",
    BusinessCase.Status.MORE_INFORMATION: "govuk-tag--yellow",
    BusinessCase.Status.APPROVED: "govuk-tag--green",
    BusinessCase.Status.REJECTED: "govuk-tag--red",
    BusinessCase.Status.WITHDRAWN: "govuk-tag--grey",
    BusinessCase.Status.LAPSED: "govuk-tag--orange",
}
GRANT_STATUS_TAGS = {
    AccessGrant.Status.AWAITING_PROVISIONING: "govuk-tag--blue",
    AccessGrant.Status.ACTIVE: "govuk-tag--green",
    AccessGrant.Status.EXPIRED: "govuk-tag--grey",
    AccessGrant.Status.REVOKED: "govuk-tag--red",
    AccessGrant.Status.SURRENDERED: "govuk-tag--grey",
    AccessGrant.Status.RETURNED: "govuk-tag--orange",
}
UNKNOWN = "govuk-tag--grey"


@register.filter
def case_tag(status: str) -> str:
    """The tag colour class for a business case's status."""
    return CASE_STATUS_TAGS.get(status, UNKNOWN)


@register.filter
def grant_tag(status: str) -> str:
    """The tag colour class for a grant's status."""
    return GRANT_STATUS_TAGS.get(status, UNKNOWN)
