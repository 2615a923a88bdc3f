"""The demo's **Sent emails** page: reads the demo outbox folder (Django's file-based email
backend), where `make run` writes mail instead of sending it.

The page shows password links to anyone who opens it (that is how a person from
`import_staff` gets a password in the demo), so it exists only where all three hold: DEBUG
is on, mail goes to the folder (no `EMAIL_HOST`), and `SNS_DEMO_SENT_EMAILS` asks for it
(`make run` sets it). A staging box with DEBUG on and no mail server does not show it.
"""

import email
import email.policy
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

SEPARATOR = b"-" * 79


def demo_sent_emails_page_enabled() -> bool:
    return bool(settings.DEBUG and settings.DEMO_OUTBOX and settings.SNS_DEMO_SENT_EMAILS)


@dataclass(frozen=True)
class Piece:
    """A stretch of an email's text; `link` is set for the portal's own addresses only."""

    text: str
    link: bool = False


@dataclass(frozen=True)
class SentEmail:
    to: str
    subject: str
    date: str
    body: str

    def pieces(self) -> list[Piece]:
        """The body as text, with the portal's own addresses as links: an address or URL
        someone typed into an answer stays text."""
        return body_pieces(self.body)


def body_pieces(body: str) -> list[Piece]:
    own = re.compile(re.escape(settings.PORTAL_BASE_URL.rstrip("/")) + r"(?:/[^\s<>\"']*)?")
    pieces, start = [], 0
    for match in own.finditer(body):
        if match.start() > start:
            pieces.append(Piece(body[start : match.start()]))
        pieces.append(Piece(match.group(0), link=True))
        start = match.end()
    if start < len(body):
        pieces.append(Piece(body[start:]))
    return pieces


def demo_sent_emails(*, limit: int = 50) -> list[SentEmail]:
    folder = Path(settings.EMAIL_FILE_PATH)
    if not folder.is_dir():
        return []
    found: list[SentEmail] = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
        # Parsed as bytes: each part is decoded by its own charset (a name in UTF-8 8-bit
        # text, or quoted-printable, or base64), not guessed from the file as a whole.
        for chunk in path.read_bytes().split(SEPARATOR):
            if not chunk.strip():
                continue
            message = email.message_from_bytes(chunk.lstrip(b"\r\n"), policy=email.policy.default)
            part = message.get_body(preferencelist=("plain",))
            found.append(
                SentEmail(
                    to=str(message.get("To", "")),
                    subject=str(message.get("Subject", "")),
                    date=str(message.get("Date", "")),
                    body=part.get_content() if part is not None else "",
                )
            )
        if len(found) >= limit:
            break
    return found[:limit]
