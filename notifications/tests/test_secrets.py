"""The outbox's sealed live values (`notifications.secrets`): AES-GCM under a key derived from
`SECRET_KEY`, opened only whole and unaltered, and a value sealed in the format before
(`s1:`) still opened, so that an email queued before a deploy goes out with its link."""

import base64

import pytest
from django.core import mail

from approvals.tests.factories import requester_and_director, submitted_case
from notifications.models import OutboundEmail
from notifications.secrets import SealBroken, secrets_open, secrets_seal
from notifications.services import outbound_email_send
from people.models import Role
from people.tests.factories import UserFactory

LINK = "https://portal.example/approvals/decide/" + "k7Qz" * 10 + "abc/"
KEY = "outbox-test-key-" + "s" * 40

# Sealed by the `s1:` code (HMAC-SHA-256 keystream, then an HMAC-SHA-256 tag) under
# OLD_FORMAT_KEY, kept as the bytes a row holds: the code that wrote it no longer exists.
OLD_FORMAT_KEY = "old-format-test-key-" + "q" * 40
OLD_FORMAT_LINK = "https://portal.example/approvals/decide/OLDs1" + "T" * 38 + "/"
OLD_FORMAT = (
    "s1:REtJhHInIlVSncCHvv_C9cNe_qkAMlnSRYwstwIPUrJMS0s2vYN8HX85rWFYdSnRbI5KpwxIB-5qu6ctLH89QG"
    "OgLzMM1L0vakrfIf6fpjnNFbltwYWeK8aPAYwVDwJcB0rci1nWjP7i5F3PAeeMGU6on-PiTaLw8gFRkdf2uQ630t"
    "DCtP7ulWukO8WKC1o="
)


@pytest.fixture(autouse=True)
def _one_key(settings):
    settings.SECRET_KEY = KEY
    settings.SECRET_KEY_FALLBACKS = []


def raw(sealed: str) -> bytes:
    return base64.urlsafe_b64decode(sealed[3:])


def wrapped(version: str, data: bytes) -> str:
    return version + base64.urlsafe_b64encode(data).decode()


def test_a_sealed_link_opens_and_shows_nothing_of_itself():
    sealed = secrets_seal({"link": LINK})
    assert sealed.startswith("s2:")
    assert secrets_open(sealed) == {"link": LINK}
    token = LINK.split("/")[-2]
    assert token not in sealed and token[:8] not in sealed
    assert "k7Qz" not in base64.urlsafe_b64decode(sealed[3:]).decode("latin-1")
    # A fresh nonce each time: the same link sealed twice looks unrelated.
    again = secrets_seal({"link": LINK})
    assert again != sealed and raw(again)[:12] != raw(sealed)[:12]


@pytest.mark.parametrize("where", ["nonce", "ciphertext", "tag"])
def test_a_value_altered_anywhere_does_not_open(where):
    data = bytearray(raw(secrets_seal({"link": LINK})))
    position = {"nonce": 0, "ciphertext": 12 + 5, "tag": len(data) - 1}[where]
    data[position] ^= 0x01
    with pytest.raises(SealBroken):
        secrets_open(wrapped("s2:", bytes(data)))


def test_a_value_cut_short_or_extended_does_not_open():
    data = raw(secrets_seal({"link": LINK}))
    for length in (0, 1, 11, 12, 27, 28, len(data) - 16, len(data) - 1):
        with pytest.raises(SealBroken):
            secrets_open(wrapped("s2:", data[:length]))
    with pytest.raises(SealBroken):
        secrets_open(wrapped("s2:", data + b"\0"))
    for text in ("", "s2:", "s2:!!!not-base64", "s3:" + wrapped("", data), wrapped("", data)):
        with pytest.raises(SealBroken):
            secrets_open(text)


def test_another_key_does_not_open_it_and_a_fallback_does(settings):
    sealed = secrets_seal({"link": LINK})
    settings.SECRET_KEY = "another-key-" + "x" * 40
    with pytest.raises(SealBroken):
        secrets_open(sealed)
    settings.SECRET_KEY_FALLBACKS = [KEY]  # rotated: what waits in the outbox still opens
    assert secrets_open(sealed) == {"link": LINK}
    assert secrets_open(secrets_seal({"link": LINK})) == {"link": LINK}


def test_a_value_sealed_in_the_format_before_still_opens(settings):
    settings.SECRET_KEY = OLD_FORMAT_KEY
    assert secrets_open(OLD_FORMAT) == {"link": OLD_FORMAT_LINK}
    # Fresh values are written in the current format only.
    assert secrets_seal({"link": OLD_FORMAT_LINK}).startswith("s2:")


def test_a_value_in_the_format_before_is_checked_as_strictly(settings):
    settings.SECRET_KEY = OLD_FORMAT_KEY
    data = raw(OLD_FORMAT)
    for position in (0, 16 + 3, len(data) - 1):  # nonce, ciphertext, tag
        altered = bytearray(data)
        altered[position] ^= 0x01
        with pytest.raises(SealBroken):
            secrets_open(wrapped("s1:", bytes(altered)))
    for length in (0, 47, len(data) - 1):
        with pytest.raises(SealBroken):
            secrets_open(wrapped("s1:", data[:length]))
    with pytest.raises(SealBroken):  # nor read as the current format
        secrets_open(wrapped("s2:", data))
    settings.SECRET_KEY = KEY
    with pytest.raises(SealBroken):
        secrets_open(OLD_FORMAT)
    settings.SECRET_KEY_FALLBACKS = [OLD_FORMAT_KEY]
    assert secrets_open(OLD_FORMAT) == {"link": OLD_FORMAT_LINK}


@pytest.mark.django_db
def test_an_email_queued_before_the_format_changed_goes_out_with_its_link(settings):
    settings.SECRET_KEY = OLD_FORMAT_KEY
    UserFactory(role=Role.ADMIN)
    requester, director = requester_and_director()
    submitted_case(requester=requester)
    email = OutboundEmail.objects.get(template="approval_request")
    # The row as the code before wrote it: its link sealed in the `s1:` format.
    OutboundEmail.objects.filter(pk=email.pk).update(secret=OLD_FORMAT)

    outbound_email_send(email_id=email.pk)

    [sent] = [m for m in mail.outbox if m.to == [director.email]]
    assert OLD_FORMAT_LINK in sent.body
    assert OLD_FORMAT_LINK in sent.alternatives[0].content
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert email.secret is None  # wiped once sent
    assert "OLDs1" + "T" * 10 not in email.body_text + email.body_html
    assert "/approvals/decide/OLDs…/" in email.body_text
