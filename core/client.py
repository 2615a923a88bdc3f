"""Who is on the other end of a request: for the audit trail and for the sign-in lock-out.

Both read the address from `client_address`, so the lock-out counts failures against the
same address the trail records.
"""

import ipaddress
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Client:
    address: str | None
    user_agent: str


def ip_or_none(value: str | None) -> str | None:
    """The value as a normalised IP address, or None when it is not one (a port, a host name,
    brackets, junk): nothing that is not an address reaches the trail or the lock-out."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's IP address.

    Without a trusted proxy (`SNS_TRUSTED_PROXIES` = 0) it is the connection's address and
    `X-Forwarded-For` is ignored: anyone can send that header. Behind N trusted proxies,
    each proxy appends the address it was connected from, so the Nth entry from the right
    is the one the outermost trusted proxy saw; entries to its left are whatever the client
    sent and are never read. A header with fewer than N entries, or whose entry is not an
    IP address, leaves the connection's address in place.
    """
    address = ip_or_none(request.META.get("REMOTE_ADDR"))
    proxies = settings.SNS_TRUSTED_PROXIES
    if proxies > 0:
        entries = [
            entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        entries = [entry for entry in entries if entry]
        if len(entries) >= proxies:
            forwarded = ip_or_none(entries[-proxies])
            if forwarded is not None:
                address = forwarded
    return address


def client_of(request) -> Client:
    return Client(
        address=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
    )
