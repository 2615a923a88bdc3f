"""Read queries for approval requests."""

from django.db.models import Prefetch, QuerySet

from access_requests.models import Site

from .models import ApprovalRequest


def approval_requests_open_for(*, user) -> QuerySet[ApprovalRequest]:
    """Cases waiting for this person's decision, oldest first."""
    return (
        ApprovalRequest.objects.filter(approver=user, status=ApprovalRequest.Status.OPEN)
        .select_related("business_case__requester__profile")
        .prefetch_related(Prefetch("business_case__sites", queryset=Site.objects.order_by("name")))
        .order_by("created_at", "id")
    )
