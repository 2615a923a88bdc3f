"""Expiry notices (30, 7 and 1 days before, weekends moved to the working day before), each
sent once whatever runs twice or crashes; "let it lapse"; expiry on the end date, of active
grants and of grants ICT never provisioned."""

import datetime
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import notifications.services as outbox
from access_requests.models import AccessGrant, ExpiryNotice
from access_requests.services import grants as services
from access_requests.tests.factories import (
    AccessGrantFactory,
)
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from notifications.services import outbox_sweep
from people.models import Role
from people.tests.factories import UserFactory, director_of
from tests.at_once import returned, run_at_once

LONDON = ZoneInfo("Europe/London")


def _at_noon(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12, 0), tzinfo=LONDON)


def _active_grant(end: datetime.date, start: datetime.date | None = None, **kwargs):
    start = start or end - datetime.timedelta(days=120)
    return AccessGrantFactory(
        provisioned=True, business_case__start_date=start, business_case__end_date=end, **kwargs
    )


def _awaiting_grant(end: datetime.date, start: datetime.date | None = None, **kwargs):
    """A grant ICT has not provisioned yet."""
    start = start or end - datetime.timedelta(days=120)
    return AccessGrantFactory(
        business_case__start_date=start, business_case__end_date=end, **kwargs
    )


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
    with time_machine.travel(_at_noon(datetime.date(2026, 6, 1)), tick=False) as traveller:
        monday = _active_grant(ends_monday)
        wednesday = _active_grant(ends_wednesday)
        sent = {}  # (grant holder, day) -> subject
        day = datetime.date(2026, 6, 1)
        while day <= datetime.date(2026, 7, 21):
            traveller.move_to(_at_noon(day))
            before = len(mailoutbox)
            with django_capture_on_commit_callbacks(execute=True):
                services.grant_expiry_notice_sweep()
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
    with time_machine.travel(_at_noon(datetime.date(2026, 7, 6)), tick=False):  # a Monday
        grant = _active_grant(datetime.date(2026, 7, 10))  # Friday, 4 days away
        with django_capture_on_commit_callbacks(execute=True):
            services.grant_expiry_notice_sweep()
            services.grant_expiry_notice_sweep()
    assert list(grant.expiry_notices.values_list("days_before", flat=True)) == [7]
    assert len(_notices(mailoutbox)) == 1
    assert "ends in 4 days" in mailoutbox[0].subject


@pytest.mark.django_db
def test_grants_not_yet_provisioned_or_already_ended_get_no_notice(
    mailoutbox, django_capture_on_commit_callbacks
):
    with time_machine.travel(_at_noon(datetime.date(2026, 7, 6)), tick=False):
        end = datetime.date(2026, 7, 7)
        AccessGrantFactory(business_case__end_date=end)  # awaiting provisioning
        revoked = _active_grant(end)
        AccessGrant.objects.filter(pk=revoked.pk).update(
            status="revoked",
            revoked_by=UserFactory(),
            revoked_at=revoked.approved_at,
            revocation_reason="Misuse",
        )
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_notice_sweep()
    assert result.done == 0
    assert mailoutbox == []


