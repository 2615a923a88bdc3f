"""A full import's emails go out through the outbox and a real Celery worker on Redis."""

import pytest
from django.core.management import call_command

from access_requests.models import AccessGrant
from access_requests.tests.factories import grant_in_status
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory

from .helpers import directory_file

pytestmark = [pytest.mark.worker]


def test_a_full_import_s_emails_to_ict_are_delivered_by_a_real_worker(
    celery_worker_process, tmp_path, settings
):
    settings.SNS_ICT_MAILBOX = "ict-desk@example.gov.uk"
    UserFactory(role=Role.ADMIN)
    grant = grant_in_status(AccessGrant.Status.ACTIVE, business_case__reference="SNS-2020-09999")
    leaver = grant.holder

    call_command("import_staff", str(directory_file(tmp_path, without=[leaver])), "--full")

    def mail_text():
        folder = celery_worker_process.mail_folder
        files = list(folder.glob("*.log")) if folder.exists() else []
        return "\n".join(path.read_text() for path in files)

    assert celery_worker_process.wait_for(
        lambda: "To: ict-desk@example.gov.uk" in mail_text(), timeout=90
    ), celery_worker_process.log_path.read_text()[-3000:]
    text = mail_text()
    assert "Withdraw social media access: SNS-2020-09999" in text
    assert "left the department" in text
    assert celery_worker_process.wait_for(
        lambda: not OutboundEmail.objects.exclude(status="sent").exists(), timeout=60
    )
