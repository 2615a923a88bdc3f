"""The live values an email carries (a decision link, a password link), kept apart from its
stored context and bodies.

Why a sealed column, and not a token issued by the sender: the approval link's token is
known only as its digest once written, and issuing it at send time would make the outbox
(which sits below approvals) call back into approvals and change an approval request from
the sender, outside the transaction that routed it. Instead the caller hands its live values
to the outbox as `secrets`; the row keeps them sealed (encrypted and authenticated with a
key derived from `SECRET_KEY`, so whoever reads the database or the admin without the
application's secrets learns nothing), the sender unseals them to send, and the column is
wiped once the email is sent or given up. A retry still has them; a dedupe key still
decides whether the row is written at all. The subject and bodies that are stored show each
value masked (`secret_mask`).

The seal is AES-256-GCM from `cryptography` (one authenticated encryption, with a random
96-bit nonce per value), under a key derived from `SECRET_KEY` with HKDF-SHA-256 and a label
of its own, so the key serves nothing else that `SECRET_KEY` keys. `SECRET_KEY_FALLBACKS`
still open what the previous key sealed, so a key rotation does not strand the emails
waiting to go out.

Each sealed value starts with its format: `s2:` is AES-GCM. `s1:` is the format sealed before
(an HMAC-SHA-256 keystream in counter mode, then HMAC-SHA-256 over nonce and ciphertext with a
second key): it is only opened, never written, so that an email queued before a deploy, or
by a worker still running the code before it, goes out with its link. A row's secret is wiped
once its email is sent or given up, so `s1:` rows are gone within the outbox's retries; the
opener can go once `OutboundEmail.objects.filter(secret__startswith="s1:")` is empty.
"""

import base64
import functools
import hmac
import json
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

VERSION = "s2:"
NONCE_BYTES = 12
TAG_BYTES = 16
# Bound into every tag: a value sealed for something else under the same key does not open.
ASSOCIATED = b"sns-outbox-secrets:s2"

S1_VERSION = "s1:"
S1_NONCE_BYTES = 16
S1_TAG_BYTES = 32


class SealBroken(ValueError):
    """A sealed value that no current or fallback key opens (altered, or sealed elsewhere)."""


@functools.lru_cache(maxsize=8)
def _cipher(secret_key: str) -> AESGCM:
    # Derived once per key: a sweep seals a link into every one of thousands of emails.
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"sns-outbox-secrets:aes-256-gcm"
    )
    return AESGCM(hkdf.derive(secret_key.encode()))


def _secret_keys() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def secrets_seal(values: dict[str, str]) -> str:
    """`values` (names to strings) sealed with the current `SECRET_KEY`, as text."""
    plain = json.dumps(values, separators=(",", ":")).encode()
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(settings.SECRET_KEY).encrypt(nonce, plain, ASSOCIATED)
    return VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()


def _unwrap(sealed: str, version: str, minimum: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(sealed[len(version) :].encode())
    except ValueError as exc:
        raise SealBroken("not a sealed value") from exc
    if len(raw) < minimum:
        raise SealBroken("too short")
    return raw


def secrets_open(sealed: str) -> dict[str, str]:
    """The values `secrets_seal` sealed; `SealBroken` if no key opens them."""
    if sealed.startswith(S1_VERSION):
        return _s1_open(_unwrap(sealed, S1_VERSION, S1_NONCE_BYTES + S1_TAG_BYTES))
    if not sealed.startswith(VERSION):
        raise SealBroken("not a sealed value")
    raw = _unwrap(sealed, VERSION, NONCE_BYTES + TAG_BYTES)
    nonce, cipher = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    for secret_key in _secret_keys():
        try:
            plain = _cipher(secret_key).decrypt(nonce, cipher, ASSOCIATED)
        except InvalidTag:
            continue
        return json.loads(plain)
    raise SealBroken("no key opens it")


@functools.lru_cache(maxsize=8)
def _s1_keys(secret_key: str) -> tuple[bytes, bytes]:
    root = secret_key.encode()
    encrypt = hmac.digest(root, b"sns-outbox-secrets:encrypt", "sha256")
    authenticate = hmac.digest(root, b"sns-outbox-secrets:authenticate", "sha256")
    return encrypt, authenticate


def _s1_open(raw: bytes) -> dict[str, str]:
    """An `s1:` value's plain text: its tag checked first (encrypt-then-MAC), then its
    keystream (HMAC-SHA-256 over nonce and a 4-byte counter, 32 bytes a block) removed."""
    nonce, cipher = raw[:S1_NONCE_BYTES], raw[S1_NONCE_BYTES:-S1_TAG_BYTES]
    tag = raw[-S1_TAG_BYTES:]
    for secret_key in _secret_keys():
        encrypt, authenticate = _s1_keys(secret_key)
        if hmac.compare_digest(hmac.digest(authenticate, nonce + cipher, "sha256"), tag):
            stream = b"".join(
                hmac.digest(encrypt, nonce + counter.to_bytes(4, "big"), "sha256")
                for counter in range((len(cipher) + 31) // 32)
            )
            return json.loads(bytes(c ^ k for c, k in zip(cipher, stream, strict=False)))
    raise SealBroken("no key opens it")


# A path segment this long in a link is a token (a decision link's is 43 characters, a
# password link's about 40); shorter ones are the link's fixed parts and ids.
TOKEN_MIN_LENGTH = 16
SHOWN = 4


def secret_mask(value: str) -> str:
    """What a stored email shows instead of a live value: a link keeps its address with each
    token cut to its first characters (`…/decide/abc1…/`), anything else its first
    characters only."""
    if "://" not in value:
        return value[:SHOWN] + "…"
    return "/".join(
        segment[:SHOWN] + "…" if len(segment) >= TOKEN_MIN_LENGTH else segment
        for segment in value.split("/")
    )


# The portal's own token-bearing paths, for the request logs: the decision link
# (`/approvals/decide/<token>/`) and the password link (`/password/reset/<uid>/<token>/`).
TOKEN_PATHS = re.compile(
    r"(?P<head>/approvals/decide/|/password/reset/[^/\s?#\"']+/)(?!set-password/)"
    rf"(?P<shown>[^/\s?#\"']{{1,{SHOWN}}})[^/\s?#\"']*"
)


def token_paths_mask(text: str) -> str:
    """`text` (a log line) with the token of every decision or password link cut short."""
    return TOKEN_PATHS.sub(r"\g<head>\g<shown>…", text)
