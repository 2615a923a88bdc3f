"""Read queries for business cases. Which cases a person may see is decided here."""

from django.db.models import Prefetch, QuerySet

from access_requests.models import BusinessCase, Site


def business_cases_for_requester(*, user) -> QuerySet[BusinessCase]:
    """The person's own cases, newest first, with their sites for list pages."""
    return (
        BusinessCase.objects.filter(requester=user)
        .prefetch_related(Prefetch("sites", queryset=Site.objects.order_by("name")))
        .order_by("-created_at", "-id")
    )
