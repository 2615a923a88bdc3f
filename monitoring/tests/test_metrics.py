import datetime
import ipaddress
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from access_requests.models import BusinessCase
from approvals.tests.factories import submitted_case
from monitoring.models import TaskRun
from notifications.models import OutboundEmail

TOKEN = "metrics-token-for-the-tests-0123456789"  # noqa: S105


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


def scrape(client, token=TOKEN, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(reverse("metrics"), **headers, **extra)


def value(text: str, name: str, **labels) -> float:
    """The value of one sample in the exposition, whatever the order of its labels."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, number = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if head.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(number)
    raise AssertionError(f"no sample {name} {labels} in:\n{text}")


@pytest.mark.django_db
def test_without_a_token_or_addresses_the_page_does_not_exist(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert scrape(client, token="anything").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("token", [None, "wrong-token", TOKEN + "x", TOKEN[:-1]])
def test_a_missing_or_wrong_token_is_refused(client, metrics_on, token):
    response = scrape(client, token=token)
    assert response.status_code == 403
    assert b"sns_outbox_pending" not in response.content


@pytest.mark.django_db
def test_the_right_token_gets_the_metrics_without_signing_in(client, metrics_on):
    response = scrape(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert value(response.content.decode(), "sns_outbox_pending") == 0


@pytest.mark.django_db
def test_an_allowed_address_needs_no_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.1.0.0/16")]
    assert scrape(client, token=None, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert scrape(client, token=None, REMOTE_ADDR="10.2.0.1").status_code == 403


@pytest.mark.django_db
def test_the_outbox_backlog_its_oldest_age_and_failed_mail(client, metrics_on):
    now = timezone.now()
    old = OutboundEmail.objects.create(to="a@example.gov.uk", template="approval_request")
    OutboundEmail.objects.filter(pk=old.pk).update(created_at=now - datetime.timedelta(minutes=20))
    OutboundEmail.objects.create(to="b@example.gov.uk", template="approval_request")
    OutboundEmail.objects.create(
        to="c@example.gov.uk", template="approval_request", status=OutboundEmail.Status.FAILED
    )
    OutboundEmail.objects.create(
        to="d@example.gov.uk",
        template="approval_request",
        status=OutboundEmail.Status.SENT,
        sent_at=now,
    )

    text = scrape(client).content.decode()
    assert value(text, "sns_outbox_pending") == 2
    assert 20 * 60 <= value(text, "sns_outbox_oldest_pending_age_seconds") < 21 * 60
    assert value(text, "sns_outbox_failed") == 1


@pytest.mark.django_db
def test_cases_awaiting_a_decision_are_counted_by_age(client, metrics_on):
    ages = {"0-1d": 0, "3-7d": 5, "30d+": 45}
    for days in ages.values():
        case = submitted_case()
        BusinessCase.objects.filter(pk=case.pk).update(
            submitted_at=timezone.now() - datetime.timedelta(days=days, hours=1)
        )

    text = scrape(client).content.decode()
    for label in ages:
        assert value(text, "sns_open_cases", age=label) == 1
    assert value(text, "sns_open_cases", age="1-3d") == 0


@pytest.mark.django_db
def test_each_beat_tasks_last_run_is_shown(client, metrics_on):
    finished = timezone.now()
    TaskRun.objects.create(
        task="access_requests.grant_expiry_sweep",
        started_at=finished - datetime.timedelta(seconds=12),
        finished_at=finished,
        duration_seconds=12.5,
        items=340,
        succeeded=True,
        runs=3,
    )
    text = scrape(client).content.decode()
    task = "access_requests.grant_expiry_sweep"
    assert value(text, "sns_task_last_run_timestamp_seconds", task=task) == pytest.approx(
        finished.timestamp()
    )
    assert value(text, "sns_task_last_duration_seconds", task=task) == 12.5
    assert value(text, "sns_task_last_items", task=task) == 340
    assert value(text, "sns_task_last_succeeded", task=task) == 1


@pytest.mark.django_db
def test_request_latency_is_counted_by_view(client, metrics_on):
    before = scrape(client).content.decode()

    def count(text):
        try:
            return value(
                text, "sns_http_request_duration_seconds_count", view="healthz", status="2xx"
            )
        except AssertionError:
            return 0

    for _ in range(3):
        assert client.get(reverse("healthz")).status_code == 200
    after = scrape(client).content.decode()
    assert count(after) == count(before) + 3


@pytest.mark.django_db
def test_the_metrics_page_takes_a_constant_number_of_queries(
    client, metrics_on, django_assert_max_num_queries
):
    for _ in range(5):
        submitted_case()
    with django_assert_max_num_queries(4):
        assert scrape(client).status_code == 200
