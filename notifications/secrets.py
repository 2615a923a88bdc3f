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

The seal uses only the standard library: a keystream of HMAC-SHA-256 blocks over a random
nonce and a counter (a PRF in counter mode), then HMAC-SHA-256 over nonce and ciphertext
with a second derived key (encrypt-then-MAC). `SECRET_KEY_FALLBACKS` still open what the
previous key sealed, so a key rotation does not strand the emails waiting to go out.
"""

import base64
import functools
import hmac
import json
import os
import re

from django.conf import settings

VERSION = "s1:"
NONCE_BYTES = 16
TAG_BYTES = 32


class SealBroken(ValueError):
    """A sealed value that no current or fallback key opens (altered, or sealed elsewhere)."""


@functools.lru_cache(maxsize=8)
def _keys(secret_key: str) -> tuple[bytes, bytes]:
    # Derived once per key: a sweep seals a link into every one of thousands of emails.
    root = secret_key.encode()
    encrypt = hmac.digest(root, b"sns-outbox-secrets:encrypt", "sha256")
    authenticate = hmac.digest(root, b"sns-outbox-secrets:authenticate", "sha256")
    return encrypt, authenticate


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = [
        hmac.digest(key, nonce + counter.to_bytes(4, "big"), "sha256")
        for counter in range((length + 31) // 32)
    ]
    return b"".join(blocks)[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    # As integers: one operation for the whole text, not one per byte.
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def secrets_seal(values: dict[str, str]) -> str:
    """`values` (names to strings) sealed with the current `SECRET_KEY`, as text."""
    plain = json.dumps(values, separators=(",", ":")).encode()
    encrypt, authenticate = _keys(settings.SECRET_KEY)
    nonce = os.urandom(NONCE_BYTES)
    cipher = _xor(plain, _keystream(encrypt, nonce, len(plain)))
    tag = hmac.digest(authenticate, nonce + cipher, "sha256")
    return VERSION + base64.urlsafe_b64encode(nonce + cipher + tag).decode()


def secrets_open(sealed: str) -> dict[str, str]:
    """The values `secrets_seal` sealed; `SealBroken` if no key opens them."""
    try:
        if not sealed.startswith(VERSION):
            raise ValueError("unknown version")
        raw = base64.urlsafe_b64decode(sealed[len(VERSION) :].encode())
    except ValueError as exc:
        raise SealBroken("not a sealed value") from exc
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise SealBroken("too short")
    nonce, cipher, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    for secret_key in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        encrypt, authenticate = _keys(secret_key)
        expected = hmac.digest(authenticate, nonce + cipher, "sha256")
        if hmac.compare_digest(expected, tag):
            return json.loads(_xor(cipher, _keystream(encrypt, nonce, len(cipher))))
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
