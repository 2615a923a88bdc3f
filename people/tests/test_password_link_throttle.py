"""The password-link page is limited per client address and per email, and a flood of
refused requests is recorded as a few counted events."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from notifications.models import OutboundEmail
from people.models import RequestTally
from people.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADDRESS_A, ADDRESS_B = "192.0.2.10", "192.0.2.20"


def ask(client, email, address=ADDRESS_A):
    return client.post(reverse("people:password-reset"), {"email": email}, REMOTE_ADDR=address)


def test_one_address_asking_for_many_emails_is_refused_over_its_limit(client, settings):
    settings.SNS_PASSWORD_LINK_ADDRESS_LIMIT = 3
    person = UserFactory()
    for number in range(3):
        assert ask(client, f"someone{number}@example.gov.uk").status_code == 302
    response = ask(client, person.email)
    assert response.status_code == 429
    assert "Too many requests for a password link" in response.content.decode()
    assert not OutboundEmail.objects.exists()
    # From another address the person gets their link.
    assert ask(client, person.email, ADDRESS_B).status_code == 302
    assert list(OutboundEmail.objects.values_list("to", flat=True)) == [person.email]


def test_one_email_asked_for_from_many_addresses_is_refused_over_its_limit(client, settings):
    settings.SNS_PASSWORD_LINK_EMAIL_LIMIT = 2
    person = UserFactory()
    for address in ("192.0.2.1", "192.0.2.2"):
        assert ask(client, person.email.upper(), address).status_code == 302
    assert ask(client, person.email, "192.0.2.3").status_code == 429


def test_a_flood_is_recorded_as_a_few_counted_events(client, settings):
    settings.SNS_PASSWORD_LINK_ADDRESS_LIMIT = 4
    for number in range(40):
        ask(client, f"guess{number}@example.gov.uk")
    requested = AuditEvent.objects.filter(action="people.password_reset_requested")
    assert requested.count() == 4
    throttled = AuditEvent.objects.filter(action="people.password_reset_throttled").order_by("id")
    counts = [event.changes["requests_from_address"] for event in throttled]
    # The first refusal (5th request), then each time the excess doubles: 6, 8, 12, 20, 36.
    assert counts == [5, 6, 8, 12, 20, 36]
    assert all(event.client_address == ADDRESS_A for event in throttled)


def test_the_count_holds_no_address_or_email_and_forgets_ended_windows(client, settings):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    settings.SNS_PASSWORD_LINK_ADDRESS_LIMIT = 1
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert ask(client, "a@example.gov.uk").status_code == 302
        assert ask(client, "b@example.gov.uk").status_code == 429
        keys = " ".join(RequestTally.objects.values_list("key", flat=True))
        assert ADDRESS_A not in keys and "example.gov.uk" not in keys
        traveller.shift(timedelta(minutes=16))
        assert ask(client, "c@example.gov.uk").status_code == 302
