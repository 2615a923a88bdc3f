"""Read queries for business cases and grants. Which objects a person may see is decided here."""

from django.db.models import Prefetch, QuerySet

from .models import AccessGrant, BusinessCase, Site


def business_cases_for_requester(*, user) -> QuerySet[BusinessCase]:
    """The person's own cases, newest first, with their sites for list pages."""
    return (
        BusinessCase.objects.filter(requester=user)
        .prefetch_related(Prefetch("sites", queryset=Site.objects.order_by("name")))
        .order_by("-created_at", "-id")
    )


def grants_for_holder(*, user) -> QuerySet[AccessGrant]:
    return (
        AccessGrant.objects.filter(holder=user)
        .select_related("business_case")
        .prefetch_related(Prefetch("sites", queryset=Site.objects.order_by("name")))
        .order_by("-end_date", "-id")
    )


def grants_awaiting_provisioning() -> QuerySet[AccessGrant]:
    return (
        AccessGrant.objects.filter(status=AccessGrant.Status.AWAITING_PROVISIONING)
        .select_related("business_case", "holder__profile", "paying_business_unit")
        .prefetch_related(Prefetch("sites", queryset=Site.objects.order_by("name")))
        .order_by("start_date", "id")
    )
