"""Links that leave the portal in an email: absolute, on the portal's public address."""

from django.conf import settings


def absolute_url(path: str) -> str:
    """`path` (from `reverse`) on `PORTAL_BASE_URL`, for a link read outside the browser."""
    return settings.PORTAL_BASE_URL + path
