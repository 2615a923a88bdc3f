"""The site catalogue ("Manage sites"): adding a site, renaming it, retiring it and offering
it again. Admins only (the views check `add_site` / `change_site`).

A site is never deleted: cases and grants refer to it. Retiring takes it off the sites
question; the cases and grants that name it keep it, and a draft that chose it cannot be
sent until it is taken off (`business_case_missing_answers`). Names are unique ignoring
case (a database constraint), so two admins adding "LinkedIn" and "linkedin" at once get
one site and a `SiteNameTaken` error.
"""

from django.db import IntegrityError, transaction

from access_requests.errors import SiteNameTaken
from access_requests.models import Site
from audit.services import record
from core.client import Client


def _name_check(name: str, *, other_than: int | None = None) -> None:
    taken = Site.objects.filter(name__iexact=name)
    if other_than is not None:
        taken = taken.exclude(pk=other_than)
    if taken.exists():
        raise SiteNameTaken(name)


def site_create(
    *,
    name: str,
    url: str,
    allows_shared_display_names: bool,
    actor,
    client: Client | None = None,
) -> Site:
    """A new site, offered to staff at once. Raises SiteNameTaken."""
    name = name.strip()
    try:
        with transaction.atomic():
            _name_check(name)
            site = Site.objects.create(
                name=name, url=url, allows_shared_display_names=allows_shared_display_names
            )
            record(
                actor=actor,
                action="site.created",
                obj=site,
                changes={
                    "name": [None, site.name],
                    "url": [None, site.url],
                    "allows_shared_display_names": [None, allows_shared_display_names],
                },
                client=client,
            )
    except IntegrityError as error:  # the same name added at the same moment
        raise SiteNameTaken(name) from error
    return site


def site_rename(*, site: Site, name: str, actor, client: Client | None = None) -> Site:
    """Give a site a new name (cases and grants show the new one). Raises SiteNameTaken; a
    name that is the same as now changes nothing and records nothing."""
    name = name.strip()
    try:
        with transaction.atomic():
            locked = Site.objects.select_for_update().get(pk=site.pk)
            if locked.name == name:
                return locked
            _name_check(name, other_than=locked.pk)
            old = locked.name
            locked.name = name
            locked.save(update_fields=["name", "updated_at"])
            record(
                actor=actor,
                action="site.renamed",
                obj=locked,
                changes={"name": [old, name]},
                client=client,
            )
    except IntegrityError as error:
        raise SiteNameTaken(name) from error
    return locked


def _offered_set(*, site: Site, offered: bool, action: str, actor, client) -> Site:
    with transaction.atomic():
        locked = Site.objects.select_for_update().get(pk=site.pk)
        if locked.is_active == offered:
            return locked  # already so (a second tab, a double post): nothing to record
        locked.is_active = offered
        locked.save(update_fields=["is_active", "updated_at"])
        record(
            actor=actor,
            action=action,
            obj=locked,
            changes={"offered": [not offered, offered]},
            client=client,
        )
    return locked


def site_retire(*, site: Site, actor, client: Client | None = None) -> Site:
    """Stop offering a site to staff. Cases and grants that name it keep it."""
    return _offered_set(site=site, offered=False, action="site.retired", actor=actor, client=client)


def site_unretire(*, site: Site, actor, client: Client | None = None) -> Site:
    """Offer a retired site to staff again."""
    return _offered_set(
        site=site, offered=True, action="site.unretired", actor=actor, client=client
    )
