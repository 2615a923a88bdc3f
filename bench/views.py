"""The benchmark's floor: the cheapest page the portal's stack can serve.

A bare view that renders 25 grants taken by primary key, with no joins, through a minimal
template, behind the same middleware as every page (session, sign-in, CSP). `make bench`
compares every page with it.
"""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from access_requests.models import AccessGrant

FLOOR_ROWS = 25


@require_safe
def floor(request):
    grants = AccessGrant.objects.order_by("id").only(
        "id", "tier", "status", "start_date", "end_date"
    )[:FLOOR_ROWS]
    return render(request, "bench/floor.html", {"grants": grants})
