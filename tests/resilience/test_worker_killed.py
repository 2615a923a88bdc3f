"""A worker killed in the middle of the outbox sweep: the next run loses and doubles nothing."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db.models import Max
from django.utils import timezone

from conftest import ROOT, worker_env
from notifications.models import OutboundEmail
from notifications.services import outbox_sweep
from tests.resilience.smtp_sink import SmtpSink

EMAILS = 12
CLAIM_SECONDS = 3


def start_worker(tmp_path, sink_port):
    """A real Celery worker with beat on Redis, sending through the SMTP sink."""
    from portal.celery import app

    app.control.purge()
    env = worker_env(tmp_path)
    env.update(
        {
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink_port),
            "SNS_OUTBOX_CLAIM_SECONDS": str(CLAIM_SECONDS),
            "SNS_SWEEP_INTERVAL_SECONDS": "1",
            "SECRET_KEY": "worker-test-key-" + "x" * 32,
        }
    )
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "-B", "--pool=solo"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log


def wait_for(predicate, timeout, what, log_path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"Timed out waiting for {what}:\n" + log_path.read_text()[-3000:])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sweep_loses_and_duplicates_no_email(tmp_path, settings):
    now = timezone.now()
    OutboundEmail.objects.bulk_create(
        OutboundEmail(
            to=f"person{n}@example.gov.uk",
            subject=f"Email {n:02d}",
            body_text=f"Email number {n}",
            template="probe",
            next_attempt_at=now,
        )
        for n in range(EMAILS)
    )
    with SmtpSink(delay=0.4) as sink:  # slow, so the worker is killed mid-sweep
        process, log = start_worker(tmp_path, sink.port)
        try:
            # Kill it while it waits for the server to take the next email: mid-sweep, with
            # that email claimed and every email the server took already marked sent. (Killed
            # in the instant between the server's "250 queued" and the row's update, an email
            # goes twice, with the same Message-ID: SMTP cannot be exactly-once there.)
            def sending_the_next_one():
                delivered = len(sink.messages)
                marked = OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count()
                return delivered >= 3 and sink.holding and marked == delivered

            wait_for(
                sending_the_next_one,
                60,
                "the sweep to be sending its fourth email",
                tmp_path / "worker.log",
            )
        finally:
            os.killpg(process.pid, signal.SIGKILL)  # no warm shutdown: killed mid-sweep
            process.wait(timeout=30)
            log.close()
        delivered_before = len(sink.messages)
        at_kill = (
            list(sink.subjects),
            list(
                OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT)
                .order_by("subject")
                .values_list("subject", flat=True)
            ),
        )
        assert delivered_before < EMAILS, "the worker finished before it was killed"
        sent_rows = OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count()
        assert sent_rows <= delivered_before  # a row is marked sent only after the server took it
        # The email being sent when the worker died is still claimed by it.
        claimed = OutboundEmail.objects.filter(claimed_until__gt=timezone.now()).count()
        assert claimed <= 1

        # The next run: once the dead worker's claim has run out, the sweep sends the rest.
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = sink.port
        settings.SNS_OUTBOX_CLAIM_SECONDS = CLAIM_SECONDS
        sink.delay = 0
        # Until the dead worker's claim runs out (it claimed with the same clock, and the
        # sweep takes rows whose claim is before its own now).
        claim_ends = OutboundEmail.objects.aggregate(end=Max("claimed_until"))["end"]
        if claim_ends is not None:
            time.sleep(max(0.0, (claim_ends - timezone.now()).total_seconds()) + 0.1)
        outbox_sweep()
        outbox_sweep()

    subjects = sorted(sink.subjects)
    assert subjects == [f"Email {n:02d}" for n in range(EMAILS)], (subjects, at_kill)
    message_ids = {str(m["Message-ID"]) for m in sink.messages}
    assert len(message_ids) == EMAILS
    assert not OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT).exists()
