import json

import pytest
from django.urls import reverse

from monitoring.models import TaskRun
from monitoring.tests.test_metrics import TOKEN, value
from notifications.models import OutboundEmail
from people.tests.factories import UserFactory


@pytest.fixture
def log_format_json(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")  # read by the worker the next fixture starts


@pytest.fixture
def json_logging_worker(log_format_json, celery_worker_process):
    return celery_worker_process


def json_lines(path):
    lines = []
    for raw in path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


@pytest.mark.worker
def test_a_requests_id_follows_its_email_into_the_workers_json_log_and_beat_runs_are_kept(
    json_logging_worker, client, settings
):
    worker = json_logging_worker
    settings.METRICS_TOKEN = TOKEN
    person = UserFactory(email="nia.new@example.gov.uk")

    response = client.post(
        reverse("people:password-reset"),
        {"email": person.email},
        HTTP_X_REQUEST_ID="test-request-0001",
    )
    assert response.status_code == 302
    assert worker.wait_for(
        lambda: OutboundEmail.objects.filter(to=person.email, status="sent").exists(), timeout=60
    ), worker.log_path.read_text()
    # The worker may write its lines about the task just after the row is marked sent.
    assert worker.wait_for(
        lambda: any(
            line.get("request_id") == "test-request-0001" for line in json_lines(worker.log_path)
        ),
        timeout=60,
    ), worker.log_path.read_text()
    lines = json_lines(worker.log_path)
    assert all("/password/reset/" not in json.dumps(line) for line in lines)

    # Beat runs every sweep every 2 seconds; the worker keeps each run for /metrics.
    assert worker.wait_for(
        lambda: TaskRun.objects.filter(task="approvals.remind_due", succeeded=True).exists(),
        timeout=60,
    ), worker.log_path.read_text()
    run = TaskRun.objects.get(task="approvals.remind_due")
    assert run.items == 0
    text = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert value(text, "sns_task_last_run_timestamp_seconds", task="approvals.remind_due") == (
        pytest.approx(run.finished_at.timestamp())
    )
    assert value(text, "sns_task_last_succeeded", task="approvals.remind_due") == 1
