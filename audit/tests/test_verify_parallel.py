"""`verify_audit`'s check on several processes, started from a process that runs threads.

The caller may be a test worker with a live server and a browser driver's connection, or a
shell with a logging thread: some thread may hold a lock at the moment the processes start.
A forked process copies every lock as it was, held by a thread that does not exist in the
copy; the processes start from a fresh interpreter instead, with what they need passed to
them, so nothing the caller's threads hold stops them.
"""

import logging
import threading

import pytest
from django.test import override_settings

from audit.services import GENESIS_HASH, NewEvent, SystemActor, record_many
from audit.verify_parallel import audit_chain_verify_parallel

pytestmark = pytest.mark.django_db(transaction=True)

# Long enough for two processes to start on a loaded machine; a check that waits for the
# thread's lock instead finishes only after the thread lets go, and fails.
HOLD_SECONDS = 60


def verify() -> int | None:
    return audit_chain_verify_parallel(
        checkpoints=[], cleared_up_to=0, workers=2, chunk_size=7, genesis=GENESIS_HASH
    )


def test_the_check_finishes_while_another_thread_holds_loggings_lock():
    record_many(
        actor=SystemActor("test"),
        events=[NewEvent(action="test.many", object_repr=f"e{n}") for n in range(30)],
    )
    taken, finished = threading.Event(), threading.Event()
    outcome = {}

    def hold_the_logging_lock():
        # What any thread does while it configures logging or creates a logger: a fork
        # waits for this lock (logging takes it around every fork) and its copy holds it.
        with logging._lock:
            taken.set()
            outcome["let_go_before_the_check_finished"] = not finished.wait(HOLD_SECONDS)

    holder = threading.Thread(target=hold_the_logging_lock, daemon=True)
    holder.start()
    assert taken.wait(10)
    try:
        checked = verify()
    finally:
        finished.set()
        holder.join()
    assert checked == 30
    assert outcome == {"let_go_before_the_check_finished": False}


@override_settings(AUDIT_CHAIN_KEY="another-chain-key-" + "k" * 40)
def test_the_processes_check_with_the_callers_settings_and_database():
    """A trail written under a key a test set verifies: the processes take the caller's key
    and test database, not what the settings module and the environment would give them
    (the portal's key, the database the tests were started with)."""
    record_many(
        actor=SystemActor("test"),
        events=[NewEvent(action="test.many", object_repr=f"e{n}") for n in range(30)],
    )
    assert verify() == 30


def test_the_check_runs_from_a_main_module_that_sets_django_up_when_imported(tmp_path):
    """Each fresh process imports the caller's main module again (`python -m bench.run
    verify-worker` sets Django up at import): the processes still start and check the trail
    in the database the caller reads."""
    import subprocess
    import sys

    from conftest import ROOT, worker_env

    record_many(
        actor=SystemActor("test"),
        events=[NewEvent(action="test.many", object_repr=f"e{n}") for n in range(30)],
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "audit.tests.verify_from_a_main_module"],
        cwd=ROOT,
        env={**worker_env(tmp_path), "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.strip().splitlines()[-1:] == ["checked 30"], result.stderr[-2000:]
