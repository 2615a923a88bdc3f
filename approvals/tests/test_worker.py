import datetime

import pytest
from django.utils import timezone

from approvals.models import ApprovalReminder, ApprovalRequest, Delegation
from approvals.tests.factories import DelegationFactory, requester_and_director, submitted_case
from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.models import Role
from people.tests.factories import UserFactory


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


@pytest.mark.worker
def test_beat_ends_a_delegation_through_a_real_worker(celery_worker_process):
    requester, director = requester_and_director()
    deputy = UserFactory(role=Role.DEPUTY)
    delegation = DelegationFactory(director=director, deputy=deputy)
    case = submitted_case(requester=requester)
    deputy_request = case.approval_requests.get(approver=deputy)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Delegation.objects.filter(pk=delegation.pk).update(
        starts_on=yesterday - datetime.timedelta(days=3), ends_on=yesterday
    )

    assert celery_worker_process.wait_for(
        lambda: ApprovalRequest.objects.get(pk=deputy_request.pk).status == "superseded",
        timeout=60,
    ), celery_worker_process.log_path.read_text()
    assert AuditEvent.objects.filter(action="delegation.ended").count() == 1
    assert case.approval_requests.get(approver=director).status == "open"
