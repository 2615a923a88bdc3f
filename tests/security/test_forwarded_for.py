"""X-Forwarded-For: read only from the configured number of trusted proxies, as an IP
address; a forged or malformed header never changes the client address or causes an error."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from audit.models import AuditEvent
from core.client import client_address
from people.tests.factories import TEST_PASSWORD, UserFactory

PROXY = "10.0.0.5"
MALFORMED = [
    "not-an-ip",
    "203.0.113.9:443",
    "[2001:db8::1]",
    "203.0.113.999",
    ",,, ,",
    "",
    "\x00",
    "203.0.113.9\r\nX-Evil: 1",
    "unknown",
    "a" * 5000,
    "203.0.113.9 198.51.100.1",
]


def address_of(forwarded: str | None, remote=PROXY) -> str | None:
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **meta))


def test_without_a_trusted_proxy_the_header_is_ignored(settings):
    settings.SNS_TRUSTED_PROXIES = 0
    assert address_of("203.0.113.9") == PROXY
    assert address_of("203.0.113.9, 198.51.100.1") == PROXY


def test_behind_one_proxy_the_rightmost_entry_is_the_client(settings):
    settings.SNS_TRUSTED_PROXIES = 1
    assert address_of("203.0.113.9") == "203.0.113.9"
    # A client that sends its own header gets the proxy's entry appended after it.
    assert address_of("1.2.3.4, 203.0.113.9") == "203.0.113.9"
    assert address_of("2001:DB8::0:1") == "2001:db8::1"
    assert address_of(None) == PROXY


def test_behind_two_proxies_the_second_entry_from_the_right_is_the_client(settings):
    settings.SNS_TRUSTED_PROXIES = 2
    assert address_of("1.2.3.4, 203.0.113.9, 10.0.0.4") == "203.0.113.9"
    # Fewer entries than proxies: the header did not come through both; it is not used.
    assert address_of("203.0.113.9") == PROXY


@pytest.mark.parametrize("proxies", [0, 1, 2])
@pytest.mark.parametrize("forwarded", MALFORMED)
def test_a_malformed_header_leaves_the_connections_address(settings, proxies, forwarded):
    settings.SNS_TRUSTED_PROXIES = proxies
    assert address_of(forwarded) == PROXY
    assert address_of(f"{forwarded}, {forwarded}") == PROXY


def test_a_connection_address_that_is_not_an_ip_is_no_address(settings):
    settings.SNS_TRUSTED_PROXIES = 0
    assert address_of(None, remote="") is None
    assert address_of(None, remote="unix:/run/gunicorn.sock") is None


@hypothesis_settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.text(max_size=200), proxies=st.integers(min_value=0, max_value=3))
def test_any_header_gives_the_connections_address_or_a_real_ip(settings, header, proxies):
    import ipaddress

    settings.SNS_TRUSTED_PROXIES = proxies
    address = address_of(header)
    if address != PROXY:
        assert proxies > 0
        assert str(ipaddress.ip_address(address)) == address


# --- through the sign-in page ----------------------------------------------------------------


def sign_in(client, email, password, forwarded):
    return client.post(
        reverse("sign-in"),
        {"username": email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
def test_forged_headers_without_a_trusted_proxy_get_no_fresh_tries(settings):
    settings.SNS_TRUSTED_PROXIES = 0
    person = UserFactory()
    client = Client()
    for number in range(5):
        sign_in(client, person.email, "wrong-password", f"203.0.113.{number}")
    assert sign_in(client, person.email, TEST_PASSWORD, "198.51.100.77").status_code == 429
    addresses = set(
        AuditEvent.objects.filter(action="auth.sign_in_failed").values_list(
            "client_address", flat=True
        )
    )
    assert addresses == {PROXY}


@pytest.mark.django_db
def test_behind_a_proxy_a_forged_leftmost_entry_gets_no_fresh_tries(settings):
    settings.SNS_TRUSTED_PROXIES = 1
    person = UserFactory()
    client = Client()
    for number in range(5):
        sign_in(client, person.email, "wrong-password", f"203.0.113.{number}, 198.51.100.7")
    assert sign_in(client, person.email, TEST_PASSWORD, "9.9.9.9, 198.51.100.7").status_code == 429
    # The same person through the proxy from another address is not locked.
    assert sign_in(client, person.email, TEST_PASSWORD, "198.51.100.8").status_code == 302
    failed = AuditEvent.objects.filter(action="auth.sign_in_failed")
    assert set(failed.values_list("client_address", flat=True)) == {"198.51.100.7"}
    signed_in = AuditEvent.objects.get(action="auth.signed_in")
    assert signed_in.client_address == "198.51.100.8"


@pytest.mark.django_db
@pytest.mark.parametrize("forwarded", MALFORMED[:8])
def test_a_malformed_header_on_sign_in_is_no_error_and_records_the_proxy(settings, forwarded):
    settings.SNS_TRUSTED_PROXIES = 1
    person = UserFactory()
    client = Client(raise_request_exception=True)
    assert sign_in(client, person.email, "wrong-password", forwarded).status_code == 200
    assert sign_in(client, person.email, TEST_PASSWORD, forwarded).status_code == 302
    events = AuditEvent.objects.filter(action__in=["auth.sign_in_failed", "auth.signed_in"])
    assert set(events.values_list("client_address", flat=True)) == {PROXY}


@pytest.mark.django_db
def test_the_password_link_page_records_the_same_address(settings):
    settings.SNS_TRUSTED_PROXIES = 1
    client = Client()
    client.post(
        reverse("people:password-reset"),
        {"email": "nobody@example.gov.uk"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.50",
    )
    event = AuditEvent.objects.get(action="people.password_reset_requested")
    assert event.client_address == "203.0.113.50"
