"""Revocation by an admin or the holder's director, giving up by the holder; refused for
anyone else. ICT is told to withdraw the access; nothing is deleted."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from access_requests.models import AccessGrant
from access_requests.services import grants as services
from access_requests.tests.factories import (
    AccessGrantFactory,
)
from audit.models import AuditEvent
from people.models import Role
from people.tests.factories import DirectorateFactory, UserFactory, director_of


@pytest.fixture
def grant():
    return AccessGrantFactory(provisioned=True)


def _revoke(client, grant, reason="Posted protected information"):
    return client.post(
        reverse("access_requests:grant-revoke", args=[grant.pk]), {"reason": reason}, follow=True
    )


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "director"])
def test_an_admin_or_the_holders_director_revokes_with_a_reason(
    client, grant, who, mailoutbox, django_capture_on_commit_callbacks
):
    ict = UserFactory(role=Role.ICT)
    if who == "admin":
        actor = UserFactory(role=Role.ADMIN)
    else:
        actor = director_of(grant.holder.profile.business_unit.directorate)
    client.force_login(actor)
    page = client.get(reverse("access_requests:grant-detail", args=[grant.pk])).content.decode()
    assert "Revoke this access" in page
    response = _revoke(client, grant, reason="")
    assert "Enter a reason" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = _revoke(client, grant)
    assert "is revoked" in response.content.decode()
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.REVOKED
    assert grant.revoked_by == actor and grant.revocation_reason == "Posted protected information"
    assert AccessGrant.objects.filter(pk=grant.pk).exists()  # the history stays
    event = AuditEvent.objects.get(action="grant.revoked")
    assert event.actor == actor and event.changes["reason"] == "Posted protected information"
    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert "Posted protected information" in by_recipient[grant.holder.email].body
    assert "Close access to LinkedIn" in by_recipient[ict.email].body
    assert (
        "Revoked"
        in client.get(reverse("access_requests:grant-detail", args=[grant.pk])).content.decode()
    )


@pytest.mark.django_db
def test_a_grant_still_awaiting_provisioning_can_be_revoked(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    ict = UserFactory(role=Role.ICT)
    waiting = AccessGrantFactory()
    client.force_login(UserFactory(role=Role.ADMIN))
    with django_capture_on_commit_callbacks(execute=True):
        _revoke(client, waiting)
    waiting.refresh_from_db()
    assert waiting.status == AccessGrant.Status.REVOKED
    # ICT never set it up: they are told it has left their queue, not to withdraw anything.
    (to_ict,) = [m for m in mailoutbox if m.to == [ict.email]]
    assert to_ict.subject.startswith("Social media access no longer needed")
    assert "nothing needs to be withdrawn" in to_ict.body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"),
    [("staff", 404), ("other director", 404), ("holder", 403), ("ict", 403), ("auditor", 403)],
)
def test_anyone_else_is_refused(client, grant, who, status):
    actor = {
        "staff": lambda: UserFactory(),
        "other director": lambda: director_of(DirectorateFactory()),
        "holder": lambda: grant.holder,
        "ict": lambda: UserFactory(role=Role.ICT),
        "auditor": lambda: UserFactory(role=Role.AUDITOR),
    }[who]()
    client.force_login(actor)
    assert (
        client.get(reverse("access_requests:grant-revoke", args=[grant.pk])).status_code == status
    )
    assert _revoke(client, grant).status_code == status
    with pytest.raises(PermissionDenied):
        services.grant_revoke(grant=grant, actor=actor, reason="Because")
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.ACTIVE


@pytest.mark.django_db
def test_the_holder_gives_up_their_own_access_and_ict_is_told(
    client, grant, mailoutbox, django_capture_on_commit_callbacks
):
    ict = UserFactory(role=Role.ICT)
    url = reverse("access_requests:grant-surrender", args=[grant.pk])
    client.force_login(UserFactory())
    assert client.post(url).status_code == 404
    client.force_login(grant.holder)
    assert "Are you sure you want to give up this access?" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert "You have given up this access" in response.content.decode()
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.SURRENDERED and grant.surrendered_at
    assert [m.to[0] for m in mailoutbox] == [ict.email]
    assert "given up by its holder" in mailoutbox[0].body
    assert AuditEvent.objects.filter(action="grant.surrendered", actor=grant.holder).exists()


@pytest.mark.django_db
def test_the_holders_grant_page_shows_what_it_allows_and_their_actions(client, grant):
    client.force_login(grant.holder)
    html = client.get(reverse("access_requests:grant-detail", args=[grant.pk])).content.decode()
    assert "Your access" in html
    assert "Passive monitoring of LinkedIn, from the office network" in html
    assert "Give up this access now" in html
    assert "Revoke this access" not in html


@pytest.mark.django_db
def test_a_director_replaced_or_inactive_or_whose_holder_moved_cannot_revoke(client, grant):
    directorate = grant.holder.profile.business_unit.directorate
    old = director_of(directorate)
    client.force_login(old)
    assert (
        "Revoke this access"
        in client.get(reverse("access_requests:grant-detail", args=[grant.pk])).content.decode()
    )

    # Made inactive (left, say) while still named as the director: refused by the service.
    type(old).objects.filter(pk=old.pk).update(is_active=False)
    old.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.grant_revoke(grant=grant, actor=old, reason="Too late")
    type(old).objects.filter(pk=old.pk).update(is_active=True)
    old.refresh_from_db()

    # Replaced by a new director: the page and the service refuse.
    director_of(directorate)
    assert _revoke(client, grant).status_code in (403, 404)
    with pytest.raises(PermissionDenied):
        services.grant_revoke(grant=grant, actor=old, reason="Too late")

    # Back as director, but the holder moved to another directorate meanwhile.
    directorate.director = old
    directorate.save(update_fields=["director"])
    elsewhere = DirectorateFactory()
    director_of(elsewhere)
    profile = grant.holder.profile
    profile.business_unit = elsewhere.business_units.first()
    profile.save(update_fields=["business_unit"])
    with pytest.raises(PermissionDenied):
        services.grant_revoke(grant=grant, actor=old, reason="Too late")

    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.ACTIVE
    assert not AuditEvent.objects.filter(action="grant.revoked").exists()
