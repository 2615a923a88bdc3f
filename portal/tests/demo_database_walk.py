"""A walk through `make run`'s own database, run by `test_demo_database.py` in a child
process with no DATABASE_URL / CELERY_BROKER_URL / EMAIL_HOST (so SQLite, kombu's
filesystem broker and the demo mail folder, as under `make run`) and PORTAL_VAR_DIR set to
a fresh folder. A real Celery worker on that broker sends the emails, as under `make run`.

It prints one JSON object of what it saw; the test asserts on it. Not a test module itself
(the suite refuses SQLite): run as `python portal/tests/demo_database_walk.py`.
"""

import datetime
import json
import os
import sys
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

import time_machine  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from access_requests.models import AccessGrant, Site  # noqa: E402
from access_requests.services.grant_expiry import grant_expiry_sweep  # noqa: E402
from access_requests.services.grant_safe_use import grant_safe_use_sweep  # noqa: E402
from access_requests.services.grants import grant_provision  # noqa: E402
from access_requests.tests.factories import BusinessCaseFactory  # noqa: E402
from approvals.models import ApprovalRequest  # noqa: E402
from approvals.services import approval_decide, approval_remind_due, case_submit  # noqa: E402
from notifications.models import OutboundEmail  # noqa: E402
from people.models import User  # noqa: E402

MAIL = Path(settings.EMAIL_FILE_PATH)

# The demo accounts' passwords hashed with the fast hasher the rest of the suite uses (the
# root conftest's): the production hasher's rounds for the eight demo accounts cost about 2 s
# of CPU, a sixth of the test's, and no step of the walk signs in with a password.
override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]).enable()


def mail_files() -> list[Path]:
    return sorted(MAIL.glob("*.log")) if MAIL.exists() else []


def wait_for_mail(timeout: float = 60.0) -> int:
    """Wait until the worker has sent every email queued so far (the requester's and the
    director's after a submission: waiting for the first would let the walk go on with the
    second still queued); the number in the demo mail folder."""
    deadline = time.monotonic() + timeout
    while (
        OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).exists()
        and time.monotonic() < deadline
    ):
        time.sleep(0.25)
    return len(mail_files())


def main() -> dict:
    seen: dict = {"vendor": connection.vendor, "broker": settings.CELERY_BROKER_URL}
    call_command("load_demo_data", verbosity=0)
    staff = User.objects.get(email="sam.staff@example.gov.uk")
    admin = User.objects.get(email="ada.admin@example.gov.uk")
    ict = User.objects.get(email="ian.ict@example.gov.uk")
    site = Site.objects.filter(name="LinkedIn").first() or Site.objects.create(name="LinkedIn")

    # A staff member's case is sent: the director's email is queued (the outbox INSERT) and
    # the worker sends it.
    case = BusinessCaseFactory(requester=staff, sites=[site])
    case = case_submit(case=case, actor=staff)
    approval = ApprovalRequest.objects.get(business_case=case)
    seen["reference"] = case.reference
    seen["director"] = approval.approver.email
    seen["mail_after_submit"] = wait_for_mail()

    # Days later, the reminder sweep (the batched UPDATE of fresh links) reminds them.
    later = timezone.now() + datetime.timedelta(days=10)
    with time_machine.travel(later, tick=False):
        seen["reminded"] = approval_remind_due()
    seen["mail_after_reminder"] = wait_for_mail()

    # They approve; ICT provisions; after the end date the expiry sweep expires the grant.
    approval.refresh_from_db()
    approval_decide(approval_request=approval, decision="approve", actor=approval.approver)
    grant = AccessGrant.objects.get(business_case=case)
    grant_provision(grant=grant, actor=ict)
    after_end = grant.end_date + datetime.timedelta(days=1)
    seen["expired"] = grant_expiry_sweep(today=after_end).done
    grant.refresh_from_db()
    seen["grant_status"] = grant.status

    # An active-tier grant, provisioned on a standalone PC: its safe-use reminder is due
    # SNS_SAFE_USE_REMINDER_DAYS after provisioning, and the sweep sends it (its due query
    # counts days since provisioning, which SQLite works out differently from PostgreSQL).
    active_case = case_submit(
        case=BusinessCaseFactory(
            requester=staff,
            sites=[site],
            active=True,
            end_date=timezone.localdate() + datetime.timedelta(days=180),
        ),
        actor=staff,
    )
    active_approval = ApprovalRequest.objects.get(business_case=active_case)
    approval_decide(
        approval_request=active_approval, decision="approve", actor=active_approval.approver
    )
    # The paying unit's budget holder agrees to the PC's cost (unless the director is them).
    cost = ApprovalRequest.objects.filter(
        business_case=active_case, stage=ApprovalRequest.Stage.BUDGET_HOLDER, status="open"
    ).first()
    if cost is not None:
        approval_decide(approval_request=cost, decision="approve", actor=cost.approver)
    active_grant = AccessGrant.objects.get(business_case=active_case)
    grant_provision(grant=active_grant, actor=ict, asset_tag="PC-0042")
    reminder_day = timezone.localdate() + datetime.timedelta(
        days=settings.SNS_SAFE_USE_REMINDER_DAYS + 1
    )
    seen["safe_use_sent"] = grant_safe_use_sweep(today=reminder_day).done
    seen["safe_use_emails"] = OutboundEmail.objects.filter(
        object_id=str(active_grant.pk), template="grant_safe_use_reminder"
    ).count()

    # The admin finds it in the register by search, and in its CSV export.
    client = Client()
    client.force_login(admin)
    page = client.get("/oversight/register/", {"q": "Sam", "status": "all"})
    seen["register_status"] = page.status_code
    seen["register_shows_case"] = case.reference in page.content.decode()
    export = client.get("/oversight/register.csv", {"q": "Sam", "status": "all"})
    text = b"".join(export.streaming_content).decode()
    seen["csv_status"] = export.status_code
    seen["csv_row"] = next((line for line in text.splitlines() if case.reference in line), "")
    trail = client.get("/oversight/audit-trail/")
    seen["audit_trail_status"] = trail.status_code
    case_file = client.get(f"/oversight/cases/{case.pk}/")
    seen["case_file_status"] = case_file.status_code
    seen["case_file_shows_approval"] = "Decision made" in case_file.content.decode()

    # `manage.py verify_audit` on the demo's trail: every event the walk wrote still checks.
    verified = StringIO()
    call_command("verify_audit", stdout=verified)
    seen["audit_verified"] = verified.getvalue()

    seen["outbox_pending"] = OutboundEmail.objects.filter(
        status=OutboundEmail.Status.PENDING
    ).count()
    seen["mail_subjects"] = [
        next(
            (line[9:] for line in path.read_text().splitlines() if line.startswith("Subject: ")),
            "",
        )
        for path in mail_files()
    ]
    return seen


if __name__ == "__main__":
    print(json.dumps(main(), default=str))
