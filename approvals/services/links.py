"""The emailed decision links: their random tokens and the addresses the emails link to."""

import datetime
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from core.links import absolute_url

from .. import selectors


def approval_link(token: str) -> str:
    return absolute_url(reverse("approvals:decide", args=[token]))


def page_url(*names: str) -> str:
    """The absolute address of the first of these pages that exists (another app's page may
    be absent from a deployment), else the home page's."""
    for name in names:
        try:
            return absolute_url(reverse(name))
        except NoReverseMatch:
            continue
    return absolute_url(reverse("home"))


def token_issue(now: datetime.datetime | None = None) -> tuple[str, str, datetime.datetime]:
    """A new random secret, the hash that is stored, and when the link stops working."""
    token = secrets.token_urlsafe(32)
    now = now or timezone.now()
    expires = now + datetime.timedelta(days=settings.SNS_APPROVAL_TOKEN_DAYS)
    return token, selectors.token_digest(token), expires


@dataclass(frozen=True)
class EmailLinks:
    """The addresses the approval emails link to, resolved once for a batch of emails."""

    decide_head: str
    decide_tail: str
    cases_to_decide: str

    @classmethod
    def resolve(cls) -> "EmailLinks":
        marker = "TOKEN-MARKER"
        head, tail = approval_link(marker).split(marker)
        return cls(head, tail, absolute_url(reverse("approvals:case-list")))

    def decide(self, token: str) -> str:
        return f"{self.decide_head}{token}{self.decide_tail}"