@pytest.mark.django_db
def test_let_it_lapse_stops_the_notices(client, mailoutbox, django_capture_on_commit_callbacks):
    with time_machine.travel(_at_noon(datetime.date(2026, 7, 6)), tick=False) as traveller:
        grant = _active_grant(datetime.date(2026, 7, 31))
        with django_capture_on_commit_callbacks(execute=True):
            services.grant_expiry_notice_sweep()
        assert len(_notices(mailoutbox)) == 1  # the 30-day notice

        client.force_login(UserFactory())
        assert (
            client.post(reverse("access_requests:grant-lapse", args=[grant.pk])).status_code == 404
        )
        client.force_login(grant.holder)
        assert (
            client.get(reverse("access_requests:grant-lapse", args=[grant.pk])).status_code == 405
        )
        response = client.post(reverse("access_requests:grant-lapse", args=[grant.pk]), follow=True)
        assert "We will not remind you again" in response.content.decode()
        grant.refresh_from_db()
        assert grant.lapse_chosen_at is not None
        assert AuditEvent.objects.filter(action="grant.lapse_chosen").count() == 1

        for day in (datetime.date(2026, 7, 24), datetime.date(2026, 7, 30)):
            traveller.move_to(_at_noon(day))
            with django_capture_on_commit_callbacks(execute=True):
                services.grant_expiry_notice_sweep()
        assert len(_notices(mailoutbox)) == 1
        client.force_login(grant.holder)  # the session from 24 days ago has ended
        html = client.get(reverse("home")).content.decode()
        assert "You chose to let this access lapse on 31 July 2026" in html


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_running_at_once_send_each_notice_exactly_once(mailoutbox, monkeypatch):
    today = timezone.localdate()
    grants = [
        _active_grant(today + datetime.timedelta(days=1), start=today - datetime.timedelta(days=9))
        for _ in range(12)
    ]
    real_queue = services.email_queue

    def slow_queue(**kwargs):  # widen the window in which the two sweeps overlap
        time.sleep(0.02)
        return real_queue(**kwargs)

    monkeypatch.setattr(services, "email_queue", slow_queue)
    # Celery's eager mode keeps a process-wide flag that two threads running tasks at once
    # leave set: the threads only write the outbox, and the outbox sweep sends afterwards.
    monkeypatch.setattr(outbox, "_enqueue_send", lambda email_id: None)

    def sweep():
        return services.grant_expiry_notice_sweep(batch_size=5)

    results = returned(run_at_once(sweep, sweep))
    assert sum(result.done for result in results) == len(grants)
    assert ExpiryNotice.objects.count() == len(grants)
    assert OutboundEmail.objects.filter(template="grant_expiry_notice").count() == len(grants)
    assert outbox_sweep() == len(grants)
    assert sorted(m.to[0] for m in _notices(mailoutbox)) == sorted(g.holder.email for g in grants)


