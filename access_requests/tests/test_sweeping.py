"""Two batches at a time: `batches_handle`, and the expiry sweep through it (the reminder
sweep's test is in approvals/tests/test_reminders.py).

These tests commit (transaction=True): each thread works on its own database connection,
which sees only committed rows, as in a worker."""

import datetime
import threading
import time

import pytest
import time_machine
from django.db import connection

from access_requests.models import AccessGrant
from access_requests.services import grants as grant_services
from access_requests.tests.factories import AccessGrantFactory
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from core.sweeping import batches_handle, sweep_connections
from notifications.models import OutboundEmail


@pytest.mark.django_db(transaction=True)
def test_batches_run_two_at_a_time_each_on_its_own_connection(settings):
    settings.SNS_SWEEP_CONNECTIONS = 2
    assert sweep_connections() == 2
    both_started = threading.Barrier(2, timeout=10)
    seen = []

    def handle(batch):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        if batch[0] < 2:
            both_started.wait()  # only passes if the first two batches run at the same time
        seen.append((threading.current_thread().name, pid))
        return sum(batch)

    results = batches_handle(iter([[0, 1], [1, 2], [3], [4, 5]]), handle)

    assert sorted(results) == [1, 3, 3, 9]
    assert len({name for name, _ in seen}) == 2
    assert len({pid for _, pid in seen}) == 2  # two database connections


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_raises_stops_the_others_and_is_raised(settings):
    settings.SNS_SWEEP_CONNECTIONS = 2
    handled = []

    def handle(batch):
        if batch == "bad":
            raise ValueError("bad batch")
        time.sleep(0.01)
        handled.append(batch)

    with pytest.raises(ValueError, match="bad batch"):
        batches_handle(iter(["bad", *[f"batch {n}" for n in range(50)]]), handle)
    assert len(handled) < 50


@pytest.mark.django_db
def test_inside_a_transaction_or_when_set_to_one_batches_run_in_the_callers_thread(settings):
    """A test's transaction (as here), or SNS_SWEEP_CONNECTIONS = 1: one at a time, on the
    caller's connection, which can see the caller's uncommitted rows."""
    settings.SNS_SWEEP_CONNECTIONS = 2
    assert sweep_connections() == 1
    names = batches_handle(iter([1, 2, 3]), lambda _: threading.current_thread().name)
    assert set(names) == {threading.current_thread().name}


@pytest.mark.django_db(transaction=True)
def test_the_expiry_sweep_on_two_connections_expires_each_grant_once(settings, outbox_sends_later):
    settings.SNS_SWEEP_CONNECTIONS = 2
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
        result = grant_services.grant_expiry_sweep(batch_size=2)  # 7 batches

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
