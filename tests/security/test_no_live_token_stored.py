"""No live token is stored or logged (security review finding 3).

The director's decision link and the password link reach their person by email only: the
outbox row keeps them sealed until the email goes out and then keeps the email with each
token masked; the request logs show a link's path with its token cut short.
"""

import logging

import pytest
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from approvals.services import approval_remind_due
from approvals.tests.factories import requester_and_director, submitted_case, token_for
from notifications.models import OutboundEmail
from notifications.secrets import SealBroken, secrets_open
from notifications.services import outbound_email_send
from people.models import Role
from people.services import password_reset_request
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def every_stored_value() -> str:
    """Every column of every outbox row, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {OutboundEmail._meta.db_table}")  # noqa: S608  # nosec B608 - the model's table
        return repr(cursor.fetchall())


def send_everything() -> None:
    for pk in OutboundEmail.objects.filter(status="pending").values_list("pk", flat=True):
        outbound_email_send(email_id=pk)


@pytest.fixture
def approval():
    UserFactory(role=Role.ADMIN)
    requester, _director = requester_and_director()
    return submitted_case(requester=requester).approval_requests.get()


def test_the_decision_link_is_stored_sealed_then_masked_and_sent_live(approval):
    token = token_for(approval)
    assert token not in every_stored_value()  # waiting: sealed
    assert OutboundEmail.objects.filter(secret__isnull=False).exists()

    send_everything()

    [sent] = [m for m in mail.outbox if token in m.body]  # the approver gets the live link
    assert token in sent.alternatives[0].content
    assert token not in every_stored_value()  # sent: masked, and the sealed value wiped
    email = OutboundEmail.objects.get(template="approval_request")
    assert email.secret is None and email.context is None
    assert f"/approvals/decide/{token[:4]}…/" in email.body_text
    assert f"/approvals/decide/{token[:4]}…/" in email.body_html


def test_a_reminders_fresh_link_is_not_stored_either(approval, time_machine):
    time_machine.move_to(approval.next_reminder_at)
    approval_remind_due()
    approval.refresh_from_db()
    token = token_for(approval)
    assert OutboundEmail.objects.filter(template="approval_reminder").exists()
    assert token not in every_stored_value()
    send_everything()
    assert any(token in m.body for m in mail.outbox)
    assert token not in every_stored_value()


def test_the_password_link_is_stored_sealed_then_masked_and_sent_live():
    person = UserFactory(role=Role.STAFF)
    email = password_reset_request(email=person.email)
    link = secrets_open(email.secret)["link"]
    token = link.rstrip("/").rpartition("/")[2]
    assert len(token) > 16
    assert token not in every_stored_value()
    assert "link" not in email.context

    send_everything()

    assert token in mail.outbox[0].body
    assert token not in every_stored_value()
    email.refresh_from_db()
    assert email.secret is None
    assert f"{token[:4]}…/" in email.body_text


def test_a_retry_still_has_the_link_and_giving_up_wipes_it(settings, approval):
    settings.EMAIL_BACKEND = "notifications.tests.test_outbox.RefusingBackend"
    settings.SNS_OUTBOX_MAX_ATTEMPTS = 2
    email = OutboundEmail.objects.get(template="approval_request")
    outbound_email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == "pending" and email.secret is not None  # kept for the retry
    OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=None)
    outbound_email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == "failed"
    assert email.secret is None and email.context is None  # given up: nothing live kept
    assert "/approvals/decide/" in email.body_text  # what it said, masked
    assert "…/" in email.body_text


def test_a_sealed_value_opens_only_with_the_portals_key(settings, approval):
    sealed = OutboundEmail.objects.get(template="approval_request").secret
    assert secrets_open(sealed)["link"].startswith("http://testserver/approvals/decide/")
    altered = sealed[:-6] + ("AAAAAA" if not sealed.endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(SealBroken):
        secrets_open(altered)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "another-key-" + "x" * 40
    with pytest.raises(SealBroken):
        secrets_open(sealed)
    settings.SECRET_KEY_FALLBACKS = [old_key]  # a rotated key still opens what waits
    assert secrets_open(sealed)["link"].startswith("http://testserver/approvals/decide/")


def test_the_outbox_admin_shows_no_live_link(approval):
    admin = UserFactory(role=Role.ADMIN, is_superuser=True, is_staff=True)
    token = token_for(approval)
    client = Client()
    client.force_login(admin)
    email = OutboundEmail.objects.get(template="approval_request")
    page = client.get(reverse("admin:notifications_outboundemail_change", args=[email.pk]))
    assert page.status_code == 200
    assert token not in page.content.decode()


@override_settings(DEBUG=False)
def test_a_bad_decision_link_is_logged_without_its_token(caplog):
    token = "Zq9x" + "k" * 39
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = Client().get(f"/approvals/decide/{token}/")
    assert response.status_code == 404
    logged = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert logged, "Django logs the 404"
    assert all(token not in line and "k" * 10 not in line for line in logged)
    assert any("/approvals/decide/Zq9x…/" in line for line in logged)


def test_the_development_servers_request_lines_mask_tokens(caplog):
    server = logging.getLogger("django.server")
    server.addHandler(caplog.handler)  # it does not propagate to the root logger
    try:
        server.info(
            '"%s %s %s" %s %s',
            "GET",
            "/password/reset/MQ/cd5x-" + "f" * 32 + "/",
            "HTTP/1.1",
            302,
            0,
        )
        server.info(
            '"%s %s %s" %s %s', "GET", "/password/reset/MQ/set-password/", "HTTP/1.1", 200, 0
        )
    finally:
        server.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == '"GET /password/reset/MQ/cd5x…/ HTTP/1.1" 302 0'
    assert "f" * 10 not in lines[0]
    assert lines[1] == '"GET /password/reset/MQ/set-password/ HTTP/1.1" 200 0'
