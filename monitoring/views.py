"""/metrics, for the platform team's Prometheus: answered only to a bearer token
(`METRICS_TOKEN`) or to the addresses in `METRICS_ALLOWED_ADDRESSES`; without either the
page does not exist."""

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from core.client import client_address

from . import metrics


def _token_matches(request) -> bool:
    expected = settings.METRICS_TOKEN
    offered = request.headers.get("Authorization", "")
    if not expected or not offered.startswith("Bearer "):
        return False
    return hmac.compare_digest(offered.removeprefix("Bearer ").encode(), expected.encode())


def _address_allowed(request) -> bool:
    address = client_address(request)
    if not address or not settings.METRICS_ALLOWED_NETWORKS:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.METRICS_ALLOWED_NETWORKS)


@login_not_required
@require_GET
def metrics_view(request):
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_NETWORKS:
        raise Http404("Metrics are not switched on")
    if not (_token_matches(request) or _address_allowed(request)):
        response = HttpResponse("Not allowed\n", status=403, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
