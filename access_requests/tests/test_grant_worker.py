"""End to end: a real Celery worker and beat on Redis send the expiry notice of a grant that
is about to expire, and expire a grant whose end has passed, from the beat schedule alone."""

import datetime
import os

import pytest
from django.utils import timezone

from access_requests.models import AccessGrant, ExpiryNotice
from access_requests.tests.factories import (
    AccessGrantFactory,
)


@pytest.mark.worker
def test_beat_and_a_real_worker_send_the_notice_of_a_grant_about_to_expire(celery_worker_process):
    today = timezone.localdate()
    grant = AccessGrantFactory(
        provisioned=True,
        business_case__start_date=today - datetime.timedelta(days=30),
        business_case__end_date=today + datetime.timedelta(days=1),
    )

    def mail_files():
        folder = celery_worker_process.mail_folder
        return list(folder.glob("*.log")) if folder.exists() else []

    def notice_mailed():
        return any(grant.holder.email in path.read_text() for path in mail_files())

    assert celery_worker_process.wait_for(notice_mailed, timeout=90), (
        celery_worker_process.log_path.read_text()[-3000:]
    )
    notice = ExpiryNotice.objects.get(grant=grant)
    assert notice.days_before == 1
    text = "\n".join(path.read_text() for path in mail_files())
    assert "Your social media access ends" in text
    assert text.count(f"To: {grant.holder.email}") == 1


@pytest.mark.worker
def test_the_worker_expires_a_grant_at_a_lower_cpu_priority_than_the_web(
    celery_worker_process, settings
):
    """The worker runs its sweeps at `SNS_WORKER_NICE` (10), so on shared cores the kernel
    runs a person's request first; this process (the web's stand-in) keeps its own."""
    today = timezone.localdate()
    grant = AccessGrantFactory(
        provisioned=True,
        business_case__start_date=today - datetime.timedelta(days=30),
        business_case__end_date=today - datetime.timedelta(days=1),
    )

    def expired():
        return AccessGrant.objects.filter(pk=grant.pk, status=AccessGrant.Status.EXPIRED).exists()

    assert celery_worker_process.wait_for(expired, timeout=90), (
        celery_worker_process.log_path.read_text()[-3000:]
    )
    web = os.getpriority(os.PRIO_PROCESS, 0)
    worker = os.getpriority(os.PRIO_PROCESS, celery_worker_process.pid)
    assert settings.SNS_WORKER_NICE == 10
    assert worker == max(web, 10)
