"""Who is on the other end of a request, for the audit trail."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Client:
    address: str | None
    user_agent: str


def client_of(request) -> Client:
    address = request.META.get("REMOTE_ADDR")
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            address = forwarded.split(",")[0].strip()
    return Client(address=address or None, user_agent=request.META.get("HTTP_USER_AGENT", "")[:500])
