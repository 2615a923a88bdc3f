"""An access review through a real Celery worker and beat on Redis: the reviewer's email
when it starts, beat's reminder before the due date, escalation after it and the review's
end applying the default (`end`), with the holder and ICT told; every email lands in the
worker's mail folder."""

import datetime

import pytest
from django.utils import timezone

from access_requests.models import AccessGrant
from approvals.tests.test_worker import mail_text
from people.models import Role
from people.tests.factories import UserFactory
from reviews import services
from reviews.models import AccessReview, ReviewItem

from .factories import department, grant_held_in


@pytest.mark.worker
def test_beat_reminds_escalates_and_ends_an_unreviewed_grant_through_a_real_worker(
    celery_worker_process,
):
    ict = UserFactory(role=Role.ICT, email="ict@example.gov.uk")
    directorate, director = department()
    fallback = directorate.organisation.fallback_approver
    grant = grant_held_in(directorate)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    review = services.access_review_start(actor=director, due_on=tomorrow)
    folder = celery_worker_process.mail_folder

    def arrived(text):
        return celery_worker_process.wait_for(lambda: text in mail_text(folder), timeout=60)

    # The start's email, then beat's reminder: the due date is within the working days.
    assert arrived("Review 1 social media access grant by"), (
        celery_worker_process.log_path.read_text()
    )
    assert arrived("Reminder: 1 social media access grant to review by"), (
        celery_worker_process.log_path.read_text()
    )
    assert director.email in mail_text(folder)

    # Past the due date and the escalated reviewer's working days: beat escalates, then
    # ends what nobody reviewed.
    AccessReview.objects.filter(pk=review.pk).update(
        due_on=timezone.localdate() - datetime.timedelta(days=30)
    )
    assert celery_worker_process.wait_for(
        lambda: AccessReview.objects.get(pk=review.pk).closed_at is not None, timeout=90
    ), celery_worker_process.log_path.read_text()
    assert arrived("Review 1 social media access grant nobody reviewed")
    assert fallback.email in mail_text(folder)

    item = ReviewItem.objects.get(review=review)
    assert item.automatic and item.decision == "end"
    assert AccessGrant.objects.get(pk=grant.pk).status == AccessGrant.Status.REVOKED
    assert arrived(f"Your social media access has been revoked ({grant.business_case.reference})")
    assert arrived(f"Withdraw social media access: {grant.business_case.reference}")
    assert ict.email in mail_text(folder) and grant.holder.email in mail_text(folder)
