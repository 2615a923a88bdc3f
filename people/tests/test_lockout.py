"""The sign-in lock-out: one count per email whatever its letter case, limits per client
address and per email, and failed sign-ins in the audit trail as counted events."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from people.tests.factories import TEST_PASSWORD, UserFactory
from people.throttle import worth_recording

pytestmark = pytest.mark.django_db

DANA = "dana.director@example.gov.uk"
ADDRESS_A, ADDRESS_B, ADDRESS_C = "192.0.2.10", "192.0.2.20", "198.51.100.30"


def sign_in(client, email, password, address=ADDRESS_A):
    return client.post(
        reverse("sign-in"), {"username": email, "password": password}, REMOTE_ADDR=address
    )


def signed_in_as(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def test_letter_case_variants_of_one_email_share_one_count():
    dana = UserFactory(email=DANA)
    from django.test import Client

    client = Client()
    variants = [
        "Dana.Director@example.gov.uk",
        "dana.DIRECTOR@example.gov.uk",
        "DANA.DIRECTOR@EXAMPLE.GOV.UK",
        " dana.director@Example.Gov.Uk ",
        "dAnA.dIrEcToR@example.gov.uk",
    ]
    for variant in variants[:4]:
        assert sign_in(client, variant, "wrong-password").status_code == 200
    assert sign_in(client, variants[4], "wrong-password").status_code == 429
    # The right password, in a sixth letter case, does not get past the lock nor clear it.
    assert sign_in(client, "Dana.director@EXAMPLE.gov.uk", TEST_PASSWORD).status_code == 429
    assert not signed_in_as(client, dana)
    assert sign_in(client, DANA, TEST_PASSWORD).status_code == 429
    assert not signed_in_as(client, dana)


def test_a_lock_is_per_email_and_address_so_the_person_can_sign_in_elsewhere(client):
    dana = UserFactory(email=DANA)
    for _ in range(5):
        sign_in(client, DANA, "wrong-password", ADDRESS_A)
    assert sign_in(client, DANA, TEST_PASSWORD, ADDRESS_A).status_code == 429
    assert sign_in(client, DANA, TEST_PASSWORD, ADDRESS_B).status_code == 302
    assert signed_in_as(client, dana)


def test_one_address_trying_many_emails_is_locked_out_at_the_address_limit(client, settings):
    settings.SNS_SIGNIN_ADDRESS_FAILURE_LIMIT = 8
    someone = UserFactory()
    for number in range(7):
        response = sign_in(client, f"guess{number}@example.gov.uk", "wrong", ADDRESS_A)
        assert response.status_code == 200
    assert sign_in(client, "guess7@example.gov.uk", "wrong", ADDRESS_A).status_code == 429
    # Every sign-in from that address is refused now, even a right one for a fresh email...
    assert sign_in(client, someone.email, TEST_PASSWORD, ADDRESS_A).status_code == 429
    assert not signed_in_as(client, someone)
    # ...and from another address the same person signs in.
    assert sign_in(client, someone.email, TEST_PASSWORD, ADDRESS_B).status_code == 302


def test_many_addresses_trying_one_email_are_locked_out_at_the_email_limit(client, settings):
    settings.SNS_SIGNIN_EMAIL_FAILURE_LIMIT = 6
    dana = UserFactory(email=DANA)
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        for _ in range(2):
            sign_in(client, DANA, "wrong-password", address)
    assert sign_in(client, DANA, TEST_PASSWORD, ADDRESS_C).status_code == 429
    assert not signed_in_as(client, dana)


def test_signing_in_to_ones_own_account_does_not_clear_the_addresss_count(client, settings):
    settings.SNS_SIGNIN_ADDRESS_FAILURE_LIMIT = 6
    mallory = UserFactory()
    for number in range(5):
        sign_in(client, f"victim{number}@example.gov.uk", "guess", ADDRESS_A)
    assert sign_in(client, mallory.email, TEST_PASSWORD, ADDRESS_A).status_code == 302
    client.post(reverse("sign-out"))
    assert sign_in(client, "victim9@example.gov.uk", "guess", ADDRESS_A).status_code == 429


def test_a_correct_sign_in_forgets_that_email_and_addresss_own_failures(client):
    dana = UserFactory(email=DANA)
    for _ in range(4):
        sign_in(client, "Dana.Director@example.gov.uk", "wrong-password")
    assert sign_in(client, DANA, TEST_PASSWORD).status_code == 302
    client.post(reverse("sign-out"))
    for _ in range(4):
        assert sign_in(client, DANA, "wrong-password").status_code == 200
    assert sign_in(client, DANA, TEST_PASSWORD).status_code == 302
    assert signed_in_as(client, dana)


def test_the_admin_sign_in_shares_the_count():
    from django.test import Client

    UserFactory(email=DANA)
    client = Client()
    for _ in range(3):
        sign_in(client, "DANA.director@example.gov.uk", "wrong-password")
    for _ in range(2):
        client.post(
            "/admin/login/",
            {"username": "Dana.DIRECTOR@example.gov.uk", "password": "wrong"},
            REMOTE_ADDR=ADDRESS_A,
        )
    assert sign_in(client, DANA, TEST_PASSWORD).status_code == 429


def test_a_flood_of_failures_is_recorded_as_a_few_counted_events(client):
    UserFactory(email=DANA)
    for number in range(40):
        sign_in(client, DANA if number % 2 else DANA.upper(), "wrong-password")
    events = list(AuditEvent.objects.filter(action="auth.sign_in_failed").order_by("id"))
    # Each of the first five (the lock-out's limit) as it happened, then the 8th, 16th, 32nd.
    assert [event.changes["failures"] for event in events] == [1, 2, 3, 4, 5, 8, 16, 32]
    assert all(event.changes["email"] == DANA for event in events)
    assert all(event.client_address == ADDRESS_A for event in events)
    assert [event.changes["locked_out"] for event in events] == [False] * 4 + [True] * 4
    assert events[-1].changes["failures_from_address"] == 32
    assert events[-1].changes["failures_for_email"] == 32


def test_a_spray_from_one_address_is_recorded_by_the_addresss_count(client, settings):
    settings.SNS_SIGNIN_ADDRESS_FAILURE_LIMIT = 4
    for number in range(20):
        sign_in(client, f"guess{number}@example.gov.uk", "wrong")
    counts = [
        event.changes["failures_from_address"]
        for event in AuditEvent.objects.filter(action="auth.sign_in_failed").order_by("id")
    ]
    assert counts == [1, 2, 3, 4, 8, 16]


@pytest.mark.parametrize(
    ("count", "limit", "recorded"),
    [(1, 5, True), (5, 5, True), (6, 5, False), (7, 5, False), (8, 5, True), (12, 5, False)],
)
def test_which_failures_are_worth_recording(count, limit, recorded):
    assert worth_recording(count, limit) is recorded
