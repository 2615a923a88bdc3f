"""Safe-use reminders for the active tier every 90 days, the holder's confirmation, and the
list of holders who did not confirm in time."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from access_requests.models import SafeUseReminder
from access_requests.services.grant_safe_use import grant_safe_use_sweep, safe_use_confirm
from access_requests.tests.factories import (
    AccessGrantFactory,
    noon_in_london,
)
from audit.models import AuditEvent
from people.models import Role
from people.tests.factories import DirectorateFactory, UserFactory, director_of

PROVISIONED = datetime.date(2026, 3, 2)


def _active_tier_grant(**kwargs):
    return AccessGrantFactory(
        provisioned=True,
        business_case__active=True,
        business_case__start_date=PROVISIONED,
        business_case__end_date=PROVISIONED + datetime.timedelta(days=180),
        pc_asset_tag="HO-1",
        **kwargs,
    )


@pytest.mark.django_db
def test_active_tier_holders_get_one_reminder_per_90_days_linking_to_the_guidance(
    mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SNS_SAFE_USE_REMINDER_DAYS = 90
    with time_machine.travel(noon_in_london(PROVISIONED), tick=False) as traveller:
        grant = _active_tier_grant()
        passive = AccessGrantFactory(
            provisioned=True,
            business_case__start_date=PROVISIONED,
            business_case__end_date=PROVISIONED + datetime.timedelta(days=180),
        )
        for offset in (89, 90, 91, 120, 179, 180):
            traveller.move_to(noon_in_london(PROVISIONED + datetime.timedelta(days=offset)))
            with django_capture_on_commit_callbacks(execute=True):
                grant_safe_use_sweep()
    assert [m.to[0] for m in mailoutbox] == [grant.holder.email, grant.holder.email]
    assert list(grant.safe_use_reminders.values_list("period", flat=True)) == [1, 2]
    assert not passive.safe_use_reminders.exists()
    email = mailoutbox[0]
    assert "friend lists and privacy settings" in email.subject
    assert "personal and professional identities apart" in email.body
    assert "http://testserver/guidance/" in email.body
    assert "http://testserver" + reverse("access_requests:grant-safe-use", args=[grant.pk]) in (
        email.body
    )
    first = grant.safe_use_reminders.get(period=1)
    assert first.confirm_by == PROVISIONED + datetime.timedelta(days=90 + 14)


@pytest.mark.django_db
def test_the_holder_confirms_on_the_portal_and_it_is_recorded(client):
    with time_machine.travel(noon_in_london(PROVISIONED), tick=False) as traveller:
        grant = _active_tier_grant()
        traveller.move_to(noon_in_london(PROVISIONED + datetime.timedelta(days=90)))
        grant_safe_use_sweep()
        url = reverse("access_requests:grant-safe-use", args=[grant.pk])

        client.force_login(UserFactory())
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404

        client.force_login(grant.holder)
        home = client.get(reverse("home")).content.decode()
        assert "Confirm you have reviewed them" in home
        page = client.get(url).content.decode()
        assert "I have reviewed them" in page
        assert SafeUseReminder.objects.get().confirmed_at is None  # GET changes nothing
        response = client.post(url, follow=True)
    assert "We have recorded that you reviewed your settings" in response.content.decode()
    reminder = SafeUseReminder.objects.get()
    assert reminder.confirmed_at is not None
    event = AuditEvent.objects.get(action="grant.safe_use_confirmed")
    assert event.actor == grant.holder and event.changes["period"] == 1


@pytest.mark.django_db
def test_a_holder_who_has_not_confirmed_in_14_days_is_listed_for_their_director_and_admins(
    client,
):
    directorate = DirectorateFactory()
    director = director_of(directorate)
    other_director = director_of(DirectorateFactory())
    admin = UserFactory(role=Role.ADMIN)
    with time_machine.travel(noon_in_london(PROVISIONED), tick=False) as traveller:
        holder = UserFactory(
            profile__name="Pat Quinn",
            profile__business_unit=director.profile.business_unit,
        )
        grant = _active_tier_grant(business_case__requester=holder)
        traveller.move_to(noon_in_london(PROVISIONED + datetime.timedelta(days=90)))
        grant_safe_use_sweep()

        traveller.move_to(noon_in_london(PROVISIONED + datetime.timedelta(days=104)))
        client.force_login(director)
        assert "Pat Quinn" not in client.get(reverse("home")).content.decode()  # still in time

        traveller.move_to(noon_in_london(PROVISIONED + datetime.timedelta(days=105)))
        for person in (director, admin):
            client.force_login(person)
            html = client.get(reverse("home")).content.decode()
            assert "Safe use not confirmed" in html
            assert "Pat Quinn" in html and grant.business_case.reference in html
        client.force_login(other_director)
        assert "Pat Quinn" not in client.get(reverse("home")).content.decode()
        client.force_login(holder)
        assert "Safe use not confirmed" not in client.get(reverse("home")).content.decode()

        safe_use_confirm(grant=grant, actor=holder)
        client.force_login(director)
        assert "Pat Quinn" not in client.get(reverse("home")).content.decode()
