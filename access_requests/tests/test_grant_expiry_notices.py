"""Expiry notices (30, 7 and 1 days before, weekends moved to the working day before), each
sent once whatever runs twice or crashes, and "let it lapse"."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant, ExpiryNotice
from access_requests.services.grant_expiry import grant_expiry_notice_sweep
from access_requests.tests.factories import AccessGrantFactory, grant_ending, noon_in_london
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from notifications.services import outbox_sweep
from people.tests.factories import UserFactory
from tests.at_once import returned, run_at_once


def _notices(mailoutbox):
    return [m for m in mailoutbox if "Your social media access ends" in m.subject]


@pytest.mark.django_db
def test_notices_go_out_30_7_and_1_days_before_and_a_weekend_one_on_the_friday_before(
    mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SNS_EXPIRY_NOTICE_DAYS = [30, 7, 1]
    settings.SNS_BANK_HOLIDAYS = []
    ends_monday = datetime.date(2026, 7, 20)
    ends_wednesday = datetime.date(2026, 7, 15)
    assert ends_monday.weekday() == 0 and ends_wednesday.weekday() == 2
    with time_machine.travel(noon_in_london(datetime.date(2026, 6, 1)), tick=False) as traveller:
        monday = grant_ending(ends_monday)
        wednesday = grant_ending(ends_wednesday)
        sent = {}  # (grant holder, day) -> subject
        day = datetime.date(2026, 6, 1)
        while day <= datetime.date(2026, 7, 21):
            traveller.move_to(noon_in_london(day))
            before = len(mailoutbox)
            with django_capture_on_commit_callbacks(execute=True):
                grant_expiry_notice_sweep()
            for email in mailoutbox[before:]:
                sent[(email.to[0], day)] = email.subject
            day += datetime.timedelta(days=1)

    def days_for(grant):
        return sorted(d for (to, d) in sent if to == grant.holder.email)

    # 30 days before Monday 20 July is Saturday 20 June: sent on Friday 19 June.
    # 1 day before is Sunday 19 July: sent on Friday 17 July.
    assert days_for(monday) == [
        datetime.date(2026, 6, 19),
        datetime.date(2026, 7, 13),
        datetime.date(2026, 7, 17),
    ]
    assert days_for(wednesday) == [
        datetime.date(2026, 6, 15),
        datetime.date(2026, 7, 8),
        datetime.date(2026, 7, 14),
    ]
    assert sent[(monday.holder.email, datetime.date(2026, 7, 17))].startswith(
        "Your social media access ends in 3 days"
    )
    assert sent[(wednesday.holder.email, datetime.date(2026, 7, 14))].startswith(
        "Your social media access ends tomorrow"
    )
    assert sorted(monday.expiry_notices.values_list("days_before", flat=True)) == [1, 7, 30]
    email = next(m for m in mailoutbox if m.to == [monday.holder.email])
    renew_url = "http://testserver" + reverse("access_requests:grant-renew", args=[monday.pk])
    assert renew_url in email.body
    assert "Monday 20 July 2026" in email.body
    assert "http://testserver/guidance/" in email.body


@pytest.mark.django_db
def test_a_grant_that_ends_soon_gets_only_the_nearest_notice_not_the_missed_ones(
    mailoutbox, django_capture_on_commit_callbacks
):
    with time_machine.travel(noon_in_london(datetime.date(2026, 7, 6)), tick=False):  # a Monday
        grant = grant_ending(datetime.date(2026, 7, 10))  # Friday, 4 days away
        with django_capture_on_commit_callbacks(execute=True):
            grant_expiry_notice_sweep()
            grant_expiry_notice_sweep()
    assert list(grant.expiry_notices.values_list("days_before", flat=True)) == [7]
    assert len(_notices(mailoutbox)) == 1
    assert "ends in 4 days" in mailoutbox[0].subject


@pytest.mark.django_db
def test_grants_not_yet_provisioned_or_already_ended_get_no_notice(
    mailoutbox, django_capture_on_commit_callbacks
):
    with time_machine.travel(noon_in_london(datetime.date(2026, 7, 6)), tick=False):
        end = datetime.date(2026, 7, 7)
        AccessGrantFactory(business_case__end_date=end)  # awaiting provisioning
        revoked = grant_ending(end)
        AccessGrant.objects.filter(pk=revoked.pk).update(
            status="revoked",
            revoked_by=UserFactory(),
            revoked_at=revoked.approved_at,
            revocation_reason="Misuse",
        )
        with django_capture_on_commit_callbacks(execute=True):
            result = grant_expiry_notice_sweep()
    assert result.done == 0
    assert mailoutbox == []


@pytest.mark.django_db
def test_let_it_lapse_stops_the_notices(client, mailoutbox, django_capture_on_commit_callbacks):
    with time_machine.travel(noon_in_london(datetime.date(2026, 7, 6)), tick=False) as traveller:
        grant = grant_ending(datetime.date(2026, 7, 31))
        with django_capture_on_commit_callbacks(execute=True):
            grant_expiry_notice_sweep()
        assert len(_notices(mailoutbox)) == 1  # the 30-day notice

        client.force_login(UserFactory())
        assert (
            client.post(reverse("access_requests:grant-lapse", args=[grant.pk])).status_code == 404
        )
        client.force_login(grant.holder)
        assert (
            client.get(reverse("access_requests:grant-lapse", args=[grant.pk])).status_code == 200
        )
        response = client.post(reverse("access_requests:grant-lapse", args=[grant.pk]), follow=True)
        assert "We will not remind you again" in response.content.decode()
        grant.refresh_from_db()
        assert grant.lapse_chosen_at is not None
        assert AuditEvent.objects.filter(action="grant.lapse_chosen").count() == 1

        for day in (datetime.date(2026, 7, 24), datetime.date(2026, 7, 30)):
            traveller.move_to(noon_in_london(day))
            with django_capture_on_commit_callbacks(execute=True):
                grant_expiry_notice_sweep()
        assert len(_notices(mailoutbox)) == 1
        client.force_login(grant.holder)  # the session from 24 days ago has ended
        html = client.get(reverse("home")).content.decode()
        assert "You chose to let this access lapse on 31 July 2026" in html


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_running_at_once_send_each_notice_exactly_once(
    mailoutbox, slow_inserts, no_worker_running
):
    today = timezone.localdate()
    grants = [
        grant_ending(today + datetime.timedelta(days=1), start=today - datetime.timedelta(days=9))
        for _ in range(12)
    ]
    # Writing each email takes longer, widening the window in which the two sweeps overlap.
    # The threads only write the outbox (no worker sends), and the outbox sweep sends after.
    slow_inserts(OutboundEmail, seconds=0.02)

    def sweep():
        return grant_expiry_notice_sweep(batch_size=5)

    results = returned(run_at_once(sweep, sweep))
    assert sum(result.done for result in results) == len(grants)
    assert ExpiryNotice.objects.count() == len(grants)
    assert OutboundEmail.objects.filter(template="grant_expiry_notice").count() == len(grants)
    assert outbox_sweep() == len(grants)
    assert sorted(m.to[0] for m in _notices(mailoutbox)) == sorted(g.holder.email for g in grants)


@pytest.mark.django_db
def test_a_crash_before_the_notice_is_recorded_sends_nothing_and_the_rerun_sends_it_once(
    mailoutbox, django_capture_on_commit_callbacks, refuse_inserts
):
    with time_machine.travel(noon_in_london(datetime.date(2026, 7, 6)), tick=False):
        grant = grant_ending(datetime.date(2026, 7, 7))
        # The audit event is the notice's last write: the database refusing it stands in for
        # a worker killed between writing the email and recording it.
        refuse_inserts(AuditEvent)
        with django_capture_on_commit_callbacks(execute=True):
            result = grant_expiry_notice_sweep()
        assert result.failed == 1
        assert mailoutbox == []
        assert not ExpiryNotice.objects.exists()
        assert not OutboundEmail.objects.exists()

        refuse_inserts.lift()
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                grant_expiry_notice_sweep()
    assert len(_notices(mailoutbox)) == 1
    assert list(grant.expiry_notices.values_list("days_before", flat=True)) == [1]


@pytest.mark.django_db
def test_a_crash_after_commit_before_sending_is_sent_once_by_the_outbox(
    mailoutbox, django_capture_on_commit_callbacks, no_worker_running
):
    with time_machine.travel(noon_in_london(datetime.date(2026, 7, 6)), tick=False):
        grant_ending(datetime.date(2026, 7, 7))
        with django_capture_on_commit_callbacks(execute=True):
            grant_expiry_notice_sweep()
        assert mailoutbox == []
        assert ExpiryNotice.objects.count() == 1
        with django_capture_on_commit_callbacks(execute=True):
            grant_expiry_notice_sweep()  # the retry finds the notice recorded
        assert mailoutbox == []
        assert outbox_sweep() == 1
        assert outbox_sweep() == 0
    assert len(_notices(mailoutbox)) == 1


@pytest.mark.django_db
def test_a_failure_on_one_grant_does_not_stop_the_sweep_and_the_rerun_picks_it_up(
    mailoutbox, django_capture_on_commit_callbacks, caplog, refuse_inserts
):
    with time_machine.travel(noon_in_london(datetime.date(2026, 7, 6)), tick=False):
        grants = [grant_ending(datetime.date(2026, 7, 7)) for _ in range(5)]
        broken = grants[2]
        refuse_inserts(ExpiryNotice, where=f"NEW.grant_id = {broken.pk}")
        with django_capture_on_commit_callbacks(execute=True):
            result = grant_expiry_notice_sweep(batch_size=2)
        assert (result.done, result.failed) == (4, 1)
        assert f"grant {broken.pk} failed" in caplog.text
        assert broken.holder.email not in [m.to[0] for m in mailoutbox]

        refuse_inserts.lift()
        with django_capture_on_commit_callbacks(execute=True):
            result = grant_expiry_notice_sweep()
        assert (result.done, result.failed) == (1, 0)
    assert sorted(m.to[0] for m in _notices(mailoutbox)) == sorted(g.holder.email for g in grants)
