"""An auditor may verify the trail while the portal keeps appending to it."""

import threading

import pytest
from django.db import connections, transaction

from audit.models import AuditEvent
from audit.services import SystemActor, audit_chain_verify, record


def _append_until(stop: threading.Event, appended: list[int]) -> None:
    try:
        while not stop.is_set():
            with transaction.atomic():
                record(actor=SystemActor("sweep"), action="test.appended_meanwhile")
            appended.append(1)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_a_trail_verified_while_events_are_appended_verifies():
    """Events appended (with their head) while the trail is walked are the next
    verification's; they do not read as a trail whose newest events were cut off."""
    for n in range(50):
        record(actor=SystemActor("sweep"), action=f"test.before_{n}")
    stop, appended = threading.Event(), []
    writer = threading.Thread(target=_append_until, args=(stop, appended))
    writer.start()
    results = []
    try:
        # Walks go on until the writer has appended meanwhile: on a loaded machine the two
        # threads share the interpreter unevenly, so a fixed number of walks may overlap few
        # appends. The bound only stops a writer that never gets to run.
        while (len(results) < 40 or len(appended) < 20) and len(results) < 2000:
            results.append(audit_chain_verify(workers=1, chunk_size=10))
    finally:
        stop.set()
        writer.join()
    assert len(appended) >= 20, "the writer appended too little to overlap the walks"
    assert [chain_break for _checked, chain_break in results if chain_break] == []
    assert results[-1][0] >= 50
    checked, chain_break = audit_chain_verify(workers=1)
    assert chain_break is None
    assert checked == AuditEvent.objects.count()


@pytest.mark.django_db
def test_an_event_written_after_the_head_without_moving_it_is_reported():
    for n in range(3):
        record(actor=SystemActor("sweep"), action=f"test.before_{n}")
    newest = AuditEvent.objects.order_by("-id").first()
    newest.pk = None
    newest.previous_hash = newest.hash
    newest.save()  # a row added beside the chain, the head left where it was
    checked, chain_break = audit_chain_verify(workers=1)
    assert checked == 3
    assert chain_break.event_id == newest.pk
    assert chain_break.reason == "an event after the chain head is not in the chain"