@pytest.mark.django_db
def test_a_crash_before_the_notice_is_recorded_sends_nothing_and_the_rerun_sends_it_once(
    mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    with time_machine.travel(_at_noon(datetime.date(2026, 7, 6)), tick=False):
        grant = _active_grant(datetime.date(2026, 7, 7))
        real_record = services.record

        def crash(**kwargs):
            raise RuntimeError("worker killed between writing the email and recording it")

        monkeypatch.setattr(services, "record", crash)
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_notice_sweep()
        assert result.failed == 1
        assert mailoutbox == []
        assert not ExpiryNotice.objects.exists()
        assert not OutboundEmail.objects.exists()

        monkeypatch.setattr(services, "record", real_record)
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                services.grant_expiry_notice_sweep()
    assert len(_notices(mailoutbox)) == 1
    assert list(grant.expiry_notices.values_list("days_before", flat=True)) == [1]


@pytest.mark.django_db
def test_a_crash_after_commit_before_sending_is_sent_once_by_the_outbox(
    mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    with time_machine.travel(_at_noon(datetime.date(2026, 7, 6)), tick=False):
        _active_grant(datetime.date(2026, 7, 7))
        monkeypatch.setattr(outbox, "_enqueue_send", lambda email_id: None)  # worker died
        with django_capture_on_commit_callbacks(execute=True):
            services.grant_expiry_notice_sweep()
        assert mailoutbox == []
        assert ExpiryNotice.objects.count() == 1
        monkeypatch.undo()
        with django_capture_on_commit_callbacks(execute=True):
            services.grant_expiry_notice_sweep()  # the retry finds the notice recorded
        assert mailoutbox == []
        assert outbox_sweep() == 1
        assert outbox_sweep() == 0
    assert len(_notices(mailoutbox)) == 1


@pytest.mark.django_db
def test_a_failure_on_one_grant_does_not_stop_the_sweep_and_the_rerun_picks_it_up(
    mailoutbox, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    with time_machine.travel(_at_noon(datetime.date(2026, 7, 6)), tick=False):
        grants = [_active_grant(datetime.date(2026, 7, 7)) for _ in range(5)]
        broken = grants[2]
        real_send = services.expiry_notice_send

        def send(*, grant_id, **kwargs):
            if grant_id == broken.pk:
                raise RuntimeError("mail template missing")
            return real_send(grant_id=grant_id, **kwargs)

        monkeypatch.setattr(services, "expiry_notice_send", send)
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_notice_sweep(batch_size=2)
        assert (result.done, result.failed) == (4, 1)
        assert f"grant {broken.pk} failed" in caplog.text
        assert broken.holder.email not in [m.to[0] for m in mailoutbox]

        monkeypatch.setattr(services, "expiry_notice_send", real_send)
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_notice_sweep()
        assert (result.done, result.failed) == (1, 0)
    assert sorted(m.to[0] for m in _notices(mailoutbox)) == sorted(g.holder.email for g in grants)


@pytest.mark.django_db
def test_a_grant_expires_the_day_after_its_end_date_and_holder_director_and_ict_are_told(
    mailoutbox, django_capture_on_commit_callbacks
):
    end = datetime.date(2026, 7, 20)
    with time_machine.travel(_at_noon(end), tick=False) as traveller:
        grant = _active_grant(end)
        director = director_of(grant.holder.profile.business_unit.directorate)
        ict = UserFactory(role=Role.ICT)
        with django_capture_on_commit_callbacks(execute=True):
            services.grant_expiry_sweep()
        grant.refresh_from_db()
        assert grant.status == AccessGrant.Status.ACTIVE  # the end date is its last day

        traveller.move_to(_at_noon(end + datetime.timedelta(days=1)))
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_sweep()
            services.grant_expiry_sweep()
    assert result.done == 1
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.EXPIRED
    assert grant.expired_at is not None
    assert AccessGrant.objects.filter(pk=grant.pk).exists()  # kept
    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert set(by_recipient) == {grant.holder.email, director.email, ict.email}
    assert "ended on 20 July 2026" in by_recipient[grant.holder.email].body
    assert "ended on 20 July 2026" in by_recipient[director.email].body
    assert "Close access to LinkedIn" in by_recipient[ict.email].body
    assert (
        AuditEvent.objects.filter(
            action="grant.expired", actor_label="system:grant_expiry_sweep"
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_a_grant_never_provisioned_expires_after_its_end_date_and_ict_is_told_to_drop_it(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """ICT never set it up: the day after its end date it leaves ICT's queue, the holder and
    their director learn it ended before it was set up, and ICT is told the job is no
    longer needed (not asked to close access that was never opened)."""
    end = datetime.date(2026, 7, 20)
    with time_machine.travel(_at_noon(end), tick=False) as traveller:
        grant = _awaiting_grant(end)
        reference = grant.business_case.reference
        director = director_of(grant.holder.profile.business_unit.directorate)
        ict = UserFactory(role=Role.ICT)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.grant_expiry_sweep().done == 0  # the end date is its last day
        client.force_login(ict)
        assert reference in client.get(reverse("access_requests:provisioning-queue")).text

        traveller.move_to(_at_noon(end + datetime.timedelta(days=1)))
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_sweep()
            services.grant_expiry_sweep()
        client.force_login(ict)
        assert reference not in client.get(reverse("access_requests:provisioning-queue")).text
    assert result.done == 1
    grant.refresh_from_db()
    assert grant.status == AccessGrant.Status.EXPIRED
    assert grant.expired_at is not None
    assert grant.provisioned_at is None
    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert set(by_recipient) == {grant.holder.email, director.email, ict.email}
    holder_email = by_recipient[grant.holder.email]
    assert holder_email.subject == (
        f"Your social media access ended before it was set up ({reference})"
    )
    assert "ended on 20 July 2026 before ICT set it up" in holder_email.body
    assert "ICT will withdraw it" not in holder_email.body
    director_email = by_recipient[director.email]
    assert "ended on 20 July 2026 before ICT set it up" in director_email.body
    assert "ICT has been told it is no longer needed" in director_email.body
    ict_email = by_recipient[ict.email]
    assert ict_email.subject.startswith(f"Social media access no longer needed: {reference}")
    assert "has reached its end date, 20 July 2026." in ict_email.body
    assert "nothing needs to be withdrawn" in ict_email.body
    assert "Close access" not in ict_email.body
    (event,) = AuditEvent.objects.filter(action="grant.expired", object_id=str(grant.pk))
    assert event.actor_label == "system:grant_expiry_sweep"
    assert event.changes["status"] == ["awaiting", "expired"]


@pytest.mark.django_db
def test_a_grant_awaiting_provisioning_whose_end_date_has_not_passed_is_left_alone(
    mailoutbox, django_capture_on_commit_callbacks
):
    today = datetime.date(2026, 7, 20)
    with time_machine.travel(_at_noon(today), tick=False):
        ends_today = _awaiting_grant(today)
        ends_later = _awaiting_grant(today + datetime.timedelta(days=30))
        UserFactory(role=Role.ICT)
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_sweep()
    assert result.done == 0
    for grant in (ends_today, ends_later):
        grant.refresh_from_db()
        assert grant.status == AccessGrant.Status.AWAITING_PROVISIONING
        assert grant.expired_at is None
    assert mailoutbox == []
    assert not AuditEvent.objects.filter(action="grant.expired").exists()


@pytest.mark.django_db
def test_with_an_ict_mailbox_ict_gets_one_email_per_expired_grant_not_one_per_person(
    mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SNS_ICT_MAILBOX = "ict-servicedesk@example.gov.uk"
    end = datetime.date(2026, 7, 20)
    with time_machine.travel(_at_noon(end + datetime.timedelta(days=1)), tick=False):
        grants = [_active_grant(end) for _ in range(3)]
        people = [UserFactory(role=Role.ICT) for _ in range(4)]
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_sweep()
            services.grant_expiry_sweep()
    assert result.done == 3
    to_ict = [m for m in mailoutbox if m.to == ["ict-servicedesk@example.gov.uk"]]
    assert len(to_ict) == 3  # one withdrawal request (one service-desk ticket) per grant
    assert not [m for m in mailoutbox if m.to[0] in {p.email for p in people}]
    for grant in grants:
        (email,) = [m for m in to_ict if grant.business_case.reference in m.subject]
        assert "Close access to LinkedIn" in email.body
        assert grant.holder.email in email.body


@pytest.mark.django_db
def test_the_expiry_sweep_costs_the_same_queries_per_grant_however_many_ict_people(
    mailoutbox, django_capture_on_commit_callbacks
):
    end = datetime.date(2026, 7, 20)

    def queries_to_expire(grants: int, never_provisioned: int = 0) -> int:
        for _ in range(grants):
            _active_grant(end)
        for _ in range(never_provisioned):
            _awaiting_grant(end)
        with CaptureQueriesContext(connection) as queries:
            with django_capture_on_commit_callbacks(execute=False):
                result = services.grant_expiry_sweep(batch_size=100)
        assert result.done == grants + never_provisioned
        return len(queries)

    with time_machine.travel(_at_noon(end + datetime.timedelta(days=1)), tick=False):
        UserFactory(role=Role.ICT)
        queries_to_expire(1)  # the audit chain's head row is created on the first event
        one_person_3_grants = queries_to_expire(3)
        people = [UserFactory(role=Role.ICT) for _ in range(6)]
        seven_people_3_grants = queries_to_expire(3)
        seven_people_9_grants = queries_to_expire(9)
        seven_people_4_active_5_awaiting = queries_to_expire(4, never_provisioned=5)
    # Not one query per grant, per email or per ICT person: a batch of grants costs the same
    # few queries however many it holds (its lock, its sites, one UPDATE, one INSERT for all
    # its emails, one append to the audit trail), and whether or not ICT provisioned them.
    assert seven_people_3_grants == one_person_3_grants
    assert seven_people_9_grants == seven_people_3_grants
    assert seven_people_4_active_5_awaiting == seven_people_9_grants
    assert (
        OutboundEmail.objects.filter(
            template="grant_withdraw_ict", to__in=[p.email for p in people]
        ).count()
        == 6 * (3 + 9 + 4 + 5)  # each ICT person, for each grant
    )
    (email,) = [m for m in OutboundEmail.objects.filter(to=people[0].email)][:1]
    assert email.content().body_text.startswith("Dear ICT team,")


@pytest.mark.django_db(transaction=True)
def test_the_sweep_queues_its_emails_for_sending_in_one_task_per_chunk(mailoutbox, monkeypatch):
    end = datetime.date(2026, 7, 20)
    with time_machine.travel(_at_noon(end + datetime.timedelta(days=1)), tick=False):
        for _ in range(3):
            _active_grant(end)
        UserFactory(role=Role.ICT)
        queued = []
        real_enqueue = outbox._enqueue_send
        monkeypatch.setattr(outbox, "_enqueue_send", lambda ids: queued.append(ids))
        services.grant_expiry_sweep()  # the batch commits once
        emails = set(OutboundEmail.objects.values_list("id", flat=True))
        assert len(emails) == 3 * 2  # the holder and ICT for each grant
        assert len(queued) == 1 and set(queued[0]) == emails  # one broker message, not six
        assert mailoutbox == []
        real_enqueue(queued[0])  # the worker runs the task: each email goes out once
        real_enqueue(queued[0])
    assert len(mailoutbox) == 6
    assert all(e.status == "sent" for e in OutboundEmail.objects.all())


@pytest.mark.django_db
def test_a_batch_that_fails_is_retried_grant_by_grant_so_one_bad_grant_blocks_nobody(
    mailoutbox, django_capture_on_commit_callbacks, caplog, refuse_updates
):
    """One grant the database refuses to update (a trigger stands in for a damaged row) fails
    the whole batch's transaction; each grant is then expired on its own, so the others
    expire and are told once, and only the bad one waits for a rerun."""
    end = datetime.date(2026, 7, 20)
    with time_machine.travel(_at_noon(end + datetime.timedelta(days=1)), tick=False):
        grants = [_active_grant(end) for _ in range(5)]
        broken = grants[2]
        refuse_updates(AccessGrant, broken.pk)
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_sweep(batch_size=10)
        assert (result.done, result.failed) == (4, 1)
        assert "a batch of 5 failed" in caplog.text
        assert f"grant {broken.pk} failed" in caplog.text
        statuses = {
            g.pk: g.status for g in AccessGrant.objects.filter(pk__in=[g.pk for g in grants])
        }
        assert statuses.pop(broken.pk) == AccessGrant.Status.ACTIVE
        assert set(statuses.values()) == {AccessGrant.Status.EXPIRED}
        assert broken.holder.email not in [m.to[0] for m in mailoutbox]

        refuse_updates.lift()
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_sweep()
        assert (result.done, result.failed) == (1, 0)
    told = [m.to[0] for m in mailoutbox if "has ended" in m.subject]
    assert sorted(set(told) & {g.holder.email for g in grants}) == sorted(
        g.holder.email for g in grants
    )
    assert AuditEvent.objects.filter(action="grant.expired").count() == 5


@pytest.mark.django_db
def test_grants_never_provisioned_are_expired_one_by_one_when_their_batch_fails(
    mailoutbox, django_capture_on_commit_callbacks, caplog, refuse_updates
):
    """The fallback path (`grant_expire`, one grant per transaction) closes grants awaiting
    provisioning as the batch would, with their event and their own emails; the bad one
    (itself never provisioned) is closed by the rerun."""
    end = datetime.date(2026, 7, 20)
    with time_machine.travel(_at_noon(end + datetime.timedelta(days=1)), tick=False):
        active = [_active_grant(end) for _ in range(2)]
        awaiting = [_awaiting_grant(end) for _ in range(3)]
        broken = awaiting[1]
        ict = UserFactory(role=Role.ICT)
        refuse_updates(AccessGrant, broken.pk)
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_sweep(batch_size=10)
        assert (result.done, result.failed) == (4, 1)
        assert "a batch of 5 failed" in caplog.text
        assert f"grant {broken.pk} failed" in caplog.text
        broken.refresh_from_db()
        assert broken.status == AccessGrant.Status.AWAITING_PROVISIONING
        for grant in active + awaiting:
            grant.refresh_from_db()
        assert {g.status for g in active + awaiting if g != broken} == {"expired"}

        refuse_updates.lift()
        with django_capture_on_commit_callbacks(execute=True):
            result = services.grant_expiry_sweep()
        assert (result.done, result.failed) == (1, 0)
        broken.refresh_from_db()
        assert broken.status == AccessGrant.Status.EXPIRED
    to_ict = {
        m.subject.split(": ", 1)[1].split(" ", 1)[0]: m.subject
        for m in mailoutbox
        if m.to == [ict.email]
    }
    for grant in active:
        assert to_ict.pop(grant.business_case.reference).startswith("Withdraw")
    for grant in awaiting:
        assert to_ict.pop(grant.business_case.reference).startswith("Social media access no longer")
    assert to_ict == {}
    not_set_up = [m.to[0] for m in mailoutbox if "ended before it was set up" in m.subject]
    assert sorted(not_set_up) == sorted(g.holder.email for g in awaiting)
    changes = {
        int(e.object_id): e.changes["status"]
        for e in AuditEvent.objects.filter(action="grant.expired")
    }
    assert changes == {
        **{g.pk: ["active", "expired"] for g in active},
        **{g.pk: ["awaiting", "expired"] for g in awaiting},
    }


@pytest.mark.django_db(transaction=True)
def test_two_expiry_sweeps_at_once_close_each_grant_once_provisioned_or_not(monkeypatch):
    today = timezone.localdate()
    end, start = today - datetime.timedelta(days=1), today - datetime.timedelta(days=30)
    grants = [_active_grant(end, start=start) for _ in range(6)]
    grants += [_awaiting_grant(end, start=start) for _ in range(6)]
    UserFactory(role=Role.ICT)
    real_queue_many = services.email_queue_many

    def slow_queue_many(messages):  # widen the window in which the two sweeps overlap
        time.sleep(0.05)
        return real_queue_many(messages)

    monkeypatch.setattr(services, "email_queue_many", slow_queue_many)
    monkeypatch.setattr(outbox, "_enqueue_send", lambda email_ids: None)  # see above

    def sweep():
        return services.grant_expiry_sweep(batch_size=3)

    results = returned(run_at_once(sweep, sweep))
    assert sum(result.done for result in results) == len(grants)
    assert set(AccessGrant.objects.values_list("status", flat=True)) == {"expired"}
    events = AuditEvent.objects.filter(action="grant.expired")
    assert sorted(int(e.object_id) for e in events) == sorted(g.pk for g in grants)
    holder_emails = OutboundEmail.objects.filter(template="grant_expired")
    assert sorted(holder_emails.values_list("to", flat=True)) == sorted(
        g.holder.email for g in grants
    )
    assert OutboundEmail.objects.filter(template="grant_withdraw_ict").count() == len(grants)


@pytest.mark.django_db
def test_the_expiry_emails_greet_the_holder_by_the_name_the_portal_shows(
    mailoutbox, django_capture_on_commit_callbacks
):
    """The sweep reads the holder's name as a joined value (no User instance per grant):
    it must be `User.display_name`, whether that is the commonly used name, the full name
    or, with neither, the email address."""
    end = datetime.date(2026, 7, 20)
    with time_machine.travel(_at_noon(end + datetime.timedelta(days=1)), tick=False):
        known = _active_grant(end)
        known.holder.profile.commonly_used_name = "Sam Known"
        known.holder.profile.save()
        full_name_only = _active_grant(end)
        full_name_only.holder.profile.commonly_used_name = ""
        full_name_only.holder.profile.save()
        full_name_only.holder.first_name, full_name_only.holder.last_name = "Alex", "Fuller"
        full_name_only.holder.save()
        nameless = _active_grant(end)
        nameless.holder.profile.commonly_used_name = ""
        nameless.holder.profile.save()
        nameless.holder.first_name = nameless.holder.last_name = ""
        nameless.holder.save()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.grant_expiry_sweep().done == 3
    greetings = {
        m.to[0]: m.body.splitlines()[0] for m in mailoutbox if m.subject.startswith("Your")
    }
    for grant, name in [
        (known, "Sam Known"),
        (full_name_only, "Alex Fuller"),
        (nameless, nameless.holder.email),
    ]:
        holder = type(grant.holder).objects.get(pk=grant.holder_id)
        assert holder.display_name == name
        assert greetings[holder.email] == f"Dear {name},"
