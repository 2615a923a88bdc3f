"""Signed checkpoints of the audit chain, kept outside the database.

A beat task (`audit.checkpoint_write`) appends one line per run to a file in
`AUDIT_CHECKPOINT_DIR`: how many events the trail holds, the newest one's id and hash, the
time, and an HMAC of those with the chain's key. Whoever can rewrite the database cannot
rewrite these lines (the folder is out of the database login's reach, append-only in
production), and cannot sign a forged one without the key. `verify_audit` walks the chain
against them, so a trail cut short, or rebuilt, after a checkpoint is reported. Each line
is also logged (logger `audit.checkpoints`), which a deployment may send to syslog.
"""

import hashlib
import hmac
import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections, router
from django.utils import timezone

from .models import AuditChainHead, AuditEvent
from .services import GENESIS_HASH, chain_key

logger = logging.getLogger("audit.checkpoints")

# Keeps a checkpoint's MAC apart from any event hash made with the same key.
MAC_CONTEXT = b"sns-audit-checkpoint\n"


@dataclass(frozen=True)
class Checkpoint:
    at: str
    events: int
    last_id: int
    head_hash: str

    def describe(self) -> str:
        return f"the checkpoint of {self.at} ({self.events} events up to event {self.last_id})"


def checkpoint_mac(checkpoint: Checkpoint) -> str:
    canonical = json.dumps(asdict(checkpoint), sort_keys=True, separators=(",", ":"))
    return hmac.new(chain_key(), MAC_CONTEXT + canonical.encode(), hashlib.sha256).hexdigest()


def checkpoint_path(*, folder: Path | None = None) -> Path:
    """One file per database, so the demo's and the benchmark's trails keep apart."""
    name = str(connections[router.db_for_read(AuditEvent)].settings_dict["NAME"])
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).name) or "default"
    return Path(folder or settings.AUDIT_CHECKPOINT_DIR) / f"{slug}.checkpoints.jsonl"


def audit_checkpoint_write(*, folder: Path | None = None) -> Checkpoint:
    """Append a signed checkpoint of the trail as it stands.

    No lock: the head is read first, and every event up to the id it names committed with
    it (appends hold the head's row lock until commit), so the count agrees with it."""
    head = AuditChainHead.objects.filter(pk=1).values("last_id", "last_hash").first()
    last_id, head_hash = (head["last_id"], head["last_hash"]) if head else (0, GENESIS_HASH)
    checkpoint = Checkpoint(
        at=timezone.now().isoformat(timespec="seconds"),
        events=AuditEvent.objects.filter(id__lte=last_id).count(),
        last_id=last_id,
        head_hash=head_hash,
    )
    line = json.dumps({**asdict(checkpoint), "mac": checkpoint_mac(checkpoint)}, sort_keys=True)
    path = checkpoint_path(folder=folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Append mode only: the file may be append-only (`chattr +a`) in production.
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")
        file.flush()
        os.fsync(file.fileno())
    logger.info("audit checkpoint %s", line)
    return checkpoint


def audit_checkpoints_read(*, folder: Path | None = None) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints whose signature holds, and a problem for each line that does not (a
    line nobody with the key wrote)."""
    path = checkpoint_path(folder=folder)
    if not path.exists():
        return [], []
    checkpoints, problems = [], []
    with path.open(encoding="utf-8") as file:
        for number, text in enumerate(file, start=1):
            if not text.strip():
                continue
            try:
                fields = json.loads(text)
                mac = fields.pop("mac")
                checkpoint = Checkpoint(
                    at=str(fields["at"]),
                    events=int(fields["events"]),
                    last_id=int(fields["last_id"]),
                    head_hash=str(fields["head_hash"]),
                )
            except (ValueError, TypeError, KeyError, AttributeError):
                problems.append(f"{path.name} line {number} is not a checkpoint")
                continue
            if not isinstance(mac, str) or not hmac.compare_digest(mac, checkpoint_mac(checkpoint)):
                problems.append(f"{path.name} line {number} is not signed with the audit key")
                continue
            checkpoints.append(checkpoint)
    return checkpoints, problems


def audit_checkpoints_retire(*, folder: Path | None = None) -> Path | None:
    """Move this database's checkpoints aside, for a loader that empties the trail on
    purpose (the benchmark's `--reset`, on a benchmark database only). Returns where they
    went, or None when there were none."""
    path = checkpoint_path(folder=folder)
    if not path.exists():
        return None
    retired = path.with_name(f"{path.name}.retired-{timezone.now():%Y%m%dT%H%M%S%f}")
    path.rename(retired)
    return retired
