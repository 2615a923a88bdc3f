"""Reads the demo outbox folder (Django's file-based email backend) for the demo page."""

import email
import email.policy
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

SEPARATOR = "-" * 79


@dataclass(frozen=True)
class SentEmail:
    to: str
    subject: str
    date: str
    body: str


def demo_sent_emails(*, limit: int = 50) -> list[SentEmail]:
    folder = Path(settings.EMAIL_FILE_PATH)
    if not folder.is_dir():
        return []
    found: list[tuple[float, SentEmail]] = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
        for chunk in path.read_text(encoding="utf-8", errors="replace").split(SEPARATOR):
            if not chunk.strip():
                continue
            message = email.message_from_string(chunk.lstrip("\n"), policy=email.policy.default)
            part = message.get_body(preferencelist=("plain",))
            body = part.get_content() if part is not None else ""
            found.append(
                (
                    path.stat().st_mtime,
                    SentEmail(
                        to=str(message.get("To", "")),
                        subject=str(message.get("Subject", "")),
                        date=str(message.get("Date", "")),
                        body=body,
                    ),
                )
            )
        if len(found) >= limit:
            break
    return [sent for _, sent in found[:limit]]
