import datetime

import pytest
from django.utils import timezone

from approvals.models import ApprovalReminder, ApprovalRequest
from approvals.tests.factories import requester_and_director, submitted_case
from notifications.models import OutboundEmail


def mail_text(folder):
    if not folder.exists():
        return ""
    return "".join(path.read_text(errors="replace") for path in folder.glob("*.log"))


@pytest.mark.worker
def test_the_directors_email_and_reminder_go_out_through_a_real_worker_and_beat(
    celery_worker_process,
):
    requester, director = requester_and_director(profile__name="Sam Staff")
    case = submitted_case(requester=requester)  # commits: the send is queued on Redis
    folder = celery_worker_process.mail_folder

    assert celery_worker_process.wait_for(
        lambda: director.email in mail_text(folder) and "/approvals/decide/" in mail_text(folder),
        timeout=60,
    ), celery_worker_process.log_path.read_text()
    text = mail_text(folder)
    assert case.reference in text
    assert "Sam Staff" in text
    # The file is written just before the worker marks the row sent.
    assert celery_worker_process.wait_for(
        lambda: OutboundEmail.objects.get(template="approval_request").status == "sent",
        timeout=30,
    )

    # Beat runs the reminder sweep: make the reminder due and wait for it.
    approval = case.approval_requests.get()
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        next_reminder_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert celery_worker_process.wait_for(lambda: "Reminder:" in mail_text(folder), timeout=60), (
        celery_worker_process.log_path.read_text()
    )
    assert ApprovalReminder.objects.filter(approval_request=approval).count() == 1
