"""Read queries for access grants. Which grants a person may see is decided here."""

from django.db.models import Prefetch, QuerySet

from access_requests.models import AccessGrant, Site


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
