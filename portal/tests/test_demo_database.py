"""`make run`'s own stack: SQLite, kombu's filesystem broker, the demo mail folder.

The suite runs on PostgreSQL, so the SQLite forms of the batched SQL (the outbox INSERT,
the reminders' UPDATE of fresh links, the register's id array, the CSV's site names) would
otherwise go untested; they broke once unnoticed. This test migrates a fresh SQLite
database in a temporary folder, starts a real Celery worker on the filesystem broker (as
`scripts/run_dev.sh` does) and walks a case through it in a child process
(`demo_database_walk.py`): sent, reminded, approved, provisioned, expired, found in the
register and its CSV export.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WALK = Path(__file__).with_name("demo_database_walk.py")


def _demo_env(var_dir: Path) -> dict:
    """The environment `make run` gives its processes, in a folder of the test's own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "EMAIL_HOST"}
    }
    env.update(DEBUG="1", PORTAL_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
    return env


def _run(args: list[str], env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_case_goes_through_the_demo_database_broker_and_mail_folder(tmp_path):
    env = _demo_env(tmp_path)
    migrated = _run(["manage.py", "migrate", "--noinput", "-v0"], env)
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "db.sqlite3").exists()

    worker_log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-l", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        walked = _run([str(WALK)], env)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        worker_log.close()
    worker_says = (tmp_path / "worker.log").read_text()[-3000:]
    assert walked.returncode == 0, f"{walked.stderr[-3000:]}\nworker:\n{worker_says}"
    seen = json.loads(walked.stdout.strip().splitlines()[-1])

    assert seen["vendor"] == "sqlite"
    assert seen["broker"] == "filesystem://"
    assert seen["director"] == "dana.director@example.gov.uk"
    # The worker sent the director's email, then the reminder, into the demo mail folder.
    assert seen["mail_after_submit"] >= 1, worker_says
    assert seen["reminded"] == 1
    assert seen["mail_after_reminder"] > seen["mail_after_submit"], worker_says
    subjects = seen["mail_subjects"]
    assert any(seen["reference"] in subject for subject in subjects), subjects
    assert any("eminder" in subject for subject in subjects), subjects
    # Approved, provisioned, expired by the sweep's batch.
    assert seen["expired"] == 1
    assert seen["grant_status"] == "expired"
    # The safe-use sweep runs on SQLite too, and reminds the active-tier holder once.
    assert seen["safe_use_sent"] == 1
    assert seen["safe_use_emails"] == 1
    # The register's search and its CSV export find the case.
    assert seen["register_status"] == 200
    assert seen["register_shows_case"] is True
    assert seen["csv_status"] == 200
    assert "LinkedIn" in seen["csv_row"]
    assert "Sam" in seen["csv_row"]
    assert seen["audit_trail_status"] == 200
    assert seen["case_file_status"] == 200
    assert seen["case_file_shows_approval"] is True
    # verify_audit checks the demo's trail: the walk's events, chained on SQLite.
    assert "Audit trail intact" in seen["audit_verified"], seen["audit_verified"]
