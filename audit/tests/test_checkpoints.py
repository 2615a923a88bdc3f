"""Signed checkpoints kept outside the database pin the trail: a trail cut short after a
checkpoint, or rebuilt (even by someone with the key) up to one, is reported.

The intruder here holds the table owner's rights: triggers are switched off inside the
test's transaction (`session_replication_role = replica`) as in test_chain.py.
"""

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from audit.checkpoints import audit_checkpoint_write, audit_checkpoints_read, checkpoint_path
from audit.models import AuditEvent
from audit.services import (
    GENESIS_HASH,
    SystemActor,
    audit_chain_verify,
    event_content,
    event_hash,
    record,
)
from audit.tasks import checkpoint_write

pytestmark = pytest.mark.django_db


def _events(n: int) -> list[AuditEvent]:
    return [
        record(actor=SystemActor("test"), action=f"test.step_{i}", changes={"n": i})
        for i in range(n)
    ]


def _sql(statement: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(statement, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def _verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_beat_writes_a_signed_checkpoint_of_the_trail():
    events = _events(3)
    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]["task"] == "audit.checkpoint_write"

    checkpoint_write.delay()

    lines = checkpoint_path().read_text().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert (line["events"], line["last_id"], line["head_hash"]) == (
        3,
        events[-1].id,
        events[-1].hash,
    )
    assert len(line["mac"]) == 64
    checkpoints, problems = audit_checkpoints_read()
    assert problems == [] and len(checkpoints) == 1
    assert "It agrees with the 1 checkpoints" in _verify()


def test_checkpoints_are_appended_never_rewritten():
    audit_checkpoint_write()
    _events(2)
    audit_checkpoint_write()
    checkpoints, _ = audit_checkpoints_read()
    assert [c.events for c in checkpoints] == [0, 2]
    assert audit_chain_verify(checkpoints=checkpoints) == (2, None)


def test_a_trail_cut_short_after_a_checkpoint_is_reported():
    """The owner deletes the newest events and moves the head back: the chain and head agree
    with each other, so only the checkpoint shows what is missing."""
    events = _events(5)
    audit_checkpoint_write()
    _sql("DELETE FROM audit_auditevent WHERE id >= %s", [events[3].id])
    _sql(
        "UPDATE audit_auditchainhead SET last_id = %s, last_hash = %s WHERE id = 1",
        [events[2].id, events[2].hash],
    )
    assert audit_chain_verify() == (3, None)  # without the checkpoints, nothing shows

    checked, chain_break = audit_chain_verify(checkpoints=audit_checkpoints_read()[0])

    assert chain_break.event_id is None
    assert "shorter than the checkpoint" in chain_break.reason
    with pytest.raises(CommandError, match="broken at the end: the trail is shorter"):
        _verify()


def test_a_trail_emptied_after_a_checkpoint_is_reported():
    _events(2)
    audit_checkpoint_write()
    _sql("DELETE FROM audit_auditevent")
    _sql("DELETE FROM audit_auditchainhead")
    with pytest.raises(CommandError, match="shorter than the checkpoint"):
        _verify()


def test_a_trail_rebuilt_with_the_key_differs_from_its_checkpoint():
    """Someone with the database and the key rewrites an event and re-keys the chain: the
    chain verifies, but the checkpoint written before holds the old head hash."""
    events = _events(4)
    audit_checkpoint_write()
    _sql("UPDATE audit_auditevent SET changes = %s WHERE id = %s", ['{"n": 99}', events[1].id])
    previous = GENESIS_HASH
    for event in AuditEvent.objects.order_by("id"):
        digest = event_hash(previous_hash=previous, content=event_content(event))
        _sql(
            "UPDATE audit_auditevent SET previous_hash = %s, hash = %s WHERE id = %s",
            [previous, digest, event.id],
        )
        previous = digest
    _sql("UPDATE audit_auditchainhead SET last_hash = %s WHERE id = 1", [previous])
    assert audit_chain_verify() == (4, None)

    _, chain_break = audit_chain_verify(checkpoints=audit_checkpoints_read()[0])

    assert chain_break.event_id == events[-1].id
    assert "differs from the checkpoint" in chain_break.reason
    with pytest.raises(
        CommandError, match=f"broken at event {events[-1].id}: the trail up to it differs"
    ):
        _verify()


def test_an_event_a_checkpoint_names_that_is_gone_is_reported():
    events = _events(3)
    audit_checkpoint_write()
    record(actor=SystemActor("test"), action="test.later")
    _sql("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].id])
    with pytest.raises(CommandError, match="names is missing"):
        _verify()


def test_a_checkpoint_line_not_signed_with_the_key_is_reported():
    _events(2)
    audit_checkpoint_write()
    path = checkpoint_path()
    line = json.loads(path.read_text())
    line["events"] = 1  # a forger without the key cannot sign the change
    with path.open("a") as file:
        file.write(json.dumps(line) + "\n")
        file.write("not json\n")
    _, problems = audit_checkpoints_read()
    assert problems == [
        f"{path.name} line 2 is not signed with the audit key",
        f"{path.name} line 3 is not a checkpoint",
    ]
    with pytest.raises(CommandError, match="checkpoints tampered with"):
        _verify()
