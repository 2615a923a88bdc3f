"""Expiry the day after the end date, of active grants and of grants ICT never provisioned:
who is told, a batch at a time, each grant once whatever runs twice or fails."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessGrant
from access_requests.services.grant_expiry import grant_expiry_sweep
from access_requests.tests.factories import AccessGrantFactory, grant_ending, noon_in_london
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from core.sweeping import sweep_connections
from notifications.models import OutboundEmail
from notifications.tasks import send_outbound_emails
from people.models import Role
from people.tests.factories import UserFactory, director_of
from tests.at_once import returned, run_at_once


@pytest.mark.django_db
def test_a_grant_expires_the_day_after_its_end_date_and_holder_director_and_ict_are_told(
    mailoutbox, django_capture_on_commit_callbacks
):
    end = datetime.date(2026, 7, 20)
    with time_machine.travel(noon_in_london(end), tick=False) as traveller:
        grant = grant_ending(end)
        director = director_of(grant.holder.profile.business_unit.directorate)
        ict = UserFactory(role=Role.ICT)
        with django_capture_on_commit_callbacks(execute=True):
            grant_expiry_sweep()
        grant.refresh_from_db()
        assert grant.status == AccessGrant.Status.ACTIVE  # the end date is its last day

        traveller.move_to(noon_in_london(end + datetime.timedelta(days=1)))
        with django_capture_on_commit_callbacks(execute=True):
            result = grant_expiry_sweep()
            grant_expiry_sweep()
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
    with time_machine.travel(noon_in_london(end), tick=False) as traveller:
        grant = grant_ending(end, provisioned=False)
        reference = grant.business_case.reference
        director = director_of(grant.holder.profile.business_unit.directorate)
        ict = UserFactory(role=Role.ICT)
        with django_capture_on_commit_callbacks(execute=True):
            assert grant_expiry_sweep().done == 0  # the end date is its last day
        client.force_login(ict)
        assert reference in client.get(reverse("access_requests:provisioning-queue")).text

        traveller.move_to(noon_in_london(end + datetime.timedelta(days=1)))
        with django_capture_on_commit_callbacks(execute=True):
            result = grant_expiry_sweep()
            grant_expiry_sweep()
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
    with time_machine.travel(noon_in_london(today), tick=False):
        ends_today = grant_ending(today, provisioned=False)
        ends_later = grant_ending(today + datetime.timedelta(days=30), provisioned=False)
        UserFactory(role=Role.ICT)
        with django_capture_on_commit_callbacks(execute=True):
            result = grant_expiry_sweep()
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
    with time_machine.travel(noon_in_london(end + datetime.timedelta(days=1)), tick=False):
        grants = [grant_ending(end) for _ in range(3)]
        people = [UserFactory(role=Role.ICT) for _ in range(4)]
        with django_capture_on_commit_callbacks(execute=True):
            result = grant_expiry_sweep()
            grant_expiry_sweep()
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
            grant_ending(end)
        for _ in range(never_provisioned):
            grant_ending(end, provisioned=False)
        with CaptureQueriesContext(connection) as queries:
            with django_capture_on_commit_callbacks(execute=False):
                result = grant_expiry_sweep(batch_size=100)
        assert result.done == grants + never_provisioned
        return len(queries)

    with time_machine.travel(noon_in_london(end + datetime.timedelta(days=1)), tick=False):
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
def test_the_sweep_queues_its_emails_for_sending_in_one_task_per_chunk(
    mailoutbox, no_worker_running
):
    end = datetime.date(2026, 7, 20)
    with time_machine.travel(noon_in_london(end + datetime.timedelta(days=1)), tick=False):
        for _ in range(3):
            grant_ending(end)
        UserFactory(role=Role.ICT)
        grant_expiry_sweep()  # the batch commits once
        emails = set(OutboundEmail.objects.values_list("id", flat=True))
        assert len(emails) == 3 * 2  # the holder and ICT for each grant
        published = no_worker_running
        assert len(published) == 1  # one broker message, not six
        ((task, (ids,)),) = published
        assert task == send_outbound_emails.name and set(ids) == emails
        assert mailoutbox == []
        send_outbound_emails(ids)  # the worker runs the task: each email goes out once
        send_outbound_emails(ids)
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
    with time_machine.travel(noon_in_london(end + datetime.timedelta(days=1)), tick=False):
        grants = [grant_ending(end) for _ in range(5)]
        broken = grants[2]
        refuse_updates(AccessGrant, broken.pk)
        with django_capture_on_commit_callbacks(execute=True):
            result = grant_expiry_sweep(batch_size=10)
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
            result = grant_expiry_sweep()
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
    with time_machine.travel(noon_in_london(end + datetime.timedelta(days=1)), tick=False):
        active = [grant_ending(end) for _ in range(2)]
        awaiting = [grant_ending(end, provisioned=False) for _ in range(3)]
        broken = awaiting[1]
        ict = UserFactory(role=Role.ICT)
        refuse_updates(AccessGrant, broken.pk)
        with django_capture_on_commit_callbacks(execute=True):
            result = grant_expiry_sweep(batch_size=10)
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
            result = grant_expiry_sweep()
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
def test_two_expiry_sweeps_at_once_close_each_grant_once_provisioned_or_not(
    slow_inserts, no_worker_running
):
    today = timezone.localdate()
    end, start = today - datetime.timedelta(days=1), today - datetime.timedelta(days=30)
    grants = [grant_ending(end, start=start) for _ in range(6)]
    grants += [grant_ending(end, start=start, provisioned=False) for _ in range(6)]
    UserFactory(role=Role.ICT)
    # Writing a batch's emails takes longer, widening the window in which the two sweeps
    # overlap; the threads only write the outbox (no worker sends).
    slow_inserts(OutboundEmail, seconds=0.05)

    def sweep():
        return grant_expiry_sweep(batch_size=3)

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
    with time_machine.travel(noon_in_london(end + datetime.timedelta(days=1)), tick=False):
        known = grant_ending(end)
        known.holder.profile.commonly_used_name = "Sam Known"
        known.holder.profile.save()
        full_name_only = grant_ending(end)
        full_name_only.holder.profile.commonly_used_name = ""
        full_name_only.holder.profile.save()
        full_name_only.holder.first_name, full_name_only.holder.last_name = "Alex", "Fuller"
        full_name_only.holder.save()
        nameless = grant_ending(end)
        nameless.holder.profile.commonly_used_name = ""
        nameless.holder.profile.save()
        nameless.holder.first_name = nameless.holder.last_name = ""
        nameless.holder.save()
        with django_capture_on_commit_callbacks(execute=True):
            assert grant_expiry_sweep().done == 3
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


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("duty_cycle", [1, 0.5])
def test_the_expiry_sweep_on_two_connections_expires_each_grant_once(
    settings, no_worker_running, duty_cycle
):
    """Two batches at a time, each on its own database connection (`batches_handle`): the
    test commits, as a worker does, so that each thread's connection sees the grants. Resting
    between batches (a duty cycle below 1) still expires every grant due, once, in one run."""
    settings.SNS_SWEEP_CONNECTIONS = 2
    settings.SNS_SWEEP_DUTY_CYCLE = duty_cycle
    assert sweep_connections() == 2
    settings.SNS_ICT_MAILBOX = "ict@example.gov.uk"
    end = datetime.date(2026, 7, 20)
    grants = [
        AccessGrantFactory(
            provisioned=True,
            business_case__start_date=end - datetime.timedelta(days=90),
            business_case__end_date=end,
        )
        for _ in range(13)
    ]
    with time_machine.travel(datetime.datetime(2026, 7, 21, 12, tzinfo=datetime.UTC), tick=False):
        result = grant_expiry_sweep(batch_size=2)  # 7 batches

    assert (result.done, result.failed) == (13, 0)
    assert set(
        AccessGrant.objects.filter(pk__in=[g.pk for g in grants]).values_list("status", flat=True)
    ) == {AccessGrant.Status.EXPIRED}
    for grant in grants:
        assert (
            OutboundEmail.objects.filter(template="grant_expired", to=grant.holder.email).count()
            == 1
        )
    assert OutboundEmail.objects.filter(template="grant_withdraw_ict").count() == 13
    assert AuditEvent.objects.filter(action="grant.expired").count() == 13
    checked, broken = audit_chain_verify()
    assert broken is None and checked >= 13
