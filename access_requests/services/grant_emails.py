"""What the grant emails say and to whom: the grant's context as plain values (stored on the
outbox row), the grant page's address, and who ICT is for the emails asking to withdraw
access. The services that cause an email call these inside their transaction."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from access_requests.models import TIER_LABELS, AccessGrant
from access_requests.selectors.grants import site_names_by_grant
from core.links import absolute_url
from core.models import model_reference
from notifications.rendering import email_date
from notifications.services import Outgoing, email_queue_many
from people.models import Role, User

if TYPE_CHECKING:
    from access_requests.services.grants import ExpiringGrant

logger = logging.getLogger(__name__)


def grant_page_url(grant: AccessGrant) -> str:
    return absolute_url(reverse("access_requests:grant-detail", kwargs={"pk": grant.pk}))


def grant_page_urls() -> Callable[[int], str]:
    """The grant page's address for any grant id, resolved once (a sweep writes thousands
    of emails that link to it, and resolving the URL for each one adds up)."""
    marker = "987654321"
    head, tail = absolute_url(
        reverse("access_requests:grant-detail", kwargs={"pk": int(marker)})
    ).split(marker)
    return lambda pk: f"{head}{pk}{tail}"


@dataclass(frozen=True)
class IctRecipient:
    address: str
    key: str  # the last part of the email's dedupe key


def ict_recipients() -> list[IctRecipient]:
    """Who ICT is, for the emails asking to withdraw access: the team's mailbox
    (`SNS_ICT_MAILBOX`, one email per grant: one service-desk ticket per job) when it is
    set, or else every active ICT person (each gets the same email). The sweeps read this
    once per batch of grants."""
    mailbox = (getattr(settings, "SNS_ICT_MAILBOX", "") or "").strip()
    if mailbox:
        return [IctRecipient(mailbox, "ict-mailbox")]
    people = (
        User.objects.filter(groups__name=Role.ICT, is_active=True)
        .select_related("profile")
        .order_by("id")
        .distinct()
    )
    return [IctRecipient(person.email, f"ict-{person.pk}") for person in people]


def grant_email_context(grant: AccessGrant) -> dict:
    """What every grant email shows, as plain values (stored on the outbox row)."""
    return {
        "grant": {
            "start_date": email_date(grant.start_date),
            "end_date": email_date(grant.end_date),
            "tier": grant.tier,
            "pc_asset_tag": grant.pc_asset_tag,
            "holder": {"email": grant.holder.email},
        },
        "reference": grant.business_case.reference,
        "holder_name": grant.holder.display_name,
        "tier": grant.get_tier_display(),
        "sites": ", ".join(site.name for site in grant.sites.order_by("name")),
        "grant_url": grant_page_url(grant),
    }


def ict_email(
    *,
    grant: AccessGrant,
    template: str,
    key: str,
    context: dict,
    recipients: list[IctRecipient] | None = None,
    extra: dict | None = None,
) -> Outgoing | None:
    """The email asking ICT to withdraw the access (rendered once, to each recipient), with
    `extra` added to `context` (`Outgoing.extra`)."""
    if recipients is None:
        recipients = ict_recipients()
    if not recipients:
        logger.warning("No ICT person to tell about grant %s (%s)", grant.pk, template)
        return None
    return Outgoing(
        template=template,
        context=context,
        to=[(r.address, f"grant-{grant.pk}-{key}-{r.key}") for r in recipients],
        related=grant,
        extra=extra,
    )


def ict_email_queue(*, grant: AccessGrant, template: str, key: str, context: dict) -> None:
    """Write the email asking ICT to withdraw the access to the outbox, if there is anyone
    to send it to."""
    message = ict_email(grant=grant, template=template, key=key, context=context)
    if message is not None:
        email_queue_many([message])


def _directors_by_id(ids: set[int | None]) -> dict[int, User]:
    """The holders' directors of a batch (a few dozen people at most), read once."""
    ids.discard(None)
    if not ids:
        return {}
    return {user.pk: user for user in User.objects.filter(pk__in=ids).select_related("profile")}


def grant_expiry_emails(
    grants: list["ExpiringGrant"], *, ict: list[IctRecipient] | None = None
) -> list[Outgoing]:
    """The emails saying these grants have ended. `grants` come from the expiry's lock, as
    values (`access_requests.services.grants.ExpiringGrant`); their directors and sites are
    read here once for all of them. `ict` is the sweep's list of ICT recipients (read once
    per batch); without it it is read here."""
    if ict is None:
        ict = ict_recipients()
    directors = _directors_by_id({grant.director_id for grant in grants})
    sites = {
        grant_id: ", ".join(names)
        for grant_id, names in site_names_by_grant([grant.pk for grant in grants]).items()
    }
    url_of = grant_page_urls()
    emails = []
    for grant in grants:
        emails.extend(
            _expiry_emails(
                grant=grant,
                ict=ict,
                grant_url=url_of(grant.pk),
                director=directors.get(grant.director_id),
                sites=sites.get(grant.pk, ""),
            )
        )
    return emails


def _expiry_emails(
    *,
    grant: "ExpiringGrant",
    ict: list[IctRecipient],
    grant_url: str,
    director: User | None,
    sites: str,
) -> list[Outgoing]:
    """The holder, their director and (unless a renewal continues the same access) ICT are
    told that the grant has ended. For a grant never provisioned the same templates say that
    it ended before ICT set it up, and tell ICT it has left their queue (`was_provisioned`).
    `sites` is its sites by name (`site_names_by_grant`). The three emails share one context
    dict, each adding what is its own (`Outgoing.extra`), so it is encoded and sent once."""
    related = model_reference(AccessGrant, grant.pk)
    continues = grant.successor_end_date is not None
    context = {
        "grant": {
            "start_date": email_date(grant.start_date),
            "end_date": email_date(grant.end_date),
            "tier": grant.tier,
            "pc_asset_tag": grant.pc_asset_tag,
            "holder": {"email": grant.holder_email},
        },
        "reference": grant.reference,
        "holder_name": grant.holder_name,
        "tier": TIER_LABELS.get(grant.tier, grant.tier),  # get_tier_display(), from a dict
        "sites": sites,
        "grant_url": grant_url,
        "continues": continues,
        "was_provisioned": grant.provisioned_at is not None,
    }
    if continues:
        context["successor_end_date"] = email_date(grant.successor_end_date)
    emails = [
        Outgoing(
            template="grant_expired",
            context=context,
            to=[(grant.holder_email, f"grant-{grant.pk}-expired")],
            related=related,
        )
    ]
    if director is not None and director.pk != grant.holder_id:
        emails.append(
            Outgoing(
                template="grant_expired_director",
                context=context,
                extra={"recipient_name": director.display_name},
                to=[(director.email, f"grant-{grant.pk}-expired-director")],
                related=related,
            )
        )
    if not continues:  # a renewal that continues the same access keeps it open
        ict_message = ict_email(
            grant=related,
            template="grant_withdraw_ict",
            key="expired",
            context=context,
            extra={"why": "expired"},
            recipients=ict,
        )
        if ict_message is not None:
            emails.append(ict_message)
    return emails
